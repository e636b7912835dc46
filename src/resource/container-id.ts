// container.id from /proc/self/cgroup (cgroup v1) or /proc/self/mountinfo (v2), read synchronously
// at start: two small local files, where upstream's containerDetector (resource-detector-container
// 0.8.14) reads them asynchronously and leaves every signal waiting on a promise attribute. The
// parsing is upstream's, rule for rule; test/resource.test.mjs runs both on the same files.
import * as fs from 'node:fs';
import type { ResourceDetector } from '@opentelemetry/resources';

const CONTAINER_ID_LENGTH = 64;
const MARKING_PREFIX = ['containers', 'overlay-containers'];
const PREFIXES = ['crio-', 'docker-', 'cri-containerd-'];
const HEX = /^[a-f0-9]+$/i;

export const CGROUP_V1_PATH = '/proc/self/cgroup';
export const CGROUP_V2_PATH = '/proc/self/mountinfo';

/** Upstream's extractContainerIdFromLine: the last path section, without a runtime's prefix or suffix, if hexadecimal. */
function fromCgroupLine(line: string): string | undefined {
  const sections = line.split('/');
  if (sections.length <= 1) return undefined;
  let last = sections[sections.length - 1];
  const colon = last.lastIndexOf(':');
  if (colon !== -1) last = last.substring(colon + 1);
  // Upstream strips the first prefix that matches, in this order.
  const prefix = PREFIXES.find((p) => last.startsWith(p));
  if (prefix !== undefined) last = last.substring(prefix.length);
  if (last.includes('.')) last = last.split('.')[0];
  return HEX.test(last) ? last : undefined;
}

/** The id in a cgroup v1 file's text: the first line that yields one. */
export function containerIdFromCgroup(text: string): string | undefined {
  for (const line of text.trim().split('\n')) {
    const id = line ? fromCgroupLine(line) : undefined;
    if (id) return id;
  }
  return undefined;
}

/** The id in a mountinfo file's text: the path section after containers/ on the hostname mount. */
export function containerIdFromMountinfo(text: string): string | undefined {
  const line = text.trim().split('\n').find((s) => s.includes('hostname'));
  if (!line) return undefined;
  const parts = line.split('/');
  for (let i = 0; i < parts.length - 1; i++) {
    if (MARKING_PREFIX.includes(parts[i]) && parts[i + 1]?.length === CONTAINER_ID_LENGTH) return parts[i + 1];
  }
  return undefined;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * As upstream: the v1 file first, then mountinfo, which upstream reads only when the v1 file
 * could be read (a failed read ends its search); no id, no attribute.
 */
export function readContainerId(v1Path = CGROUP_V1_PATH, v2Path = CGROUP_V2_PATH): string | undefined {
  const v1 = readText(v1Path);
  if (v1 === undefined) return undefined;
  const id = containerIdFromCgroup(v1);
  if (id) return id;
  const v2 = readText(v2Path);
  return v2 === undefined ? undefined : containerIdFromMountinfo(v2);
}

export const containerDetector: ResourceDetector = {
  detect() {
    const id = readContainerId();
    return { attributes: id ? { 'container.id': id } : {} };
  },
};

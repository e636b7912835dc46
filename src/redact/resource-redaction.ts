// The resource goes through the redactor once, at start: it rides on every export and is printed
// in /metrics' target_info, and it carries what the process was started with
// (process.command_args: `--db-url=postgres://u:pw@h/db`, `--password x`) and whatever
// OTEL_RESOURCE_ATTRIBUTES says (`db.password=...`).
import { resourceFromAttributes, type DetectedResourceAttributes, type Resource } from '@opentelemetry/resources';
import { REDACTED, type Redactor } from './redactor';

const FLAG = /^-{1,2}([A-Za-z][\w.-]*)$/;
const COMMAND_ARGS = 'process.command_args';
const COMMAND_LINE = 'process.command_line';

/**
 * An argument list: each argument is scanned as text (so `--api-key=x` and URLs with userinfo
 * are caught there), and the argument after a flag with a sensitive name (`--password x`,
 * `-token x`) is masked whole.
 */
export function redactCommandArgs(args: readonly string[], redactor: Redactor): string[] {
  const out: string[] = [];
  let maskNext = false;
  for (const arg of args) {
    if (maskNext && !arg.startsWith('-')) {
      out.push(REDACTED);
      maskNext = false;
      continue;
    }
    const flag = FLAG.exec(arg);
    maskNext = flag !== null && redactor.isSensitiveKey(flag[1] ?? '');
    out.push(redactor.redactString(arg));
  }
  return out;
}

/** A command line as one string: split at spaces, redacted as arguments, joined again. */
export function redactCommandLine(line: string, redactor: Redactor): string {
  const parts = line.split(/( +)/);
  const words = parts.filter((_p, i) => i % 2 === 0);
  const clean = redactCommandArgs(words, redactor);
  return parts.map((p, i) => (i % 2 === 0 ? (clean[i / 2] ?? p) : p)).join('');
}

function redactEntry(key: string, value: unknown, redactor: Redactor): unknown {
  if (key === COMMAND_ARGS && Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    return redactCommandArgs(value, redactor);
  }
  if (key === COMMAND_LINE && typeof value === 'string') return redactCommandLine(value, redactor);
  return redactor.redactAttributes({ [key]: value })[key];
}

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * The same resource with its attributes redacted; the same object when nothing changed or
 * redaction is off. Attributes a detector still resolves asynchronously (cloud detectors) are
 * redacted when they settle. The first value of a key wins, as in the SDK's resource.
 */
export function redactResource(resource: Resource, redactor: Redactor): Resource {
  if (!redactor.enabled) return resource;
  let changed = false;
  const out: DetectedResourceAttributes = {};
  for (const [key, value] of resource.getRawAttributes()) {
    if (value === undefined || value === null || Object.prototype.hasOwnProperty.call(out, key)) {
      changed = true; // a duplicate or empty entry is dropped from the copy
      continue;
    }
    if (isPromiseLike(value)) {
      changed = true;
      out[key] = Promise.resolve(value).then((v) => (v === undefined ? v : (redactEntry(key, v, redactor) as typeof v)));
      continue;
    }
    const clean = redactEntry(key, value, redactor);
    if (clean !== value) changed = true;
    out[key] = clean as typeof value;
  }
  return changed ? resourceFromAttributes(out, resource.schemaUrl === undefined ? undefined : { schemaUrl: resource.schemaUrl }) : resource;
}

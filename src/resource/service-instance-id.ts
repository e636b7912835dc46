// service.instance.id: a random UUID v4 made once per process, as upstream's
// serviceInstanceIdDetector makes it with crypto.randomUUID(). On Linux the 16 random bytes are
// read from /dev/urandom (the kernel source OpenSSL's generator draws from too): node:crypto is
// not in Node's start-up snapshot, and loading it to draw one id costs milliseconds of every
// start (figures in ARCHITECTURE.md, section 4). Elsewhere, or if the read fails, randomUUID().
import * as fs from 'node:fs';
import type { ResourceDetector } from '@opentelemetry/resources';

let instanceId: string | undefined;

function urandom(length: number): Buffer | undefined {
  if (process.platform !== 'linux') return undefined;
  let fd: number | undefined;
  try {
    fd = fs.openSync('/dev/urandom', 'r');
    const bytes = Buffer.alloc(length);
    return fs.readSync(fd, bytes, 0, length, null) === length ? bytes : undefined;
  } catch {
    return undefined;
  } finally {
    try {
      if (fd !== undefined) fs.closeSync(fd);
    } catch {
      // the bytes were read or not; nothing to do about a failed close
    }
  }
}

/** An RFC 9562 version 4 UUID of 16 random bytes, in randomUUID()'s form (lower-case, dashed). */
export function uuidV4(bytes: Uint8Array): string {
  const b = Uint8Array.from(bytes.subarray(0, 16));
  b[6] = (b[6] & 0x0f) | 0x40; // version 4
  b[8] = (b[8] & 0x3f) | 0x80; // variant 10
  const hex = Buffer.from(b).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The same id for every call in this process. */
export function serviceInstanceId(): string {
  if (instanceId === undefined) {
    const bytes = urandom(16);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    instanceId = bytes ? uuidV4(bytes) : (require('node:crypto') as typeof import('node:crypto')).randomUUID();
  }
  return instanceId;
}

export const serviceInstanceIdDetector: ResourceDetector = {
  detect: () => ({ attributes: { 'service.instance.id': serviceInstanceId() } }),
};

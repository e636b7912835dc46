// A minimal protobuf wire-format reader: enough to walk OTLP messages field by field without a
// schema compiler or a dependency. Every malformed input becomes a DecodeError with a reason.

export class DecodeError extends Error {}

/** One field of a message: its number, wire type and raw content. */
export type Field =
  | { no: number; wt: 0; v: bigint }
  | { no: number; wt: 1; b: Buffer }
  | { no: number; wt: 2; b: Buffer }
  | { no: number; wt: 5; b: Buffer };

const TWO_63 = 1n << 63n;
const TWO_64 = 1n << 64n;

function readVarint(buf: Buffer, pos: number, what: string): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new DecodeError(`${what}: truncated varint`);
    const byte = buf[pos++];
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
  throw new DecodeError(`${what}: varint longer than 10 bytes`);
}

/** Calls `on` for every field of the message in `buf`, in wire order. */
export function eachField(buf: Buffer, what: string, on: (f: Field) => void): void {
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p1] = readVarint(buf, pos, what);
    pos = p1;
    const no = Number(tag >> 3n);
    const wt = Number(tag & 7n);
    if (no === 0) throw new DecodeError(`${what}: field number 0 is invalid`);
    switch (wt) {
      case 0: {
        const [v, p2] = readVarint(buf, pos, what);
        pos = p2;
        on({ no, wt, v });
        break;
      }
      case 1: case 5: {
        const n = wt === 1 ? 8 : 4;
        if (pos + n > buf.length) throw new DecodeError(`${what}: truncated fixed${n * 8} field ${no}`);
        on({ no, wt, b: buf.subarray(pos, pos + n) });
        pos += n;
        break;
      }
      case 2: {
        const [len, p2] = readVarint(buf, pos, what);
        pos = p2;
        if (len > BigInt(buf.length - pos)) throw new DecodeError(`${what}: field ${no} claims ${len} bytes but only ${buf.length - pos} remain`);
        const end = pos + Number(len);
        on({ no, wt, b: buf.subarray(pos, end) });
        pos = end;
        break;
      }
      default:
        throw new DecodeError(`${what}: unsupported wire type ${wt} (field ${no})`);
    }
  }
}

function expect(f: Field, wt: number, what: string): void {
  if (f.wt !== wt) throw new DecodeError(`${what}: field ${f.no} has wire type ${f.wt}, expected ${wt}`);
}

export function bytesOf(f: Field, what: string): Buffer {
  expect(f, 2, what);
  return (f as { b: Buffer }).b;
}

export function stringOf(f: Field, what: string): string {
  return bytesOf(f, what).toString('utf8');
}

/** Unsigned varint (enums, counts, bools). */
export function uintOf(f: Field, what: string): number {
  expect(f, 0, what);
  return Number((f as { v: bigint }).v);
}

/** int64 as a varint (two's complement for negatives), as a Number. */
export function int64Of(f: Field, what: string): number {
  expect(f, 0, what);
  const v = (f as { v: bigint }).v;
  return Number(v >= TWO_63 ? v - TWO_64 : v);
}

export function fixed64Of(f: Field, what: string): bigint {
  expect(f, 1, what);
  return (f as { b: Buffer }).b.readBigUInt64LE(0);
}

export function sfixed64Of(f: Field, what: string): number {
  expect(f, 1, what);
  return Number((f as { b: Buffer }).b.readBigInt64LE(0));
}

export function doubleOf(f: Field, what: string): number {
  expect(f, 1, what);
  return (f as { b: Buffer }).b.readDoubleLE(0);
}

export function fixed32Of(f: Field, what: string): number {
  expect(f, 5, what);
  return (f as { b: Buffer }).b.readUInt32LE(0);
}

/** A repeated fixed64/double field: packed (one length-delimited run) or one field per value. */
export function repeated64(f: Field, what: string, read: (b: Buffer, off: number) => number): number[] {
  if (f.wt === 1) return [read(f.b, 0)];
  const b = bytesOf(f, what);
  if (b.length % 8 !== 0) throw new DecodeError(`${what}: packed field ${f.no} is not a multiple of 8 bytes`);
  const out: number[] = [];
  for (let i = 0; i < b.length; i += 8) out.push(read(b, i));
  return out;
}

/** Encodes google.rpc.Status {code, message} for a protobuf error answer. */
export function encodeStatus(code: number, message: string): Buffer {
  const msg = Buffer.from(message, 'utf8');
  const varint = (n: number): number[] => {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return out;
  };
  return Buffer.concat([Buffer.from([0x08, ...varint(code), 0x12, ...varint(msg.length)]), msg]);
}

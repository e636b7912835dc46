// The Errors view's index: one entry per error group (per service), fed from the exception
// records among the ingested log records (src/errors: `otelkit.error.group`, `otelkit.error.source`,
// `exception.*`). A group keeps counts and times and a reference to its latest record, the very
// object the logs ring holds (no second copy of bodies or stacks). That record may outlive its
// eviction from the logs ring (the group still shows its latest stack), so its estimated bytes
// are charged to the index in full, always: while the ring holds it too this counts it twice,
// which leans high as every estimate here does.
//
// Bounded like the rest of the store: at most maxGroups groups and maxBytes estimated bytes; past
// either, the group updated longest ago goes first.
import type { AttrValue, LogRecord } from './otlp-decode';
import { logBytes, stringBytes } from './record-size';

export const GROUP_ATTRIBUTE = 'otelkit.error.group';
/** Only exception records carry it: an error's later log lines carry the group alone. */
export const SOURCE_ATTRIBUTE = 'otelkit.error.source';
export const SUPPRESSED_ATTRIBUTE = 'otelkit.error.suppressed';
/** otelkit's groups are 16 hex digits; other senders' ids are taken if they look like ids. */
export const GROUP_ID = /^[0-9A-Za-z_.-]{1,64}$/;
/** The default of maxGroups: as many as otelkit's flood control tracks in one process. */
export const DEFAULT_MAX_ERROR_GROUPS = 1000;
/** A group's fixed part: its fields and its Map entry. */
const GROUP_OVERHEAD = 200;

export interface ErrorGroup {
  /** service NUL group: the Map key. */
  key: string;
  group: string;
  service: string;
  /** Exception records received. */
  records: number;
  /** Occurrences the application's flood control counted but did not send (otelkit.error.suppressed). */
  suppressed: number;
  firstSeenMs: number;
  lastSeenMs: number;
  /** The record with the latest time: shared with the logs ring. */
  latest: LogRecord;
  bytes: number;
}

const text = (v: AttrValue | undefined): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

/** The group of an exception record, or undefined for any other log record. */
export function groupIdOf(l: LogRecord): string | undefined {
  const g = l.attributes[GROUP_ATTRIBUTE];
  if (typeof g !== 'string' || !GROUP_ID.test(g) || l.attributes[SOURCE_ATTRIBUTE] === undefined) return undefined;
  if (l.attributes['exception.type'] === undefined && l.attributes['exception.message'] === undefined) return undefined;
  return g;
}

export function exceptionOf(l: LogRecord): { type: string; message: string; stacktrace: string } {
  return { type: text(l.attributes['exception.type']), message: text(l.attributes['exception.message']), stacktrace: text(l.attributes['exception.stacktrace']) };
}

export class ErrorIndex {
  /** Least recently updated first: an update moves its group to the end. */
  readonly groups = new Map<string, ErrorGroup>();
  private used = 0;
  dropped = 0;

  constructor(readonly maxGroups: number, readonly maxBytes: number) {}

  get bytes(): number {
    return this.used;
  }

  /** Indexes a log record just added to the store; other records are ignored. */
  add(l: LogRecord): void {
    const group = groupIdOf(l);
    if (group === undefined) return;
    const key = `${l.service}\u0000${group}`;
    const sup = l.attributes[SUPPRESSED_ATTRIBUTE];
    const suppressed = typeof sup === 'number' && Number.isFinite(sup) && sup > 0 ? Math.min(Math.floor(sup), 1e9) : 0;
    let g = this.groups.get(key);
    if (g === undefined) {
      const bytes = GROUP_OVERHEAD + stringBytes(key) + logBytes(l);
      g = { key, group, service: l.service, records: 0, suppressed: 0, firstSeenMs: l.timeMs, lastSeenMs: l.timeMs, latest: l, bytes };
      this.used += bytes;
    } else {
      this.groups.delete(key);
      if (l.timeMs >= g.lastSeenMs) {
        const bytes = GROUP_OVERHEAD + stringBytes(key) + logBytes(l);
        this.used += bytes - g.bytes;
        g.bytes = bytes;
        g.latest = l;
        g.lastSeenMs = l.timeMs;
      }
      if (l.timeMs < g.firstSeenMs) g.firstSeenMs = l.timeMs;
    }
    g.records++;
    g.suppressed += suppressed;
    this.groups.set(key, g);
    for (const [k, oldest] of this.groups) {
      if (this.groups.size <= this.maxGroups && this.used <= this.maxBytes) break;
      this.groups.delete(k);
      this.used -= oldest.bytes;
      this.dropped++;
    }
  }
}

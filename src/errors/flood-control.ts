// Flood control for exception records: at most N records per error group per minute. A group
// over its budget is only counted; its next admitted record says how many were left out. The
// table is bounded: groups whose minute is over are evicted first, and past the bound every new
// group shares one bucket, so memory never grows with the number of distinct errors.

interface Window {
  start: number;
  sent: number;
  suppressed: number;
}

const WINDOW_MS = 60_000;
export const OVERFLOW_BUCKET = '_other';

export class FloodControl {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly perMinute: number,
    private readonly maxGroups = 1000,
  ) {}

  /**
   * Whether a record of this group may be sent now. Admitted: the number of records of the group
   * left out since its previous record (0 if none); refused: -1 (the record is counted as left out).
   */
  admit(group: string, now: number): number {
    const w = this.window(group, now);
    if (now - w.start >= WINDOW_MS) {
      w.start = now;
      w.sent = 0;
    }
    if (w.sent >= this.perMinute) {
      w.suppressed++;
      return -1;
    }
    w.sent++;
    const left = w.suppressed;
    w.suppressed = 0;
    return left;
  }

  get size(): number {
    return this.windows.size;
  }

  private window(group: string, now: number): Window {
    let w = this.windows.get(group);
    if (w !== undefined) return w;
    if (this.windows.size >= this.maxGroups) {
      for (const [g, old] of this.windows) {
        // A window that is over and left nothing to report can go.
        if (now - old.start >= WINDOW_MS && old.suppressed === 0 && g !== OVERFLOW_BUCKET) this.windows.delete(g);
      }
      if (this.windows.size >= this.maxGroups) group = OVERFLOW_BUCKET;
      w = this.windows.get(group);
      if (w !== undefined) return w;
    }
    w = { start: now, sent: 0, suppressed: 0 };
    this.windows.set(group, w);
    return w;
  }
}

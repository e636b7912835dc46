// Tracks each signal's export outcome: one warning per signal per minute while an endpoint
// fails, one line when it recovers, and counters of failed exports and dropped items that
// /metrics serves (the service's operators need to see telemetry loss, not guess it).
import { emit } from '../diag';
import type { Signal } from '../config/types';

const WARN_INTERVAL_MS = 60_000;

interface SignalState {
  failing: boolean;
  lastWarnAt: number;
  failedExports: number;
  exportedItems: number;
  droppedItems: number;
}

const states: Record<Signal, SignalState> = {
  traces: { failing: false, lastWarnAt: 0, failedExports: 0, exportedItems: 0, droppedItems: 0 },
  metrics: { failing: false, lastWarnAt: 0, failedExports: 0, exportedItems: 0, droppedItems: 0 },
  logs: { failing: false, lastWarnAt: 0, failedExports: 0, exportedItems: 0, droppedItems: 0 },
};

const now = (): number => Date.now();

export function exportSucceeded(signal: Signal, items: number, endpoint: string): void {
  const s = states[signal];
  s.exportedItems += items;
  if (s.failing) {
    s.failing = false;
    s.lastWarnAt = 0;
    emit('warn', `${signal} export to ${endpoint} recovered`, { signal, endpoint });
  }
}

// The processors hand the same error to the SDK's global error handler after we counted and
// reported it; remembering it lets that handler stay quiet.
const seenErrors = new WeakSet<object>();
let lastFailureAt = 0;

/** Whether err is an export failure this module has already counted and reported. */
export function isReportedExportError(err: unknown): boolean {
  if (typeof err === 'object' && err !== null && seenErrors.has(err)) return true;
  // The metrics reader wraps the exporter's error in its own; recognise it by its wording.
  const message = err instanceof Error ? err.message : String(err);
  return /export (failed|timed out)/i.test(message) && now() - lastFailureAt < 120_000;
}

export function exportFailed(signal: Signal, items: number, endpoint: string, error: unknown): void {
  if (typeof error === 'object' && error !== null) seenErrors.add(error);
  lastFailureAt = now();
  const s = states[signal];
  s.failedExports += 1;
  s.droppedItems += items;
  const t = now();
  if (!s.failing || t - s.lastWarnAt >= WARN_INTERVAL_MS) {
    s.failing = true;
    s.lastWarnAt = t;
    const message = error instanceof Error ? error.message : String(error ?? 'unknown error');
    emit('warn', `${signal} export to ${endpoint} failed: ${message}; ${items} item(s) dropped; repeated failures are reported once a minute`, {
      signal,
      endpoint,
      dropped_total: s.droppedItems,
    });
  }
}

/** Items the batch processor refused because its queue was full. */
export function itemsDropped(signal: Signal, items: number): void {
  states[signal].droppedItems += items;
}

export function exportStats(signal: Signal): Readonly<SignalState> {
  return states[signal];
}

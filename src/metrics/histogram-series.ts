// One cumulative explicit-bucket histogram series, as the SDK's histogram aggregation keeps it,
// for the metrics otelkit aggregates itself (http-server-duration.ts, instrumentation-meters.ts).
import type { Attributes, HrTime } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import type { Histogram as HistogramValue } from '@opentelemetry/sdk-metrics';

// The SDK's default cardinality limit per metric stream: 1999 attribute sets, then one overflow
// series for the rest. (The SDK applies it per collection interval; here it bounds the total.)
export const CARDINALITY_LIMIT = 2000;
export const OVERFLOW_ATTRIBUTES: Attributes = { 'otel.metric.overflow': true };

export interface HistogramSeries {
  readonly attributes: Attributes;
  readonly startTime: HrTime;
  readonly counts: number[];
  count: number;
  sum: number;
  min: number;
  max: number;
}

export function newHistogramSeries(attributes: Attributes, boundaries: readonly number[]): HistogramSeries {
  return { attributes, startTime: hrTime(), counts: new Array<number>(boundaries.length + 1).fill(0), count: 0, sum: 0, min: Infinity, max: -Infinity };
}

/** Counts v in its bucket: a value equal to a boundary belongs to that boundary's bucket, as in the SDK. */
export function recordInSeries(s: HistogramSeries, boundaries: readonly number[], v: number): void {
  let i = 0;
  while (i < boundaries.length && v > boundaries[i]) i++;
  s.counts[i]++;
  s.count++;
  s.sum += v;
  if (v < s.min) s.min = v;
  if (v > s.max) s.max = v;
}

/** The data point value the SDK reports for a histogram instrument's series. */
export function histogramValue(s: HistogramSeries, boundaries: readonly number[]): HistogramValue {
  return { min: s.min, max: s.max, sum: s.sum, buckets: { boundaries: [...boundaries], counts: [...s.counts] }, count: s.count };
}

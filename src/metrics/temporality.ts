// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE as the OTLP metric exporter specification
// defines it per instrument kind, with upstream's choice for gauges (which carry no temporality on
// the wire): the same selectors as @opentelemetry/exporter-metrics-otlp-http's, which
// test/temporality.test.mjs compares kind by kind. The Prometheus reader never uses them.
import { AggregationTemporality, InstrumentType, type AggregationTemporalitySelector } from '@opentelemetry/sdk-metrics';
import type { TemporalityPreference } from '../config/types';

const cumulative: AggregationTemporalitySelector = () => AggregationTemporality.CUMULATIVE;

const delta: AggregationTemporalitySelector = (kind) => {
  switch (kind) {
    case InstrumentType.UP_DOWN_COUNTER:
    case InstrumentType.OBSERVABLE_UP_DOWN_COUNTER:
      return AggregationTemporality.CUMULATIVE;
    default:
      return AggregationTemporality.DELTA;
  }
};

const lowMemory: AggregationTemporalitySelector = (kind) => {
  switch (kind) {
    case InstrumentType.COUNTER:
    case InstrumentType.HISTOGRAM:
      return AggregationTemporality.DELTA;
    default:
      return AggregationTemporality.CUMULATIVE;
  }
};

export function temporalitySelector(preference: TemporalityPreference): AggregationTemporalitySelector {
  return preference === 'delta' ? delta : preference === 'lowmemory' ? lowMemory : cumulative;
}

/**
 * Whether a reader with this preference wants counters and histograms as deltas. otelkit's own
 * aggregations (http-server-duration.ts, instrumentation-meters.ts) are cumulative only; under a
 * delta preference their instruments are the SDK's, which keeps one state per reader.
 */
export function wantsDeltas(preference: TemporalityPreference): boolean {
  return preference !== 'cumulative';
}

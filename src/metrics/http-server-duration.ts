// The http.server.request.duration histogram, aggregated here and handed to the metric readers
// as a MetricProducer. Recording through the SDK's Histogram costs every request an attribute
// hash (sorted keys, JSON.stringify) and a storage lookup per reader, about 3 µs on the request
// path; here a request costs one Map lookup by route, a few comparisons and a bucket scan. What
// the readers receive is what the SDK would have produced: same name, unit, buckets, attributes,
// cumulative points with min/max/sum, and the same cardinality limit with its overflow series.
// A reader that wants deltas (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE) gets the SDK's
// histogram instead (recordThrough), which keeps a state per reader.
import { hrTime } from '@opentelemetry/core';
import { ValueType, type Attributes, type Histogram, type Meter } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type CollectionResult, type MetricData, type MetricProducer } from '@opentelemetry/sdk-metrics';
import type { Resource } from '@opentelemetry/resources';
import { CARDINALITY_LIMIT, histogramValue, newHistogramSeries, OVERFLOW_ATTRIBUTES, recordInSeries, type HistogramSeries } from './histogram-series';
import { VERSION } from '../version';

// Stable semantic-convention advice for http.server.request.duration.
export const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const OVERFLOW_KEY = '\u0000overflow';
const DURATION_NAME = 'http.server.request.duration';
const DURATION_DESCRIPTION = 'Duration of HTTP server requests.';
/** The scope of the duration metric, which upstream reports under @opentelemetry/instrumentation-http. */
export const HTTP_SCOPE = 'otelkit.http';

function attributesOf(method: string, scheme: string, protocolVersion: string, status: number, route: string | undefined, errorType: string | undefined): Attributes {
  const a: Attributes = {
    'http.request.method': method,
    'url.scheme': scheme,
    'network.protocol.version': protocolVersion,
    'http.response.status_code': status,
  };
  if (route) a['http.route'] = route;
  if (errorType) a['error.type'] = errorType;
  return a;
}

/** The series a route's requests went to last, with the attributes that chose it. */
interface LastSeries {
  readonly series: HistogramSeries;
  readonly method: string;
  readonly scheme: string;
  readonly protocolVersion: string;
  readonly status: number;
  readonly errorType: string | undefined;
}

export class HttpServerDuration implements MetricProducer {
  private readonly series = new Map<string, HistogramSeries>();
  /**
   * Checked before the key is built: most requests of a route repeat the method, status, scheme
   * and version of the one before. Building and hashing the key string cost about 0.2 us a
   * request; this lookup and five comparisons about 0.02. A route's string is the same object
   * request after request (express-layers), so its hash is computed once.
   */
  private readonly last = new Map<string | undefined, LastSeries>();
  /** Off when no reader exists: nothing would ever collect what is recorded. */
  enabled = true;
  private sdk: Histogram | undefined;

  /** From now on, records go to the SDK's histogram on this meter, and collect() reports nothing. */
  recordThrough(meter: Meter): void {
    this.sdk = meter.createHistogram(DURATION_NAME, { description: DURATION_DESCRIPTION, unit: 's', advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] } });
  }

  record(seconds: number, method: string, scheme: string, protocolVersion: string, status: number, route: string | undefined, errorType: string | undefined): void {
    // NaN falls in no bucket; the SDK's histogram drops it too.
    if (!this.enabled || Number.isNaN(seconds)) return;
    if (this.sdk !== undefined) {
      this.sdk.record(seconds, attributesOf(method, scheme, protocolVersion, status, route, errorType));
      return;
    }
    const last = this.last.get(route);
    if (last !== undefined && last.status === status && last.method === method && last.protocolVersion === protocolVersion && last.scheme === scheme && last.errorType === errorType) {
      recordInSeries(last.series, DURATION_BUCKETS, seconds);
      return;
    }
    const s = this.seriesFor(method, scheme, protocolVersion, status, route, errorType);
    // Bounded like the series: routes are the application's templates, but one could be built
    // from a regular expression's matches.
    if (this.last.size >= CARDINALITY_LIMIT) this.last.clear();
    this.last.set(route, { series: s, method, scheme, protocolVersion, status, errorType });
    recordInSeries(s, DURATION_BUCKETS, seconds);
  }

  private seriesFor(method: string, scheme: string, protocolVersion: string, status: number, route: string | undefined, errorType: string | undefined): HistogramSeries {
    // A space cannot occur in a method, status, scheme or version, nor U+0001 in an error name:
    // two attribute sets never share a key.
    const key = `${method} ${status} ${scheme} ${protocolVersion} ${errorType ?? ''}\u0001${route ?? ''}`;
    let s = this.series.get(key);
    if (s === undefined) {
      if (this.series.size >= CARDINALITY_LIMIT - 1) {
        s = this.series.get(OVERFLOW_KEY);
        if (s === undefined) this.series.set(OVERFLOW_KEY, (s = newHistogramSeries(OVERFLOW_ATTRIBUTES, DURATION_BUCKETS)));
      } else {
        this.series.set(key, (s = newHistogramSeries(attributesOf(method, scheme, protocolVersion, status, route, errorType), DURATION_BUCKETS)));
      }
    }
    return s;
  }

  /** The metric as the SDK's histogram aggregation would report it (cumulative). */
  metricData(): MetricData | undefined {
    if (this.series.size === 0) return undefined;
    const endTime = hrTime();
    return {
      descriptor: {
        name: DURATION_NAME,
        description: DURATION_DESCRIPTION,
        unit: 's',
        valueType: ValueType.DOUBLE,
      },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: [...this.series.values()].map((s) => ({ attributes: s.attributes, startTime: s.startTime, endTime, value: histogramValue(s, DURATION_BUCKETS) })),
    };
  }

  async collect(): Promise<CollectionResult> {
    const metric = this.metricData();
    return {
      // The reader keeps the SDK's resource and takes only the scope metrics from here.
      resourceMetrics: {
        resource: undefined as unknown as Resource,
        scopeMetrics: metric ? [{ scope: { name: HTTP_SCOPE, version: VERSION }, metrics: [metric] }] : [],
      },
      errors: [],
    };
  }
}

// Head sampling and context propagation, from the validated config.
import { type TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler, type Sampler } from '@opentelemetry/sdk-trace';
import type { Config } from './config';
import { reportOnce } from './diag';

export function buildSampler({ name, ratio }: Config['traces']['sampler']): Sampler {
  switch (name) {
    case 'always_on': return new AlwaysOnSampler();
    case 'always_off': return new AlwaysOffSampler();
    case 'traceidratio': return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on': return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off': return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio': return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

function load(pkg: string, cls: string, arg?: unknown): TextMapPropagator | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const C = (require(pkg) as Record<string, new (a?: unknown) => TextMapPropagator>)[cls];
    return new C(arg);
  } catch (err) {
    reportOnce(`propagator:${pkg}`, `propagator from ${pkg} could not be loaded`, err);
    return undefined;
  }
}

export function buildPropagator(names: string[]): TextMapPropagator {
  const propagators: TextMapPropagator[] = [];
  for (const name of names) {
    let p: TextMapPropagator | undefined;
    if (name === 'tracecontext') p = new W3CTraceContextPropagator();
    else if (name === 'baggage') p = new W3CBaggagePropagator();
    else if (name === 'b3') p = load('@opentelemetry/propagator-b3', 'B3Propagator');
    else if (name === 'b3multi') p = load('@opentelemetry/propagator-b3', 'B3Propagator', { injectEncoding: 1 /* MULTI_HEADER */ });
    else if (name === 'jaeger') p = load('@opentelemetry/propagator-jaeger', 'JaegerPropagator');
    if (p) propagators.push(p);
  }
  return new CompositePropagator({ propagators });
}

// Context propagation, from the validated config: the configured propagators (b3 and jaeger
// loaded from their packages only when named).
import type { TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { reportOnce } from '../diag';

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

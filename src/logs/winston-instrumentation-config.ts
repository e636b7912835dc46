// How otelkit configures @opentelemetry/instrumentation-winston, which serves the loggers the
// application creates itself (otelkit's own loggers are immune to it: see logger.ts).
import type { WinstonInstrumentationConfig } from '@opentelemetry/instrumentation-winston';
import type { LoggingConfig } from '../config/types';

/**
 * Configuration for @opentelemetry/instrumentation-winston, which bridges and correlates the
 * loggers the application creates itself. Ours are immune to its patches (see the top of
 * logger.ts), so every record reaches OTLP exactly once either way.
 */
export function winstonInstrumentationConfig(cfg: LoggingConfig): WinstonInstrumentationConfig {
  return {
    disableLogSending: !cfg.bridge,
    disableLogCorrelation: false,
  };
}

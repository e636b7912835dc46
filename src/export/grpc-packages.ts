// The OTLP/gRPC exporters are optional peer dependencies: they bring @grpc/grpc-js and protobuf
// loaders into every install, for a protocol most services do not use. Who sets the gRPC
// protocol installs them; until then that signal is not exported and this says how to fix it.
import type { Signal } from '../config/types';
import { OPTIONAL_PEERS } from '../version';

export const GRPC_PACKAGES: Record<Signal, string> = {
  traces: '@opentelemetry/exporter-trace-otlp-grpc',
  metrics: '@opentelemetry/exporter-metrics-otlp-grpc',
  logs: '@opentelemetry/exporter-logs-otlp-grpc',
};

/** Whether `name` can be required from otelkit's own location (where the exporters load it). */
export function isInstalled(name: string, resolve: (name: string) => string = require.resolve): boolean {
  try {
    resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** What to tell a user whose configuration needs a gRPC exporter package that is not installed. */
export function grpcPackageMissing(signal: Signal): string {
  const pkg = GRPC_PACKAGES[signal];
  const version = OPTIONAL_PEERS[pkg];
  return `${signal}: OTLP over gRPC needs the optional package ${pkg}, which is not installed: run npm install ${pkg}${version ? `@${version}` : ''}, or set the protocol to http/protobuf; ${signal} are not exported until then`;
}

// Bundles the compiled package (dist/index.js and what it imports) into dist/otelkit.js.
// Packages that must stay shared with the application's own copies are external: the
// instrumentation machinery (one require/import hook for everybody), winston (the one the
// application patches), and everything loaded lazily by name. The OTLP/HTTP exporters, loaded
// on the first export, get bundles of their own (dist/otlp-proto.bundle.js, otlp-json.bundle.js).
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // The OTel packages' ES module builds let esbuild drop what is not used.
  mainFields: ['module', 'main'],
  logLevel: 'warning',
};

for (const name of ['otlp-proto', 'otlp-json']) {
  await build({ ...common, entryPoints: [`src/${name}.ts`], outfile: `dist/${name}.bundle.js` });
}

await build({
  ...common,
  entryPoints: ['src/index.ts'],
  outfile: 'dist/otelkit.js',
  external: [
    '@opentelemetry/instrumentation',
    '@opentelemetry/instrumentation-*',
    'import-in-the-middle',
    'require-in-the-middle',
    '@opentelemetry/exporter-*',
    '@opentelemetry/winston-transport',
    '@opentelemetry/resource-detector-*',
    '@opentelemetry/propagator-*',
    '@grpc/grpc-js',
    'winston',
    'winston-transport',
  ],
});

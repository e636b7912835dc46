// Bundles the compiled package (src/api.ts and what it imports) into dist/otelkit.js.
// Packages that must stay shared with the application's own copies are external: the
// instrumentation machinery (one require/import hook for everybody), winston (the one the
// application patches), and everything loaded lazily by name. The OTLP/HTTP exporters, loaded
// on the first export, get bundles of their own (dist/otlp-proto.bundle.js, otlp-json.bundle.js).
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // The OTel packages' ES module builds let esbuild drop what is not used.
  mainFields: ['module', 'main'],
  logLevel: 'warning',
  // V8 keeps every script's source on the heap: whitespace and comments are live memory. Names
  // are kept, for readable stacks.
  minifyWhitespace: true,
  minifySyntax: true,
};

// Packages the main bundle carries and shares with the installed copies' requirers
// (src/loading/bundled-packages.ts), each under the version it was built from.
const SHARED = ['@opentelemetry/api', '@opentelemetry/core', '@opentelemetry/api-logs'];
const versionOf = (name) => JSON.parse(readFileSync(require.resolve(name).replace(/(node_modules\/[^/]+\/[^/]+\/).*$/, '$1package.json'), 'utf8')).version;
const bundledVersions = Object.fromEntries(SHARED.map((name) => [name, versionOf(name)]));

// The semantic conventions' stable entry is about 400 KB of source, nearly all of it constants no
// instrumentation reads (0.45 MB of live heap). The installed OpenTelemetry packages, compiled by
// tsc, read it as `semantic_conventions_1.NAME`: the bundle carries the constants they read, and
// src/loading/bundled-packages.ts falls back to the installed entry for any other name.
const SEMCONV = '@opentelemetry/semantic-conventions';
function semconvSubset() {
  const installed = require(SEMCONV);
  const names = new Set();
  const root = 'node_modules/@opentelemetry';
  for (const file of readdirSync(root, { recursive: true })) {
    if (!file.endsWith('.js') || !/(^|\/)build\/src\//.test(file)) continue;
    for (const m of readFileSync(`${root}/${file}`, 'utf8').matchAll(/\bsemantic_conventions_1\.([A-Za-z_$][\w$]*)/g)) names.add(m[1]);
  }
  const constants = {};
  for (const name of [...names].sort()) {
    const value = installed[name];
    if (typeof value === 'string' || typeof value === 'number') constants[name] = value;
  }
  return { version: versionOf(SEMCONV), esModule: installed.__esModule === true, constants };
}

// The exporters' bundles take the shared packages from the main bundle, through require.
for (const name of ['otlp-proto', 'otlp-json']) {
  await build({ ...common, entryPoints: [`src/export/${name}-exporters.ts`], outfile: `dist/${name}.bundle.js`, external: SHARED });
}

await build({
  ...common,
  entryPoints: ['src/api.ts'],
  outfile: 'dist/otelkit.js',
  define: { __OTELKIT_BUNDLED_VERSIONS__: JSON.stringify(bundledVersions), __OTELKIT_SEMCONV__: JSON.stringify(semconvSubset()) },
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

// V8 keeps a script's source on the heap for as long as the script lives, as one-byte characters
// when every character is Latin-1 and as two-byte ones otherwise: a single non-ASCII character
// left in a comment doubles the main bundle's resident source (~0.5 MB more live heap, which a
// busy service's old generation multiplies several times over).
for (const file of ['dist/otelkit.js', 'dist/otlp-proto.bundle.js', 'dist/otlp-json.bundle.js']) {
  const text = readFileSync(file, 'utf8');
  const at = [...text].findIndex((c) => c.charCodeAt(0) > 0x7f);
  if (at !== -1) {
    const line = text.slice(0, at).split('\n').length;
    throw new Error(`${file}:${line}: non-ASCII character ${JSON.stringify(text[at])}; keep the bundle ASCII (see scripts/bundle.mjs)`);
  }
}

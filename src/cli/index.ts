#!/usr/bin/env node
// The `otelkit` command: `otelkit doctor` and `otelkit dev`.
import { parseArgs } from 'node:util';
import { formatReport, runDoctor } from './doctor';
import { startDevServer, DEV_DEFAULTS } from './dev/server';
import { VERSION } from '../version';

const HELP = `otelkit ${VERSION}: OpenTelemetry for Node.js services in one line

Usage:
  node --import otelkit/register app.js    instrument an application (the preload)
  otelkit doctor [--json] [--timeout <ms>]
      Prints the configuration the preload would use here (every setting, its value and
      whether it came from the environment or a default; secrets redacted), the invalid or
      contradictory settings, and whether each endpoint is reachable (OTLP per signal) or
      free (the Prometheus/admin port). Exit code 0 when healthy, 1 with one line per problem.
  otelkit dev [--host <addr>] [--port <n>] [--ui-port <n>]
              [--max-spans <n>] [--max-logs <n>] [--max-points <n>] [--max-mb <n>]
      A local telemetry viewer: receives OTLP/HTTP (protobuf and JSON) on --port
      (default ${DEV_DEFAULTS.port}) and serves its page on --ui-port (default ${DEV_DEFAULTS.uiPort}),
      both bound to ${DEV_DEFAULTS.host} unless --host says otherwise. Keeps at most
      --max-spans (${DEV_DEFAULTS.maxSpans}), --max-logs (${DEV_DEFAULTS.maxLogs}) and
      --max-points (${DEV_DEFAULTS.maxPoints}) in memory, and about --max-mb MiB of data
      (${DEV_DEFAULTS.maxBytes / 1048576}: half for spans, a fifth for logs, 5% for error groups, a
      quarter for metric points),
      dropping the oldest first. Answers only to localhost, an IP address or the --host name.
  otelkit --help | --version
`;

function fail(message: string): never {
  process.stderr.write(`otelkit: ${message}\n\n${HELP}`);
  process.exit(2);
}

function intOption(values: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} expects a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

async function doctor(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' }, timeout: { type: 'string' } }, strict: true });
  const report = await runDoctor({ timeoutMs: intOption(values, 'timeout', 3000, 1, 60000) });
  process.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  return report.problems.length === 0 ? 0 : 1;
}

async function dev(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'ui-port': { type: 'string' },
      'max-spans': { type: 'string' },
      'max-logs': { type: 'string' },
      'max-points': { type: 'string' },
      'max-mb': { type: 'string' },
    },
    strict: true,
  });
  const server = await startDevServer({
    host: values.host ?? DEV_DEFAULTS.host,
    port: intOption(values, 'port', DEV_DEFAULTS.port, 0, 65535),
    uiPort: intOption(values, 'ui-port', DEV_DEFAULTS.uiPort, 0, 65535),
    maxSpans: intOption(values, 'max-spans', DEV_DEFAULTS.maxSpans, 1, 10_000_000),
    maxLogs: intOption(values, 'max-logs', DEV_DEFAULTS.maxLogs, 1, 10_000_000),
    maxPoints: intOption(values, 'max-points', DEV_DEFAULTS.maxPoints, 1, 10_000_000),
    maxBytes: intOption(values, 'max-mb', DEV_DEFAULTS.maxBytes / 1048576, 1, 1_048_576) * 1048576,
  });
  process.stdout.write(
    `otelkit dev: receiving OTLP/HTTP on ${server.otlpUrl} (protobuf and JSON; /v1/traces, /v1/metrics, /v1/logs)\n` +
    `otelkit dev: open ${server.uiUrl}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'doctor': return doctor(rest);
    case 'dev': return dev(rest);
    case '--version': case '-v': case 'version':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case undefined: case '--help': case '-h': case 'help':
      process.stdout.write(HELP);
      return 0;
    default:
      fail(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    if (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) fail(err.message);
    process.stderr.write(`otelkit: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);

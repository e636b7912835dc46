// Spawns a fixture application under the preload and gives tests its output and port.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import * as net from 'node:net';
import * as fs from 'node:fs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(ROOT, 'test/fixtures');

// Fixtures `require('otelkit')` as an installed application would: link the package into
// their node_modules (git ignores it; made on first use).
const link = path.join(FIXTURES, 'node_modules', 'otelkit');
if (!fs.existsSync(link)) {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  try {
    fs.symlinkSync(path.relative(path.dirname(link), ROOT), link, 'dir');
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
  }
}

// Ports handed out by this process: the kernel may give a just-closed ephemeral port again, and
// two components of one collector were once given the same one.
const handedOut = new Set();

/** A TCP port that was free a moment ago, and not handed out before by this process. */
export async function freePort() {
  for (let attempt = 0; ; attempt++) {
    const srv = net.createServer();
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address();
    await new Promise((r) => srv.close(r));
    if (!handedOut.has(port) || attempt >= 20) {
      handedOut.add(port);
      return port;
    }
  }
}

/**
 * Starts `node <preload flag> <script>` with cwd at the repository root, so that
 * `otelkit/register` resolves to this package as it would from an installed one.
 */
export function startApp(script, { env = {}, preload = ['--import', 'otelkit/register'], args = [] } = {}) {
  const file = path.isAbsolute(script) ? script : path.join(FIXTURES, script);
  const child = spawn(process.execPath, [...preload, file, ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      OTEL_EXPORTER_PROMETHEUS_PORT: '0',
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  const waiters = [];
  const check = () => {
    for (const w of [...waiters]) {
      const m = w.re.exec(out[w.stream]);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(m);
      }
    }
  };
  child.stdout.on('data', (d) => { out.stdout += d; check(); });
  child.stderr.on('data', (d) => { out.stderr += d; check(); });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => {
    for (const w of waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error(`process exited before ${w.re} appeared on ${w.stream}\nstdout:\n${out.stdout}\nstderr:\n${out.stderr}`));
    }
  });
  const app = {
    child,
    out,
    exited,
    waitFor(re, { stream = 'stdout', timeoutMs = 15000 } = {}) {
      return new Promise((resolve, reject) => {
        const w = { re, stream, resolve, reject };
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`timed out waiting for ${re} on ${stream}\nstdout:\n${out.stdout}\nstderr:\n${out.stderr}`));
        }, timeoutMs);
        waiters.push(w);
        check();
      });
    },
    async port() {
      const m = await app.waitFor(/listening (\d+)/);
      return Number(m[1]);
    },
    /** JSON lines otelkit wrote on stderr. */
    diagLines() {
      return out.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
    },
    /** The admin port, read from otelkit's start line. */
    async adminPort() {
      const m = await app.waitFor(/"admin":"[^"]*:(\d+)"/, { stream: 'stderr' });
      return Number(m[1]);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  return app;
}

// otelkit's admin server starts listening on the event loop's first turn, just after the
// application's main module has run (and printed that it listens): a refused connection is
// tried again, for a few seconds, never a wrong answer.
export async function get(port, p, headers = {}) {
  let res;
  for (const deadline = Date.now() + 5000; ; await new Promise((r) => setTimeout(r, 50))) {
    try {
      res = await fetch(`http://127.0.0.1:${port}${p}`, { headers });
      break;
    } catch (err) {
      if (err?.cause?.code !== 'ECONNREFUSED' || Date.now() > deadline) throw err;
    }
  }
  const text = await res.text();
  return { status: res.status, text, headers: res.headers };
}

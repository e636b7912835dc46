// Process helpers for bench/http.mjs: free ports, CPU pinning, RSS, readiness polling.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A loopback TCP port that was free a moment ago. */
export async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

function children(pid) {
  const out = [];
  let tasks = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      out.push(...fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {}
  }
  return out;
}

/** Pins a process, all its threads and all its descendants (e.g. PostgreSQL's workers) to `cpus`. */
export function pinTree(pid, cpus) {
  const seen = new Set();
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop();
    if (seen.has(p)) continue;
    seen.add(p);
    const r = spawnSync('taskset', ['-a', '-p', '-c', String(cpus), String(p)], { encoding: 'utf8' });
    if (r.status !== 0 && fs.existsSync(`/proc/${p}`)) throw new Error(`taskset -p ${cpus} ${p} failed: ${r.stderr}`);
    todo.push(...children(p));
  }
}

/** Resident set size of a process now, in MiB (0 when it is gone). */
export function rssMiB(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/**
 * Polls `url` until it answers 200. Rejects when `failed()` returns a reason (the process
 * exited) or at the deadline.
 */
export async function waitHttp(url, { failed = () => undefined, timeoutMs = 30_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const reason = failed();
    if (reason) throw new Error(reason);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await sleep(50);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (${last})`);
}

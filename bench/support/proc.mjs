// Process helpers for bench/http.mjs: free ports, pinned processes, CPU pinning, RSS, readiness polling.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

// The tests' helper: a loopback TCP port that was free a moment ago.
export { freePort } from '../../test/support/app.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts cmd pinned to one core. Returns the child, the tail of its output, and its exit
 * ('code N, signal S'; null while it runs).
 */
export function spawnPinned(cpu, cmd, args, options) {
  const child = spawn('taskset', ['-c', String(cpu), cmd, ...args], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exited = null;
  const collect = (d) => { output = (output + d).slice(-8000); };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  child.once('exit', (code, signal) => { exited = `code ${code}, signal ${signal}`; });
  child.once('error', (err) => { exited = err.message; });
  return { child, output: () => output, exited: () => exited };
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

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/**
 * CPU time (user + system, all threads) a process has used so far, in seconds. Unlike
 * throughput, it does not count time the machine gave to others (steal, other processes).
 */
export function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime
  // are the 12th and 13th of them.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * One core's time counters from /proc/stat, in clock ticks: all of it, and the part the
 * hypervisor gave to other guests (steal). On a shared virtual machine steal takes time from the
 * service without showing in its CPU time, and throughput falls with it.
 */
export function coreTicks(cpu) {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `));
  if (line === undefined) return { total: 0, steal: 0 };
  // user nice system idle iowait irq softirq steal (guest time is already counted in user).
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
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

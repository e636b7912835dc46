// Starts REAL PostgreSQL and Redis servers from Debian's packages for tests: loopback only, a
// throwaway data directory under os.tmpdir(), a free high port. A missing binary is an error that
// names the Debian package: tests that need a backend fail, they never skip.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chownSync, constants, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const live = new Set();
// A failed test must not leave servers behind.
process.on('exit', () => {
  for (const s of live) {
    try { s.child.kill('SIGKILL'); } catch {}
    try { rmSync(s.dir, { recursive: true, force: true }); } catch {}
  }
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function isExecutable(file) {
  try { accessSync(file, constants.X_OK); return true; } catch { return false; }
}

function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin'])) {
    if (dir && isExecutable(path.join(dir, cmd))) return path.join(dir, cmd);
  }
  return undefined;
}

function pgBinDir(pgRoot) {
  let versions = [];
  try {
    versions = readdirSync(pgRoot).filter((v) => /^\d+(\.\d+)?$/.test(v)).sort((a, b) => Number(b) - Number(a));
  } catch {}
  for (const v of versions) {
    const dir = `${pgRoot}/${v}/bin`;
    if (isExecutable(`${dir}/initdb`) && isExecutable(`${dir}/postgres`)) return dir;
  }
  throw new Error(`PostgreSQL server binaries (initdb, postgres) not found under ${pgRoot}/<version>/bin: ` +
    'install the Debian package "postgresql" (apt-get install postgresql, or `source scripts/setup.sh && setup_backends`)');
}

/** A random port in a high range that is free right now (the server may still lose a race: callers retry). */
async function freePort() {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    const ok = await new Promise((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port found in 20000-50000');
}

/** Runs as root? Then PostgreSQL (which refuses root) runs as the unprivileged "postgres" user. */
function serviceUser() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return {};
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root and there is no "postgres" user to run PostgreSQL as: ' +
      'install the Debian package "postgresql" (it creates the user)');
  }
}

function childEnv(home) {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
}

function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => { clearTimeout(t); resolve(true); });
  });
}

/**
 * Spawns the server and waits until `probe()` succeeds. Rejects with the server's output when it
 * exits early; `addressInUse` tells the caller to retry on another port.
 */
async function launch(cmd, args, opts, probe, label) {
  const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (d) => { output = (output + d.toString()).slice(-8000); };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exited = false;
  child.once('exit', () => { exited = true; });
  child.once('error', (err) => { exited = true; output += String(err); });
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (exited) {
      const err = new Error(`${label} exited during start-up:\n${output}`);
      err.addressInUse = /address already in use/i.test(output);
      throw err;
    }
    if (await probe()) return { child, output: () => output };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`${label} did not become ready within 30s:\n${output}`);
}

function handle(child, dir, extra, stopSignal) {
  const entry = { child, dir };
  live.add(entry);
  const finish = async (signal) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      if (!(await waitExit(child, 15000))) {
        child.kill('SIGKILL');
        await waitExit(child, 5000);
      }
    }
    // After a SIGKILL of the postmaster its backends notice and exit on their own; give them a moment.
    if (signal === 'SIGKILL') await sleep(200);
    rmSync(dir, { recursive: true, force: true });
    live.delete(entry);
  };
  return {
    ...extra,
    pid: child.pid,
    dataDir: dir,
    /** Clean shutdown, then removes the data directory. */
    stop: () => finish(stopSignal),
    /** Abrupt end (SIGKILL), then removes the data directory. */
    kill: () => finish('SIGKILL'),
  };
}

async function pgProbe(url) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    client.end().catch(() => {});
  }
}

/**
 * Real PostgreSQL on 127.0.0.1. Password (SCRAM) authentication over TCP, so the URL carries a
 * password — tests need one to prove it is redacted. Runs as the "postgres" user when this
 * process is root (PostgreSQL refuses root). Returns { url, port, user, password, database,
 * stop(), kill() }. `pgRoot` is for tests of the missing-binary error.
 */
export async function startPostgres({ port, pgRoot = '/usr/lib/postgresql' } = {}) {
  const bin = pgBinDir(pgRoot);
  const { uid, gid } = serviceUser();
  const user = 'otelkit';
  const password = `pw-${randomBytes(9).toString('hex')}`;
  const database = 'postgres';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'otelkit-pg-'));
  try {
    const pwfile = path.join(dir, 'pwfile');
    writeFileSync(pwfile, `${password}\n`);
    const data = path.join(dir, 'data');
    if (uid !== undefined) {
      chownSync(dir, uid, gid);
      chownSync(pwfile, uid, gid);
    }
    const spawnOpts = { cwd: dir, env: childEnv(dir), ...(uid !== undefined ? { uid, gid } : {}) };
    execFileSync(`${bin}/initdb`, ['-D', data, '-U', user, `--pwfile=${pwfile}`, '--auth-local=trust',
      '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync', '--no-instructions'], { ...spawnOpts, stdio: 'pipe' });
    rmSync(pwfile, { force: true });

    for (let attempt = 0; ; attempt++) {
      const p = port ?? (await freePort());
      const url = `postgres://${user}:${password}@127.0.0.1:${p}/${database}`;
      try {
        const { child } = await launch(`${bin}/postgres`, ['-D', data, '-p', String(p), '-c', 'listen_addresses=127.0.0.1',
          '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off', '-c', 'synchronous_commit=off',
          '-c', 'full_page_writes=off', '-c', 'max_connections=50'], spawnOpts, () => pgProbe(url), 'postgres');
        // SIGINT is PostgreSQL's "fast" shutdown: it disconnects clients instead of waiting for them.
        return handle(child, dir, { url, port: p, host: '127.0.0.1', user, password, database }, 'SIGINT');
      } catch (err) {
        if (err.addressInUse && port === undefined && attempt < 5) continue;
        throw err;
      }
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    if (err.stderr) err.message += `\n${err.stderr}`;
    throw err;
  }
}

function redisProbe(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const done = (ok) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(1000, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    // +PONG, or -NOAUTH when a password is set: either way the server answers commands.
    sock.once('data', (d) => done(/^(\+PONG|-NOAUTH)/.test(d.toString())));
  });
}

/**
 * Real redis-server on 127.0.0.1, no persistence; `password` turns on requirepass. Returns
 * { url, port, password?, stop(), kill() }.
 */
export async function startRedis({ port, password, bin = which('redis-server') } = {}) {
  if (!bin || !isExecutable(bin)) {
    throw new Error(`redis-server not found${bin ? ` at ${bin}` : ' on PATH'}: install the Debian package "redis-server" ` +
      '(apt-get install redis-server, or `source scripts/setup.sh && setup_backends`)');
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'otelkit-redis-'));
  try {
    for (let attempt = 0; ; attempt++) {
      const p = port ?? (await freePort());
      const args = ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
        '--daemonize', 'no', '--logfile', ''];
      if (password) args.push('--requirepass', password);
      try {
        const { child } = await launch(bin, args, { cwd: dir, env: childEnv(dir) }, () => redisProbe(p), 'redis-server');
        const url = password ? `redis://:${encodeURIComponent(password)}@127.0.0.1:${p}` : `redis://127.0.0.1:${p}`;
        // SIGTERM makes redis-server shut down cleanly (no save: persistence is off).
        return handle(child, dir, { url, port: p, host: '127.0.0.1', ...(password ? { password } : {}) }, 'SIGTERM');
      } catch (err) {
        if (err.addressInUse && port === undefined && attempt < 5) continue;
        throw err;
      }
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

// Which process holds a listening TCP port, when it is an ancestor of this one that runs otelkit
// (Linux, from /proc). A child started with the preload in NODE_OPTIONS finds the admin port taken
// by its parent: that is expected, and is said as such instead of as a bind error. Read only after a
// failed bind, so its cost (a few file reads) is never paid at start.
import * as fs from 'node:fs';

/** Inodes of the sockets listening on `port`, any address, IPv4 or IPv6. */
function listeningInodes(port: number): Set<string> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth field.
      if (f.length > 9 && f[3] === '0A' && f[1].endsWith(`:${hexPort}`) && f[9] !== '0') inodes.add(f[9]);
    }
  }
  return inodes;
}

function holds(pid: number, sockets: Set<string>): boolean {
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && sockets.has(m[1])) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a process was started with otelkit: its command line (`--import otelkit/register`) or
 * its initial environment (NODE_OPTIONS) names it. An ancestor that holds the port for another
 * reason (a test runner, a proxy) leaves the bind failure an error.
 */
// `otelkit/register`, or a path to the package's register.js / register.mjs.
const PRELOAD = /otelkit[/\\](?:dist[/\\])?register(?:\.m?js)?(?![\w-])/;

function runsOtelkit(pid: number): boolean {
  for (const file of ['cmdline', 'environ']) {
    try {
      if (PRELOAD.test(fs.readFileSync(`/proc/${pid}/${file}`, 'latin1'))) return true;
    } catch {
      // not readable: no evidence from this file
    }
  }
  return false;
}

/**
 * The pid of the ancestor process that runs otelkit and listens on `port`, if one does;
 * undefined when none does or it cannot be told.
 */
export function otelkitAncestorHoldingPort(port: number): number | undefined {
  if (process.platform !== 'linux' || port <= 0) return undefined;
  try {
    const sockets = listeningInodes(port);
    if (sockets.size === 0) return undefined;
    let pid: number | undefined = process.ppid;
    for (let depth = 0; pid !== undefined && pid > 1 && depth < 64; depth++) {
      if (holds(pid, sockets)) return runsOtelkit(pid) ? pid : undefined;
      pid = parentOf(pid);
    }
  } catch {
    // /proc unreadable: unknown
  }
  return undefined;
}

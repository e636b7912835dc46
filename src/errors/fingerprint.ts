// An error's group: a short hex fingerprint of its type and the application's own top stack
// frames (function name and module path relative to the application's root). Line and column
// numbers, node_modules and Node's internals are left out, so the group survives restarts, new
// releases that move code around, and dependency upgrades, while two throw sites in different
// functions (or of different types) get different groups.
import * as path from 'node:path';

/** How many of the application's frames make the group. */
const APP_FRAMES = 3;
/** How many stack lines are read at most: the top of the stack is what tells throw sites apart. */
const MAX_LINES = 50;

export interface Frame {
  fn: string;
  /** Absolute file path, or what the stack gave when it is not a file. */
  file: string;
}

/** A V8 stack line ("    at fn (file:1:2)", "    at file:1:2", "    at async fn (file:1:2)") to a frame. */
export function parseFrame(line: string): Frame | undefined {
  let s = line.trim();
  if (!s.startsWith('at ')) return undefined;
  s = s.slice(3);
  if (s.startsWith('async ')) s = s.slice(6);
  let fn = '<anonymous>';
  let loc = s;
  if (s.endsWith(')')) {
    const open = s.indexOf(' (');
    if (open !== -1) {
      fn = s.slice(0, open);
      loc = s.slice(open + 2, -1);
    }
  }
  // "Layer.handle [as handle_request]": the alias depends on the caller, the name on the code.
  const alias = fn.indexOf(' [as ');
  if (alias !== -1) fn = fn.slice(0, alias);
  if (fn.startsWith('new ')) fn = fn.slice(4);
  // eval frames: "eval at f (file:1:2), <anonymous>:1:1": the enclosing site is what is stable.
  if (loc.startsWith('eval at ')) {
    const inner = /\((.*?):\d+:\d+\)/.exec(loc);
    loc = inner ? inner[1] : loc;
  }
  loc = loc.replace(/:\d+(?::\d+)?$/, '');
  if (loc.startsWith('file://')) {
    try {
      loc = decodeURIComponent(new URL(loc).pathname);
    } catch {
      // keep it as written
    }
  }
  return { fn, file: loc };
}

function isInternal(file: string): boolean {
  return file.startsWith('node:') || file.startsWith('internal/') || file === 'native' || file === '<anonymous>' || !(path.isAbsolute(file));
}

const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

/** The frames of the stack that belong to the application: under its root, outside node_modules and otelkit. */
export function appFrames(stack: string, appRoot: string, excludeDir: string | undefined): { app: Frame[]; deps: Frame[] } {
  const app: Frame[] = [];
  const deps: Frame[] = [];
  const root = appRoot.endsWith(path.sep) ? appRoot : appRoot + path.sep;
  const exclude = excludeDir === undefined ? undefined : excludeDir.endsWith(path.sep) ? excludeDir : excludeDir + path.sep;
  const lines = stack.split('\n', MAX_LINES);
  for (const line of lines) {
    const f = parseFrame(line);
    if (f === undefined || isInternal(f.file)) continue;
    if (exclude !== undefined && f.file.startsWith(exclude)) continue;
    const nm = f.file.lastIndexOf(NODE_MODULES);
    if (nm !== -1) {
      if (deps.length < APP_FRAMES) deps.push({ fn: f.fn, file: f.file.slice(nm + NODE_MODULES.length) });
      continue;
    }
    if (!f.file.startsWith(root)) continue;
    app.push({ fn: f.fn, file: path.relative(appRoot, f.file).split(path.sep).join('/') });
    if (app.length === APP_FRAMES) break;
  }
  return { app, deps };
}

/**
 * 64 bits of a string as 16 hex digits: two 32-bit multiply-xor lanes (cyrb53's mixing), enough
 * to keep a service's few hundred groups apart; not cryptographic, and needs no node:crypto.
 */
export function hash64(s: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
}

/** Numbers, hex ids and quoted values out of a message, for errors without any usable frame. */
function messageShape(message: string): string {
  return message.slice(0, 200).replace(/(["'`]).*?\1/g, '?').replace(/\b[0-9a-f]{8,}\b/gi, '#').replace(/\d+/g, '#');
}

/**
 * The group of an error of this type with this stack. The application's frames when there are
 * any; else the first dependency frames (package-relative paths); else the message's shape.
 */
export function fingerprint(type: string, stack: string | undefined, message: string, appRoot: string, excludeDir?: string): string {
  let key = type;
  const frames = stack === undefined ? undefined : appFrames(stack, appRoot, excludeDir);
  const chosen = frames === undefined ? [] : frames.app.length > 0 ? frames.app : frames.deps;
  if (chosen.length > 0) for (const f of chosen) key += `\n${f.fn} ${f.file}`;
  else key += `\n${messageShape(message)}`;
  return hash64(key);
}

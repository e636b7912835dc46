// Source maps for captured errors: a TypeScript (or otherwise compiled) application's frames in
// an exception record point at its original sources, without `--enable-source-maps`. Node maps
// stacks itself only with that flag (or process.setSourceMapsEnabled), and only by replacing how
// every stack of the process is formatted; here only the copy of the stack that error tracking
// exports (and the frames its group is made of) is rewritten: `err.stack`,
// Error.prepareStackTrace and everything the application prints stay as Node gives them.
//
// A compiled file's map is read on the first captured error with a frame in that file (its
// `//# sourceMappingURL=` comment: a file next to it or an inline data: URL), parsed with Node's
// public module.SourceMap, and kept per file. Reading is synchronous on the capture path, so that
// the first error of a file is grouped like every later one; it is bounded: only the file's tail
// is read to find the comment, a map file or inline map over MAX_MAP_BYTES is not read, one whose
// mappings exceed MAX_MAPPINGS is not parsed (SourceMap's parse is the costly part, about 40-75
// ns and 20 bytes of heap a mappings character, Node 20-24), and the cache holds at most MAX_MAPS maps and
// MAX_CACHED_MAPPINGS mappings characters (least recently used evicted first). A missing, broken
// or oversized map leaves the frames as they are; nothing here throws.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Bytes read from a compiled file's end to find its sourceMappingURL comment. */
const TAIL_BYTES = 4096;
/** A map (file, or inline once decoded) larger than this is not read. */
export const MAX_MAP_BYTES = 1024 * 1024;
/** A map whose mappings are longer than this is not parsed (about 10-20 ms and 5 MB of heap). */
export const MAX_MAPPINGS = 256 * 1024;
/** Maps kept at most. */
export const MAX_MAPS = 64;
/** Mappings characters kept at most over all cached maps (about 20 MB of parsed entries). */
export const MAX_CACHED_MAPPINGS = 1024 * 1024;
/** Files known to have no usable map, kept at most (a path each). */
const MAX_UNMAPPED = 1024;
/** Stack lines looked at, as the fingerprint reads them. */
const MAX_LINES = 50;

interface Loaded {
  map: SourceMap;
  /** Its mappings' length: what the cache's bound counts. */
  cost: number;
}

const maps = new Map<string, Loaded>();
const unmapped = new Set<string>();
let cachedCost = 0;
// The same stack is mapped for the group and then for the record: the second is free.
let lastIn: string | undefined;
let lastOut: string | undefined;

const NODE_MODULES = `${path.sep}node_modules${path.sep}`;
const MARKER = Buffer.from('sourceMappingURL=');

/** For tests and benchmarks: forget every map read so far. */
export function clearSourceMaps(): void {
  maps.clear();
  unmapped.clear();
  cachedCost = 0;
  lastIn = lastOut = undefined;
}

/** What the cache holds (tests check its bounds). */
export function sourceMapCacheStats(): { maps: number; mappings: number; unmapped: number } {
  return { maps: maps.size, mappings: cachedCost, unmapped: unmapped.size };
}

/**
 * With `--enable-source-maps` (or process.setSourceMapsEnabled(true)) Node maps every stack
 * itself: the frames already point at the sources.
 */
function nodeMapsStacks(): boolean {
  return (process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled === true;
}

function readAt(fd: number, size: number, len: number): Buffer {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, buf, got, len - got, size - len + got);
    if (n === 0) break;
    got += n;
  }
  return got === len ? buf : buf.subarray(0, got);
}

/** The URL of the file's last sourceMappingURL comment (`//# `, `/*# `, legacy `//@ `), if any. */
function sourceMappingURL(file: string): string | undefined {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    let tail = readAt(fd, size, Math.min(size, TAIL_BYTES));
    let at = tail.lastIndexOf(MARKER);
    if (at === -1 && size > tail.length && tail.subarray(0, tail.length - 1).indexOf(0x0a) === -1) {
      // The last line is longer than the tail: it may be an inline map. Read as much of it as an
      // inline map may be.
      tail = readAt(fd, size, Math.min(size, Math.ceil((MAX_MAP_BYTES * 4) / 3) + 256));
      at = tail.lastIndexOf(MARKER);
    }
    // The comment's opening: `//# `, `/*# ` or the legacy `//@ ` right before the marker.
    if (at === -1 || !/\/[/*][#@]\s*$/.test(tail.toString('latin1', Math.max(0, at - 8), at))) return undefined;
    let end = at + MARKER.length;
    while (end < tail.length && tail[end] > 0x20 && !(tail[end] === 0x2a && tail[end + 1] === 0x2f)) end++;
    const url = tail.toString('utf8', at + MARKER.length, end);
    return url === '' ? undefined : url;
  } finally {
    fs.closeSync(fd);
  }
}

/** The map's text and the URL its sources are relative to, within the byte bound. */
function mapText(file: string, url: string): { text: string; base: URL } | undefined {
  const fileUrl = pathToFileURL(file);
  if (url.startsWith('data:')) {
    const comma = url.indexOf(',');
    if (comma === -1) return undefined;
    const meta = url.slice(5, comma);
    const data = url.slice(comma + 1);
    const base64 = meta.split(';').includes('base64');
    if ((base64 ? (data.length * 3) / 4 : data.length) > MAX_MAP_BYTES) return undefined;
    const text = base64 ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data);
    return { text, base: fileUrl };
  }
  const target = new URL(url, fileUrl);
  if (target.protocol !== 'file:') return undefined;
  const mapFile = fileURLToPath(target);
  const stat = fs.statSync(mapFile);
  if (!stat.isFile() || stat.size > MAX_MAP_BYTES) return undefined;
  return { text: fs.readFileSync(mapFile, 'utf8'), base: target };
}

/** A source of the map as a path (file: URLs), else as the map resolves it (webpack://...). */
function resolveSource(source: string, root: string, base: URL): string {
  try {
    const u = new URL(root + source, base);
    return u.protocol === 'file:' ? fileURLToPath(u) : u.href;
  } catch {
    return source;
  }
}

interface RawMap {
  version?: unknown;
  file?: unknown;
  sourceRoot?: unknown;
  sources?: unknown;
  names?: unknown;
  mappings?: unknown;
  sections?: unknown;
}

/**
 * The payload SourceMap gets: sources made absolute (SourceMap leaves them as written), without
 * sourcesContent (not needed, and the heaviest part). Index maps' sections likewise.
 */
function payloadOf(raw: RawMap, base: URL, budget: { mappings: number }): SourceMapPayload | undefined {
  if (Array.isArray(raw.sections)) {
    const sections: { offset: { line: number; column: number }; map: SourceMapPayload }[] = [];
    for (const s of raw.sections as { offset?: { line?: unknown; column?: unknown }; map?: RawMap }[]) {
      if (s?.map === undefined || typeof s.offset?.line !== 'number' || typeof s.offset.column !== 'number') return undefined;
      const map = payloadOf(s.map, base, budget);
      if (map === undefined) return undefined;
      sections.push({ offset: { line: s.offset.line, column: s.offset.column }, map });
    }
    // SourceMap accepts index maps (sections); its payload type only describes plain ones.
    return { version: 3, file: '', sourceRoot: '', sources: [], sourcesContent: [], names: [], mappings: '', sections } as SourceMapPayload;
  }
  if (typeof raw.mappings !== 'string' || !Array.isArray(raw.sources)) return undefined;
  budget.mappings += raw.mappings.length;
  if (budget.mappings > MAX_MAPPINGS) return undefined;
  let root = typeof raw.sourceRoot === 'string' ? raw.sourceRoot : '';
  if (root !== '' && !root.endsWith('/')) root += '/';
  const sources = (raw.sources as unknown[]).map((s) => (typeof s === 'string' ? resolveSource(s, root, base) : ''));
  const names = Array.isArray(raw.names) ? (raw.names as unknown[]).map((n) => (typeof n === 'string' ? n : '')) : [];
  return { version: 3, file: typeof raw.file === 'string' ? raw.file : '', sourceRoot: '', sources, sourcesContent: [], names, mappings: raw.mappings };
}

function load(key: string): Loaded | undefined {
  const file = key.startsWith('file://') ? fileURLToPath(key) : key;
  const stat = fs.statSync(file);
  // Only regular files: opening a FIFO would block.
  if (!stat.isFile()) return undefined;
  const url = sourceMappingURL(file);
  if (url === undefined) return undefined;
  const found = mapText(file, url);
  if (found === undefined) return undefined;
  const budget = { mappings: 0 };
  const payload = payloadOf(JSON.parse(found.text) as RawMap, found.base, budget);
  if (payload === undefined) return undefined;
  return { map: new SourceMap(payload), cost: budget.mappings };
}

/**
 * The file's map (by its path, or its file: URL as ES module frames name it), read on first use;
 * undefined when it has none (or it cannot be used).
 */
export function mapOf(file: string): SourceMap | undefined {
  const hit = maps.get(file);
  if (hit !== undefined) {
    // Most recently used last: eviction takes the first.
    maps.delete(file);
    maps.set(file, hit);
    return hit.map;
  }
  if (unmapped.has(file)) return undefined;
  let loaded: Loaded | undefined;
  try {
    loaded = load(file);
  } catch {
    // Unreadable file, broken JSON, a map SourceMap rejects: the frames stay as they are.
    loaded = undefined;
  }
  if (loaded === undefined) {
    if (unmapped.size >= MAX_UNMAPPED) unmapped.clear();
    unmapped.add(file);
    return undefined;
  }
  while (maps.size > 0 && (maps.size >= MAX_MAPS || cachedCost + loaded.cost > MAX_CACHED_MAPPINGS)) {
    const [oldest, entry] = maps.entries().next().value as [string, Loaded];
    maps.delete(oldest);
    cachedCost -= entry.cost;
  }
  maps.set(file, loaded);
  cachedCost += loaded.cost;
  return loaded.map;
}

let excludeFor: string | undefined;
let excludeHref = '';
/** The excluded directory as a file: URL prefix, for ES module frames (computed once). */
function excludeUrl(dir: string): string {
  if (dir !== excludeFor) {
    excludeFor = dir;
    excludeHref = pathToFileURL(dir).href;
    if (!excludeHref.endsWith('/')) excludeHref += '/';
  }
  return excludeHref;
}

/** Where a stack line's location is: the frame's file, line and column, and where they sit in the line. */
interface Location {
  start: number;
  end: number;
  /** As the stack names it: a path, or a file: URL. */
  file: string;
  line: number;
  column: number;
}

function locate(text: string): Location | undefined {
  let i = 0;
  while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  if (!text.startsWith('at ', i)) return undefined;
  let start: number;
  let end: number;
  if (text.endsWith(')')) {
    const open = text.indexOf(' (', i);
    if (open === -1) return undefined;
    start = open + 2;
    end = text.length - 1;
  } else {
    start = i + 3;
    if (text.startsWith('async ', start)) start += 6;
    end = text.length;
  }
  // eval frames ("eval at f (file:1:2), <anonymous>:1:1") are left as they are.
  if (text.startsWith('eval at ', start)) return undefined;
  const c2 = text.lastIndexOf(':', end - 1);
  const c1 = c2 <= start ? -1 : text.lastIndexOf(':', c2 - 1);
  if (c1 <= start) return undefined;
  const line = Number(text.slice(c1 + 1, c2));
  const column = Number(text.slice(c2 + 1, end));
  if (!(line > 0) || !(column > 0)) return undefined;
  // The file as the stack names it (a path, or a file: URL): the cache's key, converted only
  // when a map is read.
  return { start, end, file: text.slice(start, c1), line, column };
}

/**
 * The stack with each frame of a compiled file that has a source map pointing at its original
 * source (`at fn (/app/src/app.ts:12:9)`, as `--enable-source-maps` writes it). Frames in
 * node_modules, in `excludeDir` (otelkit's own), Node's internals, and frames without a mapping
 * stay as they are. Returns the very same string when nothing was mapped. Never throws.
 */
export function mapStack(stack: string, excludeDir: string | undefined): string {
  if (stack === lastIn && lastOut !== undefined) return lastOut;
  if (nodeMapsStacks()) return stack;
  let out = stack;
  try {
    const exclude = excludeDir === undefined ? undefined : excludeDir.endsWith(path.sep) ? excludeDir : excludeDir + path.sep;
    const lines = stack.split('\n');
    let changed = false;
    let lastFile: string | undefined;
    let lastMap: SourceMap | undefined;
    for (let i = 1; i < lines.length && i <= MAX_LINES; i++) {
      const text = lines[i];
      const loc = locate(text);
      if (loc === undefined) continue;
      const url = loc.file.startsWith('file://');
      if ((!url && !path.isAbsolute(loc.file)) || loc.file.includes(NODE_MODULES) || loc.file.includes('/node_modules/')) continue;
      if (exclude !== undefined && loc.file.startsWith(url ? excludeUrl(exclude) : exclude)) continue;
      const map = loc.file === lastFile ? lastMap : mapOf(loc.file);
      lastFile = loc.file;
      lastMap = map;
      if (map === undefined) continue;
      // Stack positions count from 1, source maps from 0.
      const e = map.findEntry(loc.line - 1, loc.column - 1) as Partial<{ generatedLine: number; originalSource: string; originalLine: number; originalColumn: number }>;
      // findEntry answers the nearest mapping before the position, from an earlier line too: a
      // frame in unmapped generated code (a compiler helper) is left as it is.
      if (e.generatedLine !== loc.line - 1 || typeof e.originalSource !== 'string' || e.originalSource === '' || typeof e.originalLine !== 'number' || typeof e.originalColumn !== 'number') continue;
      lines[i] = `${text.slice(0, loc.start)}${e.originalSource}:${e.originalLine + 1}:${e.originalColumn + 1}${text.slice(loc.end)}`;
      changed = true;
    }
    if (changed) out = lines.join('\n');
  } catch {
    out = stack;
  }
  lastIn = stack;
  lastOut = out;
  return out;
}

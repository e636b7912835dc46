// The Node lines a benchmark measures side by side, as scripts/test.sh makes them: the running
// node first, then each version pinned in scripts/node-lines of another major, at
// .cache/node/<version>/bin/node (node_line_bin in scripts/setup.sh). Shared by bench/startup.mjs
// and bench/http.mjs so both measure the same lines and refuse a missing binary the same way.
//
//   const lines = nodeLines(argv)   removes `--lines 20,22,24` from argv (else OTELKIT_BENCH_LINES,
//                                   e.g. "22 24"); [{ line: '24', version: '24.22.3', bin }]
// Throws an Error whose message says how to install a missing line or leave it out.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const major = (v) => v.split('.')[0];

/** Removes `name value` from argv and returns the value, else the environment variable's. */
export function option(argv, name, envName) {
  const i = argv.indexOf(name);
  if (i >= 0) return argv.splice(i, 2)[1];
  return envName ? process.env[envName] : undefined;
}

export function nodeLines(argv) {
  const wanted = option(argv, '--lines', 'OTELKIT_BENCH_LINES');
  let lines = [{ line: major(process.versions.node), version: process.versions.node, bin: process.execPath }];
  const pinned = fs
    .readFileSync(path.join(ROOT, 'scripts/node-lines'), 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
  for (const version of pinned) {
    if (major(version) === lines[0].line) continue;
    lines.push({ line: major(version), version, bin: path.join(ROOT, '.cache/node', version, 'bin/node') });
  }
  if (wanted) {
    const want = wanted.split(/[\s,]+/).filter(Boolean);
    for (const w of want) {
      if (!lines.some((l) => l.line === w)) throw new Error(`no Node line ${w} (lines: ${lines.map((l) => l.line).join(', ')})`);
    }
    lines = lines.filter((l) => want.includes(l.line));
  }
  for (const l of lines) {
    if (l.bin === process.execPath) continue;
    const r = fs.existsSync(l.bin) ? spawnSync(l.bin, ['--version'], { encoding: 'utf8' }) : undefined;
    if (r?.stdout?.trim() !== `v${l.version}`) {
      throw new Error(
        `Node ${l.version} (line ${l.line}) is not installed at ${path.relative(ROOT, l.bin)}: install it with\n` +
          `  bash -c 'source scripts/setup.sh && setup_node_lines'\n` +
          'or leave the line out with --lines / OTELKIT_BENCH_LINES.',
      );
    }
  }
  return lines;
}

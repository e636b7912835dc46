// Preloaded (with --expose-gc) into a child process whose memory a test measures: on SIGUSR2 a
// full garbage collection, then one line on stderr, `heap-report <heapUsed> <rss>` (bytes).
'use strict';
process.on('SIGUSR2', () => {
  if (typeof globalThis.gc !== 'function') {
    process.stderr.write('heap-report: run with --expose-gc\n');
    return;
  }
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  process.stderr.write(`heap-report ${m.heapUsed} ${m.rss}\n`);
});

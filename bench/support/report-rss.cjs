// Preloaded into every benchmarked process, last: reports peak RSS at exit on fd 3.
const fs = require('node:fs');
process.on('exit', () => {
  try {
    fs.writeSync(3, `${process.resourceUsage().maxRSS}\n`);
  } catch {}
});

// Runs a handler file the way Lambda would, for the benchmarks: the tests'
// runner (test/support/invoke-handler.cjs: {event, remainingMs} on stdin, one
// call, exit 0 on resolve, 1 on reject), plus one line to stderr on exit,
// `BENCH {...}`, with the process's start (performance.timeOrigin, epoch ms),
// its CPU time (user + system, ms) and its peak resident set size
// (process.resourceUsage().maxRSS, KiB).
'use strict';
process.on('exit', () => {
  const usage = process.resourceUsage();
  const report = {
    timeOrigin: performance.timeOrigin,
    cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
    maxRssKiB: usage.maxRSS,
  };
  process.stderr.write(`BENCH ${JSON.stringify(report)}\n`);
});
require('../test/support/invoke-handler.cjs');

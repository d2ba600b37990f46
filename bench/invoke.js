// Runs a handler file the way Lambda would, for the benchmarks: reads
// {event, remainingMs} on stdin, calls exports.handler(event, context) once and
// exits (0 on resolve, 1 on reject). On exit it writes one line to stderr,
// `BENCH {...}`, with the process's start (performance.timeOrigin, epoch ms),
// its CPU time (user + system, ms) and its peak resident set size
// (process.resourceUsage().maxRSS, KiB).
'use strict';
const bundle = process.argv[2];
process.on('exit', () => {
  const usage = process.resourceUsage();
  const report = {
    timeOrigin: performance.timeOrigin,
    cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
    maxRssKiB: usage.maxRSS,
  };
  process.stderr.write(`BENCH ${JSON.stringify(report)}\n`);
});
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  const { event, remainingMs } = JSON.parse(input);
  const started = Date.now();
  const context = { getRemainingTimeInMillis: () => remainingMs - (Date.now() - started), logStreamName: 'bench' };
  const { handler } = require(bundle);
  handler(event, context).then(
    () => process.exit(0),
    (error) => {
      console.error(`handler rejected: ${error && error.stack ? error.stack : error}`);
      process.exit(1);
    },
  );
});

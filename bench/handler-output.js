// Reads what a handler process run by bench/invoke.js left on its streams.
'use strict';

/** The `BENCH {...}` line bench/invoke.js writes to stderr on exit: start time, CPU time, peak RSS. */
function parseBench(stderr) {
  const line = stderr.split('\n').find((l) => l.startsWith('BENCH '));
  return line ? JSON.parse(line.slice('BENCH '.length)) : {};
}

/** The handler's one structured log line. */
function parseHandlerLog(stdout) {
  const line = stdout.split('\n').find((l) => l.includes('"EcrPublicImageDeletion event"'));
  if (!line) throw new Error(`the handler wrote no log line:\n${stdout}`);
  return JSON.parse(line);
}

module.exports = { parseBench, parseHandlerLog };

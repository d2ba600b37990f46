// Runs a handler file the way Lambda would: reads {event, remainingMs} on stdin,
// calls exports.handler(event, context) once, exits 0 on resolve, 1 on reject.
// Plain JavaScript, so that the bundle shipped in the package runs unmodified.
const bundle = process.argv[2];
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  const { event, remainingMs } = JSON.parse(input);
  const started = Date.now();
  const context = { getRemainingTimeInMillis: () => remainingMs - (Date.now() - started) };
  const { handler } = require(bundle);
  handler(event, context).then(
    () => process.exit(0),
    (error) => {
      console.error(`handler rejected: ${error && error.stack ? error.stack : error}`);
      process.exit(1);
    },
  );
});

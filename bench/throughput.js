// Deletion throughput: the shipped handler deletes N declared images from the
// local ECR Public (the emulator, bench/local-ecr-public.js), whose
// BatchDeleteImage answers after a fixed delay; the repository is seeded with
// the N images before each run. Compared, in the same run, with the limit set by the
// concurrency (ceil(N/100) x delay / concurrency) and with deleteImages at
// concurrency 1 (one batch at a time), run from lambda/execute.ts itself.
'use strict';
const { parseBench, parseHandlerLog } = require('./handler-output');
const { mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { pathToFileURL } = require('node:url');
const { build } = require('esbuild');
const { startBenchEcrPublic, benchTaggedImages } = require('./local-ecr-public');
const { oursCreateEvent } = require('./events');
const { median, runNode, lambdaEnv } = require('./stats');
const { handlerConcurrency } = require('./handler-constants');

const ROOT = path.join(__dirname, '..');
const RUNNER = path.join(__dirname, 'invoke.js');
const OUR_BUNDLE = path.join(ROOT, 'assets', 'handler', 'index.js');
const IDS_PER_CALL = 100;
const REPOSITORY = 'bench/repo';

/** Bundles bench/execute-entry.mjs (deleteImages + the handler's client) with the handler's esbuild options. */
async function bundleExecuteRunner(dir) {
  const { handlerBuildOptions } = await import(pathToFileURL(path.join(ROOT, 'lambda', 'bundle-options.mjs')).href);
  const outfile = path.join(dir, 'execute-runner.js');
  await build(handlerBuildOptions(path.join(__dirname, 'execute-entry.mjs'), outfile));
  return outfile;
}

/** The handler's Create event for `count` images, built once per count (synth validates every ID). */
function eventFor(count) {
  return oursCreateEvent(REPOSITORY, count, 'http://127.0.0.1/unset', 'unset');
}

async function runHandler(server, baseEvent, count, repetition) {
  const requestId = `throughput-${count}-${repetition}`;
  const event = { ...baseEvent, RequestId: requestId, ResponseURL: server.responseUrl(requestId) };
  server.load(REPOSITORY, benchTaggedImages(count));
  const started = performance.now();
  const result = await runNode([RUNNER, OUR_BUNDLE], {
    env: lambdaEnv(server.env),
    input: JSON.stringify({ event, remainingMs: 300_000 }),
  });
  const endToEndMs = performance.now() - started;
  const log = parseHandlerLog(result.stdout);
  if (result.exitCode !== 0 || log.status !== 'SUCCESS' || log.deleted !== count) {
    throw new Error(`throughput N=${count}: handler did not delete everything: ${result.stdout}\n${result.stderr}`);
  }
  const calls = server.deleteArrivals();
  return {
    durationMs: log.durationMs,
    endToEndMs,
    callsSpanMs: calls.length ? calls[calls.length - 1] - calls[0] : 0,
    calls: calls.length,
    inFlightPeak: server.stats('BatchDeleteImage').inFlightPeak,
    maxRssKiB: parseBench(result.stderr).maxRssKiB,
  };
}

async function runExecute(server, runner, count, concurrency) {
  server.load(REPOSITORY, benchTaggedImages(count));
  const result = await runNode([runner, REPOSITORY, String(count), String(concurrency)], {
    env: lambdaEnv(server.env),
  });
  if (result.exitCode !== 0) throw new Error(`deleteImages runner failed: ${result.stderr}`);
  const report = JSON.parse(result.stdout.trim().split('\n').pop());
  if (report.deleted !== count) throw new Error(`deleteImages runner deleted ${report.deleted} of ${count}`);
  return { ...report, inFlightPeak: server.stats('BatchDeleteImage').inFlightPeak };
}

async function throughput({ counts = [100, 1_000, 10_000], delayMs = 50, repetitions = 7, log = () => {} } = {}) {
  const { concurrency } = await handlerConcurrency();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-throughput-'));
  const server = await startBenchEcrPublic({ delayMs: { BatchDeleteImage: delayMs } });
  const rows = [];
  try {
    const runner = await bundleExecuteRunner(dir);
    // Warm the file cache and the server.
    await runHandler(server, eventFor(100), 100, 'warm-up');
    for (const count of counts) {
      const event = eventFor(count);
      const handler = [];
      const parallel = [];
      const sequential = [];
      for (let r = 0; r < repetitions; r++) {
        handler.push(await runHandler(server, event, count, r));
        parallel.push(await runExecute(server, runner, count, concurrency));
        sequential.push(await runExecute(server, runner, count, 1));
      }
      const batches = Math.ceil(count / IDS_PER_CALL);
      const row = {
        count,
        batches,
        limitMs: (batches * delayMs) / concurrency,
        roundsLimitMs: Math.ceil(batches / concurrency) * delayMs,
        handlerMs: median(handler.map((x) => x.durationMs)),
        handlerEndToEndMs: median(handler.map((x) => x.endToEndMs)),
        executeMs: median(parallel.map((x) => x.elapsedMs)),
        sequentialComputedMs: batches * delayMs,
        sequentialMs: median(sequential.map((x) => x.elapsedMs)),
        inFlightPeak: Math.max(...handler.map((x) => x.inFlightPeak)),
        sequentialInFlightPeak: Math.max(...sequential.map((x) => x.inFlightPeak)),
        calls: handler[0].calls,
        maxRssMiB: Math.max(...handler.map((x) => x.maxRssKiB)) / 1024,
      };
      row.limitOverActual = row.limitMs / row.handlerMs;
      row.speedupOverSequential = row.sequentialMs / row.handlerMs;
      rows.push(row);
      log(
        `  throughput N=${count}: handler ${row.handlerMs} ms (limit ${row.limitMs} ms), sequential ${row.sequentialMs.toFixed(0)} ms, peak RSS ${row.maxRssMiB.toFixed(1)} MiB`,
      );
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const largest = rows[rows.length - 1];
  return {
    delayMs,
    concurrency,
    repetitions,
    rows,
    goals: {
      limitOverActualAtLargest: largest.limitOverActual >= 0.8,
      rssUnder128MiBAtLargest: largest.maxRssMiB < 128,
    },
  };
}

module.exports = { throughput };

if (require.main === module) {
  throughput({ repetitions: Number(process.argv[2] ?? 7), log: console.log }).then((r) => console.log(JSON.stringify(r, null, 1)));
}

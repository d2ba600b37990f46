// Selection at scale: the shipped handler, on a Create event with a selection
// and no image IDs, works through repositories of 1,000 to 100,000 images (ECR
// Public's default quota per repository) held by the local ECR Public (the
// emulator, bench/local-ecr-public.js), which pages DescribeImages and applies
// each deletion after a fixed delay per call.
// Compared with the time the calls alone take at the concurrency
// (pages x page delay + calls x delete delay / concurrency) and with the
// function's limits: its timeout and its memory size (lib/provider.ts).
'use strict';
const { parseBench, parseHandlerLog } = require('./handler-output');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { ImageSelection } = require('../lib');
const { startBenchEcrPublic, buildxRepositoryImages, OCI_INDEX } = require('./local-ecr-public');
const { oursSelectionCreateEvent } = require('./events');
const { median, runNode, lambdaEnv } = require('./stats');
const { functionLimits, handlerConcurrency } = require('./handler-constants');

const ROOT = path.join(__dirname, '..');
const RUNNER = path.join(__dirname, 'invoke.js');
const OUR_BUNDLE = path.join(ROOT, 'assets', 'handler', 'index.js');
const REPOSITORY = 'bench/scale';

/** Memory size at which Lambda gives a function one vCPU (Lambda developer guide, "Configure Lambda function memory"). */
const ONE_VCPU_MIB = 1769;

/** The function's limits (as the construct synthesizes them) and the handler's concurrency limits (handler-constants.js). */
async function limits() {
  const { timeoutMs, memoryMiB } = functionLimits();
  const { concurrency, readConcurrency } = await handlerConcurrency();
  return {
    timeoutMs,
    // lambda/index.ts keeps min(20 s, a quarter of the time left) for answering CloudFormation: work stops there.
    workBudgetMs: timeoutMs - Math.min(20_000, Math.floor(timeoutMs / 4)),
    memoryMiB,
    concurrency,
    readConcurrency,
    // The heap limits Lambda's Node.js bootstrap derives from the memory size (new space a tenth, old space the rest).
    nodeOptions: [
      `--max-semi-space-size=${Math.floor(Math.floor(memoryMiB / 10) / 2)}`,
      `--max-old-space-size=${memoryMiB - Math.floor(memoryMiB / 10)}`,
    ],
    // Below ONE_VCPU_MIB a function gets that share of one vCPU.
    cpuShare: Math.min(1, memoryMiB / ONE_VCPU_MIB),
  };
}

const SELECTIONS = {
  all: () => ImageSelection.allImages(),
  untagged: () => ImageSelection.untaggedImages(),
};

/** What a selection must leave of the buildx repository: 'all' nothing; 'untagged' the tagged indexes and their children. */
function expectedRemaining(match, images) {
  if (match === 'all') return 0;
  const kept = images.filter((image) => image.mediaType === OCI_INDEX && image.tags.length > 0);
  return kept.length + kept.reduce((sum, image) => sum + image.references.length, 0);
}

/** One handler run in a fresh process, against a freshly loaded repository. */
async function runHandler(server, { match, count, images, event, remainingMs, label, nodeOptions = [], bundle = OUR_BUNDLE }) {
  const requestId = `selection-${match}-${count}-${label}`.replace(/[^A-Za-z0-9-]/g, '-');
  server.load(REPOSITORY, images);
  const started = performance.now();
  const result = await runNode([...nodeOptions, RUNNER, bundle], {
    env: lambdaEnv(server.env),
    input: JSON.stringify({ event: { ...event, RequestId: requestId, ResponseURL: server.responseUrl(requestId) }, remainingMs }),
    timeoutMs: remainingMs + 30_000,
  });
  const endToEndMs = performance.now() - started;
  const log = parseHandlerLog(result.stdout);
  const remaining = server.remaining(REPOSITORY);
  const response = server.response(requestId);
  if (result.exitCode !== 0 || log.status !== 'SUCCESS' || response?.Status !== 'SUCCESS' || remaining !== expectedRemaining(match, images)) {
    throw new Error(
      `selection ${match} N=${count}: ${remaining} images left (expected ${expectedRemaining(match, images)}), status ${log.status}, ` +
        `response ${response?.Status}: ${log.reason}\n${result.stderr.slice(0, 2000)}`,
    );
  }
  const describe = server.stats('DescribeImages');
  const deletes = server.stats('BatchDeleteImage');
  const bench = parseBench(result.stderr);
  return {
    durationMs: log.durationMs,
    endToEndMs,
    pages: describe.calls,
    calls: deletes.calls,
    handlerCalls: log.calls,
    listBusyMs: describe.busyMs,
    deleteBusyMs: deletes.busyMs,
    deleteInFlightPeak: deletes.inFlightPeak,
    refused: server.emulator.store.refused,
    deleted: log.deleted,
    failures: log.failures,
    remaining,
    cpuMs: bench.cpuMs,
    maxRssMiB: bench.maxRssKiB / 1024,
  };
}

/** The time the calls alone take: every page in turn, then the deletions `concurrency` at a time. */
function callsMs(pages, calls, pageMs, deleteMs, concurrency) {
  return pages * pageMs + (calls * deleteMs) / concurrency;
}

/**
 * The cases: a selection, a repository size, how many of the buildx indexes
 * are tagged (one in `taggedEvery`) and how many runs. Medians of the runs.
 */
const CASES = [
  { match: 'all', count: 1_000, taggedEvery: 2, repetitions: 3 },
  { match: 'all', count: 10_000, taggedEvery: 2, repetitions: 3 },
  { match: 'all', count: 100_000, taggedEvery: 2, repetitions: 1 },
  { match: 'untagged', count: 100_000, taggedEvery: 2, repetitions: 1 },
  { match: 'untagged', count: 100_000, taggedEvery: 1, repetitions: 1 },
];

async function selectionScale({ cases = CASES, describeDelayMs = 100, deleteDelayMs = 50, scaledLatencyMs = 300, log = () => {} } = {}) {
  const { timeoutMs, workBudgetMs, memoryMiB, concurrency, nodeOptions, cpuShare } = await limits();
  const server = await startBenchEcrPublic({ delayMs: { DescribeImages: describeDelayMs, BatchDeleteImage: deleteDelayMs } });
  const events = Object.fromEntries(
    Object.entries(SELECTIONS).map(([match, select]) => [match, oursSelectionCreateEvent(REPOSITORY, select(), 'unset', 'unset')]),
  );
  const run = (options) => runHandler(server, { remainingMs: timeoutMs, nodeOptions, ...options });
  const rows = [];
  try {
    // Warm the file cache and the server.
    await run({ match: 'all', count: 1_000, images: buildxRepositoryImages(1_000), event: events.all, label: 'warm-up' });
    for (const { match, count, taggedEvery, repetitions } of cases) {
      const images = buildxRepositoryImages(count, { taggedEvery });
      const runs = [];
      for (let r = 0; r < repetitions; r++) {
        runs.push(await run({ match, count, images, event: events[match], label: `${taggedEvery}-${r}` }));
      }
      const first = runs[0];
      const row = {
        match,
        count,
        taggedEvery,
        repetitions,
        indexes: images.filter((image) => image.mediaType === OCI_INDEX).length,
        pages: first.pages,
        calls: first.calls,
        handlerCalls: first.handlerCalls,
        refused: first.refused,
        deleted: first.deleted,
        failures: first.failures,
        remaining: first.remaining,
        deleteInFlightPeak: Math.max(...runs.map((x) => x.deleteInFlightPeak)),
        handlerMs: median(runs.map((x) => x.durationMs)),
        endToEndMs: median(runs.map((x) => x.endToEndMs)),
        listBusyMs: median(runs.map((x) => x.listBusyMs)),
        deleteBusyMs: median(runs.map((x) => x.deleteBusyMs)),
        cpuMs: median(runs.map((x) => x.cpuMs)),
        maxRssMiB: Math.max(...runs.map((x) => x.maxRssMiB)),
      };
      row.limitMs = callsMs(row.pages, row.calls, describeDelayMs, deleteDelayMs, concurrency);
      row.limitOverActual = row.limitMs / row.handlerMs;
      // At another latency, on the function's share of a vCPU: the calls, plus the handler process's CPU time
      // stretched by that share, with no overlap of the two assumed.
      row.lambdaCpuMs = row.cpuMs / cpuShare;
      row.scaledMs = callsMs(row.pages, row.calls, scaledLatencyMs, scaledLatencyMs, concurrency) + row.lambdaCpuMs;
      // The latency per call at which that estimate reaches the point where the handler stops to answer CloudFormation.
      row.breakEvenLatencyMs = (workBudgetMs - row.lambdaCpuMs) / (row.pages + row.calls / concurrency);
      row.withinTimeout = row.handlerMs < workBudgetMs;
      row.scaledWithinTimeout = row.scaledMs < workBudgetMs;
      row.withinMemory = row.maxRssMiB < memoryMiB;
      rows.push(row);
      log(
        `  selection ${match} N=${count} (1 index in ${taggedEvery} tagged): handler ${row.handlerMs} ms (calls alone ${row.limitMs} ms), ` +
          `${row.pages} pages, ${row.calls} BatchDeleteImage, ${row.refused} refused, CPU ${Math.round(row.cpuMs)} ms, peak RSS ${row.maxRssMiB.toFixed(1)} MiB`,
      );
    }
  } finally {
    await server.close();
  }
  return {
    describeDelayMs,
    deleteDelayMs,
    scaledLatencyMs,
    concurrency,
    timeoutMs,
    workBudgetMs,
    memoryMiB,
    nodeOptions,
    cpuShare,
    oneVcpuMiB: ONE_VCPU_MIB,
    rows,
    goals: {
      withinTimeout: rows.every((row) => row.withinTimeout),
      scaledWithinTimeout: rows.every((row) => row.scaledWithinTimeout),
      withinMemory: rows.every((row) => row.withinMemory),
    },
  };
}

module.exports = { limits, selectionScale, runHandler, REPOSITORY, SELECTIONS };

if (require.main === module) {
  for (const key of Object.keys(process.env)) if (key.startsWith('AWS_')) delete process.env[key];
  selectionScale({ log: console.log }).then((r) => console.log(JSON.stringify(r, null, 1)));
}

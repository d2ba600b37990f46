// Multi-architecture reads at scale: the shipped handler runs selections that
// keep image indexes on repositories of 10,000 and 100,000 images, 20% of them
// indexes (buildx pushes), against the local ECR Public (the emulator, through
// bench/local-ecr-public.js) with set latencies for the API and for the
// registry's manifest reads. It
// reports the manifest reads made, the time they take, the time the calls
// alone would take at the handler's bounds, and how long ECR Public's
// documented pull quotas would make those reads last.
'use strict';
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { ImageSelection } = require('../lib');
const { startBenchEcrPublic, buildxRepositoryImages, OCI_INDEX } = require('./local-ecr-public');
const { oursSelectionCreateEvent } = require('./events');
const { parseBench, parseHandlerLog } = require('./handler-output');
const { limits } = require('./selection-scale');
const { runNode, lambdaEnv } = require('./stats');

const ROOT = path.join(__dirname, '..');
const RUNNER = path.join(__dirname, 'invoke.js');
const BUNDLE = path.join(ROOT, 'assets', 'handler', 'index.js');
const REPOSITORY = 'bench/multiarch';

/** ECR Public's image-pull quotas per IP address (public-service-quotas): unauthenticated, authenticated. */
const PULLS_PER_SECOND = { anonymous: 1, authenticated: 10 };

const CASES = [
  { label: 'untaggedImages()', count: 10_000, select: () => ImageSelection.untaggedImages() },
  { label: 'allImages().keepNewest(10)', count: 10_000, select: () => ImageSelection.allImages().keepNewest(10) },
  { label: 'untaggedImages()', count: 100_000, select: () => ImageSelection.untaggedImages() },
];

async function multiarchScale({ cases = CASES, describeDelayMs = 100, deleteDelayMs = 50, manifestDelayMs = 50, log = () => {} } = {}) {
  const { timeoutMs, workBudgetMs, nodeOptions, concurrency, readConcurrency: readers } = await limits();
  // lambda/index.ts: index manifests are read in the first half of the work time.
  const readBudgetMs = Math.floor(workBudgetMs / 2);
  const server = await startBenchEcrPublic({ delayMs: { DescribeImages: describeDelayMs, BatchDeleteImage: deleteDelayMs } });
  server.emulator.faults.registry.delayMs.manifests = manifestDelayMs;
  const rows = [];
  try {
    for (const { label, count, select } of cases) {
      // Every index tagged: each is kept by untaggedImages(), and read.
      const images = buildxRepositoryImages(count, { taggedEvery: 1 });
      server.load(REPOSITORY, images);
      const requestId = `multiarch-${count}-${rows.length}`;
      const event = oursSelectionCreateEvent(REPOSITORY, select(), server.responseUrl(requestId), requestId);
      const referencesOf = new Map(images.map((image) => [image.digest, image.references]));
      const started = performance.now();
      const result = await runNode([...nodeOptions, RUNNER, BUNDLE], {
        env: lambdaEnv(server.env),
        input: JSON.stringify({ event, remainingMs: timeoutMs }),
        timeoutMs: timeoutMs + 30_000,
      });
      const endToEndMs = performance.now() - started;
      const handlerLog = parseHandlerLog(result.stdout);
      const response = server.response(requestId);
      const stats = { manifests: server.stats('manifests'), describe: server.stats('DescribeImages'), delete: server.stats('BatchDeleteImage') };
      const indexes = images.filter((image) => image.mediaType === OCI_INDEX).length;
      const selection = handlerLog.selection ?? {};
      // Safety, whatever the outcome: every remaining index still has every child.
      const remaining = server.emulator.images(REPOSITORY);
      const left = new Set(remaining.map((image) => image.digest));
      const broken = remaining.filter((image) => (referencesOf.get(image.digest) ?? []).some((child) => !left.has(child))).length;
      if (result.exitCode !== 0 || response?.Status !== 'SUCCESS' || broken > 0) {
        throw new Error(
          `${label} N=${count}: status ${response?.Status}, ${broken} broken indexes: ${handlerLog.reason}\n${result.stderr.slice(0, 2000)}`,
        );
      }
      const row = {
        label,
        count,
        indexes,
        reads: stats.manifests.calls,
        readsInFlightPeak: stats.manifests.inFlightPeak,
        readBusyMs: stats.manifests.busyMs,
        pages: stats.describe.calls,
        calls: stats.delete.calls,
        deleted: handlerLog.deleted,
        keptReferenced: selection.keptReferenced ?? 0,
        keptUnknown: selection.keptUnknown ?? 0,
        handlerMs: handlerLog.durationMs,
        endToEndMs,
        cpuMs: parseBench(result.stderr).cpuMs,
      };
      row.readsAloneMs = (row.reads * manifestDelayMs) / readers;
      row.limitMs = row.pages * describeDelayMs + row.readsAloneMs + (row.calls * deleteDelayMs) / concurrency;
      row.limitOverActual = row.limitMs / row.handlerMs;
      row.anonymousQuotaMs = (row.reads / PULLS_PER_SECOND.anonymous) * 1000;
      row.authenticatedQuotaMs = (row.reads / PULLS_PER_SECOND.authenticated) * 1000;
      row.decided = row.keptUnknown === 0;
      rows.push(row);
      log(
        `  ${label} N=${count}: ${row.reads} manifest reads (peak ${row.readsInFlightPeak} in flight), handler ${row.handlerMs} ms ` +
          `(calls alone ${Math.round(row.limitMs)} ms), ${row.deleted} deleted, ${row.keptReferenced} kept as referenced, ${row.keptUnknown} kept as unknown`,
      );
    }
  } finally {
    await server.close();
  }
  return {
    describeDelayMs,
    deleteDelayMs,
    manifestDelayMs,
    readers,
    concurrency,
    workBudgetMs,
    readBudgetMs,
    pullsPerSecond: PULLS_PER_SECOND,
    // How many manifest reads fit the read budget: at the set latency, and under each documented quota.
    readsWithinBudget: {
      atLatency: Math.floor((readBudgetMs / manifestDelayMs) * readers),
      anonymous: Math.floor((readBudgetMs / 1000) * PULLS_PER_SECOND.anonymous),
      authenticated: Math.floor((readBudgetMs / 1000) * PULLS_PER_SECOND.authenticated),
    },
    rows,
  };
}

module.exports = { multiarchScale };

if (require.main === module) {
  for (const key of Object.keys(process.env)) if (key.startsWith('AWS_')) delete process.env[key];
  multiarchScale({ log: console.log }).then((r) => console.log(JSON.stringify(r, null, 1)));
}

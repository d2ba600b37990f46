// Deletion throughput at ECR Public's image limit and a realistic API latency:
// the shipped handler empties a buildx repository of 100,000 images
// (allImages(), one index in two tagged) against the local ECR Public
// answering every DescribeImages and BatchDeleteImage after `latencyMs`
// (300 ms by default), in real time; and, in the same run, a baseline bundle
// (the handler before the delete window: 4 BatchDeleteImage calls in flight,
// deletions only after the whole listing), built from an older commit:
//
//   git archive a818b04 | tar -x -C /tmp/base && ln -s "$PWD/node_modules" /tmp/base/node_modules
//   (cd /tmp/base && node lambda/bundle.mjs)
//   node bench/delete-throughput.js /tmp/base/assets/handler/index.js [count] [latencyMs]
//
// Reported per bundle: the handler's durationMs (its log line), the calls,
// the peak of BatchDeleteImage calls in flight, CPU; and the ratio.
'use strict';
const path = require('node:path');
const { startBenchEcrPublic, buildxRepositoryImages } = require('./local-ecr-public');
const { oursSelectionCreateEvent } = require('./events');
const { limits, runHandler, REPOSITORY, SELECTIONS } = require('./selection-scale');

const OUR_BUNDLE = path.join(__dirname, '..', 'assets', 'handler', 'index.js');

async function deleteThroughput({ baselineBundle, count = 100_000, latencyMs = 300, log = () => {} }) {
  const { timeoutMs, nodeOptions } = await limits();
  const server = await startBenchEcrPublic({ delayMs: { DescribeImages: latencyMs, BatchDeleteImage: latencyMs } });
  const event = oursSelectionCreateEvent(REPOSITORY, SELECTIONS.all(), 'unset', 'unset');
  const images = buildxRepositoryImages(count, { taggedEvery: 2 });
  const rows = [];
  try {
    for (const [label, bundle] of [
      ['baseline', baselineBundle],
      ['ours', OUR_BUNDLE],
    ]) {
      const run = await runHandler(server, { match: 'all', count, images, event, remainingMs: timeoutMs, nodeOptions, label, bundle });
      rows.push({ label, bundle, ...run });
      log(
        `  ${label}: ${(run.durationMs / 1000).toFixed(1)} s, ${run.pages} pages, ${run.calls} BatchDeleteImage, ` +
          `peak ${run.deleteInFlightPeak} in flight, CPU ${(run.cpuMs / 1000).toFixed(1)} s, deleted ${run.deleted}, left ${run.remaining}`,
      );
    }
  } finally {
    await server.close();
  }
  const [baseline, ours] = rows;
  return { count, latencyMs, timeoutMs, rows, ratio: ours.durationMs / baseline.durationMs, goalMet: ours.durationMs <= 60_000 };
}

module.exports = { deleteThroughput };

if (require.main === module) {
  for (const key of Object.keys(process.env)) if (key.startsWith('AWS_')) delete process.env[key];
  const [baselineBundle, count, latencyMs] = process.argv.slice(2);
  if (!baselineBundle) throw new Error('usage: node bench/delete-throughput.js <baseline bundle index.js> [count] [latencyMs]');
  deleteThroughput({
    baselineBundle: path.resolve(baselineBundle),
    log: console.log,
    ...(count ? { count: Number(count) } : {}),
    ...(latencyMs ? { latencyMs: Number(latencyMs) } : {}),
  }).then((r) => console.log(JSON.stringify(r, null, 1)));
}

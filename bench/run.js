// `npm run bench`: runs the four benchmarks (cold start, deletion throughput,
// synth scaling, selection at scale), prints their tables and writes bench/RESULTS.md. Needs
// `npm run build` first (the handler bundle and lib/*.js). Only loopback
// traffic: every endpoint is a server this process starts on 127.0.0.1.
//
//   node bench/run.js                 all four
//   node bench/run.js cold synth      some of them (cold, throughput, synth, selection)
'use strict';
const { existsSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const ROOT = path.join(__dirname, '..');
const RESULTS = path.join(__dirname, 'RESULTS.md');
const ALL = ['cold', 'throughput', 'synth', 'selection'];

const REPETITIONS = { cold: 21, throughput: 7 };
const QUOTA_SOURCE = 'https://docs.aws.amazon.com/AmazonECR/latest/public/public-service-quotas.html';

const ms = (v) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const x = (v, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
const metOrMissed = (ok) => (ok ? '**met**' : '**missed**');

function table(headers, rows) {
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

function coldStartSection(r) {
  const v = Object.fromEntries(r.variants.map((variant) => [variant.key, variant]));
  const rows = r.variants.map((variant) => [
    variant.label,
    ms(variant.medianMs),
    ms(Math.min(...variant.samples)),
    variant.key === 'floor' ? '0' : ms(variant.medianMs - v.floor.medianMs),
    x(variant.medianMs / v.floor.medianMs),
  ]);
  const lines = [
    '## 1. Handler cold start',
    '',
    `Time from spawning a fresh \`node\` process that runs the handler on a Create event (5 images) to the arrival of its first`,
    `BatchDeleteImage request at a local endpoint; ${r.repetitions} repetitions, the four handlers interleaved in each.`,
    '',
    table(['handler', 'median ms', 'min ms', 'over floor ms', '× floor'], rows),
    '',
    `- Our bundle, assets/handler/index.js: **${r.bundleBytes.toLocaleString('en-US')} bytes**; the SDK floor bundle (d): ${r.sdkFloorBytes.toLocaleString('en-US')} bytes;`,
    `  AwsCustomResource's handler file: ${r.awsCustomResourceHandlerBytes.toLocaleString('en-US')} bytes, plus the SDK it loads from node_modules.`,
    `- (a)−(c) = ${ms(r.oursOverFloorMs)} ms vs (b)−(c) = ${ms(r.theirsOverFloorMs)} ms: ratio **${x(r.overheadRatio)}** (goal ≤ 0.5): ${metOrMissed(r.goals.overheadAtMostHalf)};`,
    `  the median of the same ratio taken per repetition is ${x(r.pairedOverheadRatio)}.`,
    `- (a)/(c) = **${x(r.oursToFloor)}** (goal ≤ 1.5): ${metOrMissed(r.goals.atMost1_5xFloor)}; per repetition, median ${x(r.pairedOursToFloor)}.`,
    `- (d)/(c) = ${x(r.sdkFloorToFloor)}: the SDK alone, one client and one call with nothing of ours, costs that much; (a)−(d) = ${ms(r.oursOverSdkFloorMs)} ms separates our handler from it.`,
  ];
  if (!r.goals.atMost1_5xFloor && r.sdkFloorToFloor > 1.5) {
    lines.push(
      `  Since (d) is already above 1.5 × (c), no handler that calls ECR Public through @aws-sdk/client-ecr-public can meet the 1.5 × goal`,
      '  on this machine: see bench/README.md for where the time goes.',
    );
  }
  return lines.join('\n');
}

function throughputSection(r) {
  const rows = r.rows.map((row) => [
    row.count.toLocaleString('en-US'),
    row.batches,
    ms(row.limitMs),
    ms(row.handlerMs),
    x(row.limitOverActual),
    ms(row.handlerEndToEndMs),
    ms(row.executeMs),
    ms(row.sequentialComputedMs),
    ms(row.sequentialMs),
    x(row.speedupOverSequential),
    row.inFlightPeak,
    x(row.maxRssMiB, 1),
  ]);
  const largest = r.rows[r.rows.length - 1];
  return [
    '## 2. Deletion throughput',
    '',
    `The shipped handler on a Create event with N declared images, against a local endpoint that answers every BatchDeleteImage`,
    `after ${r.delayMs} ms, reporting all IDs deleted; concurrency ${r.concurrency} (DEFAULT_CONCURRENCY in lambda/execute.ts);`,
    `${r.repetitions} repetitions, medians. "limit" is ceil(N/100) × ${r.delayMs} ms / ${r.concurrency}; "handler" is the durationMs of the`,
    `handler's log line (plan, calls, summary; the SDK's first-call set-up included); "deleteImages" runs lambda/execute.ts alone,`,
    `at concurrency ${r.concurrency} and at 1 (one batch at a time), in a fresh process each time. Peak RSS is the handler process's`,
    'process.resourceUsage().maxRSS, largest of the repetitions.',
    '',
    table(
      [
        'N',
        'calls',
        'limit ms',
        'handler ms',
        'limit / handler',
        'end-to-end ms',
        `deleteImages c=${r.concurrency} ms`,
        'sequential computed ms',
        'sequential measured ms',
        'speed-up vs sequential',
        'peak in flight',
        'peak RSS MiB',
      ],
      rows,
    ),
    '',
    `- At N = ${largest.count.toLocaleString('en-US')}: limit / handler = **${x(largest.limitOverActual)}** (goal ≥ 0.8): ${metOrMissed(r.goals.limitOverActualAtLargest)};`,
    `  peak RSS **${x(largest.maxRssMiB, 1)} MiB** (goal < 128 MB): ${metOrMissed(r.goals.rssUnder128MiBAtLargest)}.`,
    ...r.rows
      .filter((row) => row.roundsLimitMs > row.limitMs)
      .map(
        (row) =>
          `- At N = ${row.count.toLocaleString('en-US')} the ${row.batches} call${row.batches > 1 ? 's' : ''} take${row.batches > 1 ? '' : 's'} ` +
          `${Math.ceil(row.batches / r.concurrency)} round${row.batches > r.concurrency ? 's' : ''} of at most ${r.concurrency}: ` +
          `the reachable bound is ${ms(row.roundsLimitMs)} ms, not ${ms(row.limitMs)} ms.`,
      ),
    '- Request-rate quota: the ECR Public service-quotas page',
    `  (${QUOTA_SOURCE}) publishes no rate for`,
    '  BatchDeleteImage. Its rate quotas cover the push and authentication APIs only; the lowest is 10 per second',
    '  (CompleteLayerUpload). Throttled calls are retried by the SDK (standard retry strategy, MAX_ATTEMPTS in lambda/client.ts).',
    `  With ${r.concurrency} calls in flight the handler sends ${r.concurrency} / latency calls per second: ` +
      `${Math.round((r.concurrency * 1000) / r.delayMs)}/s against this ${r.delayMs} ms endpoint, ` +
      `about ${Math.round((r.concurrency * 1000) / 300)}/s at a 300 ms API latency.`,
  ].join('\n');
}

/** Where a goal was missed: " (at 1 instance; see bench/README.md)", or nothing. */
function losing(counts) {
  if (counts.length === 0) return '';
  return ` (at ${counts.join(', ')} instance${counts.length > 1 || counts[0] !== 1 ? 's' : ''}; see bench/README.md)`;
}

function synthSection(r) {
  const rows = r.rows.map((row) => [
    row.count,
    row.variant === 'ours' ? 'EcrPublicImageDeletion' : 'AwsCustomResource',
    ms(row.synthMs),
    ms(row.constructAndSynthMs),
    row.templateBytes.toLocaleString('en-US'),
    Math.round(row.bytesPerInstance).toLocaleString('en-US'),
    row.functions,
    row.resources,
  ]);
  const compare = r.counts.map((count) => {
    const ours = r.rows.find((row) => row.variant === 'ours' && row.count === count);
    const theirs = r.rows.find((row) => row.variant === 'awsCustomResource' && row.count === count);
    return [
      count,
      x(ours.synthMs / theirs.synthMs),
      x(ours.constructAndSynthMs / theirs.constructAndSynthMs),
      x(ours.bytesPerInstance / theirs.bytesPerInstance),
    ];
  });
  return [
    '## 3. Synth scaling',
    '',
    `A stack with 1, 10 and 100 deletions of ${r.images} images each, as EcrPublicImageDeletion and as AwsCustomResource (onCreate and`,
    `onDelete calling ecr-public BatchDeleteImage, policy scoped to the same repository ARN, installLatestAwsSdk: false). Both built`,
    `and synthesized in one process, interleaved; medians of ${Object.entries(r.repetitions)
      .map(([count, n]) => `${n} repetitions at ${count}`)
      .join(', ')}`,
    '(a stack of one synthesizes in about 10 ms, where noise is as large as the difference). "synth" is app.synth(); template',
    'bytes are the template file written to the cloud assembly.',
    '',
    table(
      ['instances', 'written with', 'synth ms', 'construct + synth ms', 'template bytes', 'bytes / instance', 'Lambda functions', 'resources'],
      rows,
    ),
    '',
    table(['instances', 'synth time ours / theirs', 'construct + synth ours / theirs', 'bytes per instance ours / theirs'], compare),
    '',
    `- Each further instance adds ${Math.round(r.marginalBytesPerInstance.ours)} bytes with EcrPublicImageDeletion and ${Math.round(r.marginalBytesPerInstance.awsCustomResource)} bytes with AwsCustomResource`,
    `  (difference between the largest and the smallest stack, per instance).`,
    `- One Lambda function whatever the count: ${metOrMissed(r.goals.oneFunction)}.`,
    `- Synth time at most AwsCustomResource's at every count: ${metOrMissed(r.goals.synthTimeAtMost)}${losing(r.goals.synthLosingCounts)}.`,
    `- Template bytes per instance at most AwsCustomResource's at every count: ${metOrMissed(r.goals.bytesPerInstanceAtMost)}${losing(r.goals.bytesLosingCounts)}.`,
  ].join('\n');
}

function selectionLabel(row) {
  if (row.match !== 'untagged') return `${row.match}`;
  return row.taggedEvery === 1 ? 'untagged, every index tagged' : `untagged, 1 index in ${row.taggedEvery} tagged`;
}

function selectionSection(r) {
  const s = (v) => (Number.isFinite(v) ? (v / 1000).toFixed(1) : '–');
  const rows = r.rows.map((row) => [
    selectionLabel(row),
    row.count.toLocaleString('en-US'),
    row.repetitions,
    row.pages,
    row.calls,
    row.refused.toLocaleString('en-US'),
    `${row.deleted.toLocaleString('en-US')} / ${row.remaining.toLocaleString('en-US')}`,
    s(row.limitMs),
    s(row.handlerMs),
    x(row.limitOverActual),
    s(row.listBusyMs),
    s(row.deleteBusyMs),
    s(row.cpuMs),
    x(row.maxRssMiB, 1),
    s(row.scaledMs),
    Math.round(row.breakEvenLatencyMs),
  ]);
  const largestN = Math.max(...r.rows.map((row) => row.count));
  const largestCount = largestN.toLocaleString('en-US');
  const largest = r.rows.filter((row) => row.count === largestN);
  const worst = (key) => largest.reduce((a, b) => (b[key] > a[key] ? b : a));
  const slowest = worst('handlerMs');
  const biggest = worst('maxRssMiB');
  const slowestScaled = worst('scaledMs');
  const seconds = (v) => `${(v / 1000).toFixed(1)} s`;
  return [
    '## 4. Selection at scale',
    '',
    `The shipped handler on a Create event with a selection and no image IDs, against a local ECR Public repository of N images`,
    `(the emulator in local/ecr-public) that answers each DescribeImages page after ${r.describeDelayMs} ms and each BatchDeleteImage after`,
    `${r.deleteDelayMs} ms, applying the deletions and refusing, as ECR Public does, an image that a remaining index references`,
    `(ImageReferencedByManifestList). The repositories are buildx pushes: one image index (20% of the images) and its four untagged`,
    `children (platforms, attestations) per push. The handler process runs with the heap limits Lambda's Node.js bootstrap sets for`,
    `a ${r.memoryMiB} MB function (${r.nodeOptions.join(' ')}). Times in seconds, medians of the runs (a fresh process each).`,
    `"limit" is pages × page delay + calls × delete delay / ${r.concurrency}, the time the calls alone take at DEFAULT_CONCURRENCY;`,
    `"handler" is the durationMs of the handler's log line;`,
    '"listing" and "deleting" are the time the endpoint had a call of that kind in flight; "CPU" is the handler process\'s user +',
    'system time; peak RSS is its process.resourceUsage().maxRSS, the largest of the runs.',
    `"At ${r.scaledLatencyMs} ms" estimates the same run against an API answering every call in ${r.scaledLatencyMs} ms, on a ${r.memoryMiB} MB function:`,
    `the calls at that latency plus the CPU time divided by the function's share of a vCPU (${r.memoryMiB} / ${r.oneVcpuMiB} = ${x(r.cpuShare)}), assuming no`,
    `overlap. "Break-even" is the latency per call at which that estimate reaches ${seconds(r.workBudgetMs)}, where the handler stops to answer`,
    `CloudFormation (timeout ${seconds(r.timeoutMs)} less lambda/index.ts's reserve).`,
    '',
    table(
      [
        'selection',
        'N',
        'runs',
        'DescribeImages pages',
        'BatchDeleteImage calls',
        'refused',
        'deleted / left',
        'limit s',
        'handler s',
        'limit / handler',
        'listing s',
        'deleting s',
        'CPU s',
        'peak RSS MiB',
        `at ${r.scaledLatencyMs} ms s`,
        'break-even ms',
      ],
      rows,
    ),
    '',
    `- Within the function's timeout at ${largestCount} (slowest: ${selectionLabel(slowest)}, ${seconds(slowest.handlerMs)} of ${seconds(r.workBudgetMs)}): ` +
      `${metOrMissed(r.goals.withinTimeout)}.`,
    `- Within its memory, ${r.memoryMiB} MB, at ${largestCount} (largest: ${selectionLabel(biggest)}, ${x(biggest.maxRssMiB, 1)} MiB): ${metOrMissed(r.goals.withinMemory)}.`,
    `- Estimated at ${r.scaledLatencyMs} ms per call on a ${r.memoryMiB} MB function (slowest: ${selectionLabel(slowestScaled)}, ${seconds(slowestScaled.scaledMs)}): ` +
      `${metOrMissed(r.goals.scaledWithinTimeout)}. ECR Public's own latency per call is not measured here; "break-even" is how slow it may be.`,
    '- For "all", the calls are ceil(N / 100): the indexes\' batches first, then the other images\'; a DescribeImages page holds 1,000 images.',
  ].join('\n');
}

async function main() {
  const asked = process.argv.slice(2);
  const which = asked.length ? asked : ALL;
  for (const name of which) {
    if (!ALL.includes(name)) throw new Error(`unknown benchmark "${name}" (expected: ${ALL.join(', ')})`);
  }
  for (const built of ['assets/handler/index.js', 'lib/index.js']) {
    if (!existsSync(path.join(ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` first`);
  }
  // The handlers and synth must not see the caller's AWS settings.
  for (const key of Object.keys(process.env)) if (key.startsWith('AWS_')) delete process.env[key];
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

  const started = performance.now();
  const loadBefore = os.loadavg();
  const log = (line) => console.log(line);
  const sections = [];
  if (which.includes('cold')) {
    log('cold start…');
    sections.push(coldStartSection(await require('./cold-start').coldStart({ repetitions: REPETITIONS.cold, log })));
  }
  if (which.includes('throughput')) {
    log('deletion throughput…');
    sections.push(throughputSection(await require('./throughput').throughput({ repetitions: REPETITIONS.throughput, log })));
  }
  if (which.includes('synth')) {
    log('synth scaling…');
    sections.push(synthSection(await require('./synth').synthScaling({ log })));
  }
  if (which.includes('selection')) {
    log('selection at scale…');
    sections.push(selectionSection(await require('./selection-scale').selectionScale({ log })));
  }
  const loadAfter = os.loadavg();
  const cpus = os.cpus();
  const command = which.length === ALL.length ? 'npm run bench' : `node bench/run.js ${which.join(' ')}`;
  const header = [
    '# Benchmark results',
    '',
    `Written by \`${command}\` (bench/run.js); what each benchmark measures and how: bench/README.md.`,
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Node ${process.version} on ${os.platform()} ${os.arch()}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? 'unknown model'})`,
    `- Load average (1 min) before / after: ${x(loadBefore[0])} / ${x(loadAfter[0])}; the run took ${Math.round((performance.now() - started) / 1000)} s.`,
    '  Other work on the machine widens the spread of the cold-start figures; the comparisons are ratios of',
    '  interleaved runs for that reason.',
  ].join('\n');
  const report = [header, ...sections].join('\n\n') + '\n';
  console.log(`\n${report}`);
  if (which.length === ALL.length) {
    writeFileSync(RESULTS, report);
    console.log(`wrote ${path.relative(ROOT, RESULTS)}`);
  } else {
    console.log('(a partial run: bench/RESULTS.md is left as it was)');
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

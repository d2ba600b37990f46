// `npm run bench`: runs the five benchmarks (cold start, deletion throughput,
// synth scaling, selection at scale, multi-arch reads at scale), prints their
// tables and writes bench/RESULTS.md. What each measures, and how:
// bench/README.md. Needs `npm run build` first (the handler bundle and lib/*.js).
// Only loopback traffic: every endpoint is a server this process starts on 127.0.0.1.
//
//   node bench/run.js                 all five
//   node bench/run.js cold synth      some of them (cold, throughput, synth, selection, multiarch)
'use strict';
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const ROOT = path.join(__dirname, '..');
const RESULTS = path.join(__dirname, 'RESULTS.md');

const ms = (v) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const s = (v) => (Number.isFinite(v) ? (v / 1000).toFixed(1) : '–');
const x = (v, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
const n = (v) => v.toLocaleString('en-US');
const goal = (ok) => (ok ? 'met' : '**missed**');

/** A Markdown table from its column names and rows. */
function table(columns) {
  return (rows) =>
    [
      `| ${Object.keys(columns).join(' | ')} |`,
      `|${Object.keys(columns)
        .map(() => '---')
        .join('|')}|`,
      ...rows.map(
        (row) =>
          `| ${Object.values(columns)
            .map((cell) => cell(row))
            .join(' | ')} |`,
      ),
    ].join('\n');
}

/** One section: its title (numbered as in bench/README.md), its tables and its figures. */
const section = (title, ...parts) =>
  [`## ${title}`, '', 'Method: bench/README.md, "What each one measures".', '', ...parts.flatMap((part) => [part, ''])].join('\n').trimEnd();
const bullets = (lines) =>
  lines
    .filter(Boolean)
    .map((line) => `- ${line}`)
    .join('\n');

function cold(r) {
  const floor = r.variants.find((v) => v.key === 'floor').medianMs;
  return section(
    `1. Handler cold start (${r.repetitions} repetitions, interleaved)`,
    table({
      handler: (v) => v.label,
      'median ms': (v) => ms(v.medianMs),
      'min ms': (v) => ms(Math.min(...v.samples)),
      'over floor ms': (v) => ms(v.medianMs - floor),
      '× floor': (v) => x(v.medianMs / floor),
      bytes: (v) => n(v.bytes),
    })(r.variants),
    bullets([
      `(a)−(c) / (b)−(c) = ${ms(r.oursOverFloorMs)} / ${ms(r.theirsOverFloorMs)} ms = **${x(r.overheadRatio)}** (goal ≤ 0.5: ${goal(r.goals.overheadAtMostHalf)}); per repetition, median ${x(r.pairedOverheadRatio)}.`,
      `(a)/(c) = **${x(r.oursToFloor)}** (goal ≤ 1.5: ${goal(r.goals.atMost1_5xFloor)}); per repetition, median ${x(r.pairedOursToFloor)}.`,
      `(d)/(c) = ${x(r.sdkFloorToFloor)}: the SDK alone; (a)−(d) = ${ms(r.oursOverSdkFloorMs)} ms is what our handler adds to it.`,
      `AwsCustomResource's handler file: ${n(r.awsCustomResourceHandlerBytes)} bytes, plus the SDK it loads from node_modules.`,
    ]),
  );
}

function throughput(r) {
  const largest = r.rows[r.rows.length - 1];
  return section(
    `2. Deletion throughput (${r.delayMs} ms a call, concurrency ${r.concurrency}, medians of ${r.repetitions})`,
    table({
      N: (row) => n(row.count),
      calls: (row) => row.batches,
      'limit ms': (row) => ms(row.limitMs),
      'handler ms': (row) => ms(row.handlerMs),
      'limit / handler': (row) => x(row.limitOverActual),
      'end-to-end ms': (row) => ms(row.handlerEndToEndMs),
      [`deleteImages c=${r.concurrency} ms`]: (row) => ms(row.executeMs),
      'sequential computed ms': (row) => ms(row.sequentialComputedMs),
      'sequential measured ms': (row) => ms(row.sequentialMs),
      'speed-up vs sequential': (row) => x(row.speedupOverSequential),
      'peak in flight': (row) => row.inFlightPeak,
      'peak RSS MiB': (row) => x(row.maxRssMiB, 1),
    })(r.rows),
    bullets([
      `At N = ${n(largest.count)}: limit / handler = **${x(largest.limitOverActual)}** (goal ≥ 0.8: ${goal(r.goals.limitOverActualAtLargest)}); peak RSS **${x(largest.maxRssMiB, 1)} MiB** (goal < 128 MB: ${goal(r.goals.rssUnder128MiBAtLargest)}).`,
      ...r.rows
        .filter((row) => row.roundsLimitMs > row.limitMs)
        .map(
          (row) =>
            `At N = ${n(row.count)}, ${row.batches} calls in rounds of at most ${r.concurrency}: the reachable bound is ${ms(row.roundsLimitMs)} ms, not ${ms(row.limitMs)} ms.`,
        ),
      `${r.concurrency} calls in flight send ${Math.round((r.concurrency * 1000) / r.delayMs)} calls/s here, about ${Math.round((r.concurrency * 1000) / 300)}/s at a 300 ms API latency; ECR Public publishes no rate quota for BatchDeleteImage.`,
    ]),
  );
}

function synth(r) {
  const pair = (count) => ({
    count,
    ours: r.rows.find((row) => row.variant === 'ours' && row.count === count),
    theirs: r.rows.find((row) => row.variant === 'awsCustomResource' && row.count === count),
  });
  const at = (counts) => (counts.length ? ` (losing at ${counts.join(', ')} instances)` : '');
  return section(
    `3. Synth scaling (${r.images} images an instance; medians of ${Object.entries(r.repetitions)
      .map(([count, reps]) => `${reps} at ${count}`)
      .join(', ')})`,
    table({
      instances: (row) => row.count,
      'written with': (row) => (row.variant === 'ours' ? 'EcrPublicImageDeletion' : 'AwsCustomResource'),
      'synth ms': (row) => ms(row.synthMs),
      'construct + synth ms': (row) => ms(row.constructAndSynthMs),
      'template bytes': (row) => n(row.templateBytes),
      'bytes / instance': (row) => n(Math.round(row.bytesPerInstance)),
      'Lambda functions': (row) => row.functions,
      resources: (row) => row.resources,
    })(r.rows),
    table({
      instances: (p) => p.count,
      'synth time ours / theirs': (p) => x(p.ours.synthMs / p.theirs.synthMs),
      'construct + synth ours / theirs': (p) => x(p.ours.constructAndSynthMs / p.theirs.constructAndSynthMs),
      'bytes per instance ours / theirs': (p) => x(p.ours.bytesPerInstance / p.theirs.bytesPerInstance),
    })(r.counts.map(pair)),
    bullets([
      `A further instance adds ${Math.round(r.marginalBytesPerInstance.ours)} bytes (EcrPublicImageDeletion) and ${Math.round(r.marginalBytesPerInstance.awsCustomResource)} bytes (AwsCustomResource).`,
      `Goals: one Lambda function whatever the count, ${goal(r.goals.oneFunction)}; synth time at most AwsCustomResource's, ${goal(r.goals.synthTimeAtMost)}${at(r.goals.synthLosingCounts)}; template bytes per instance at most AwsCustomResource's, ${goal(r.goals.bytesPerInstanceAtMost)}${at(r.goals.bytesLosingCounts)}.`,
    ]),
  );
}

const selectionLabel = (row) =>
  row.match !== 'untagged' ? row.match : row.taggedEvery === 1 ? 'untagged, every index tagged' : `untagged, 1 index in ${row.taggedEvery} tagged`;

function selection(r) {
  const largestN = Math.max(...r.rows.map((row) => row.count));
  const worst = (key) => r.rows.filter((row) => row.count === largestN).reduce((a, b) => (b[key] > a[key] ? b : a));
  return section(
    `4. Selection at scale (pages ${r.describeDelayMs} ms, deletions ${r.deleteDelayMs} ms, a ${r.memoryMiB} MB function: ${r.nodeOptions.join(' ')}; times in s)`,
    table({
      selection: selectionLabel,
      N: (row) => n(row.count),
      runs: (row) => row.repetitions,
      'DescribeImages pages': (row) => row.pages,
      'BatchDeleteImage calls': (row) => row.calls,
      refused: (row) => n(row.refused),
      'deleted / left': (row) => `${n(row.deleted)} / ${n(row.remaining)}`,
      'limit s': (row) => s(row.limitMs),
      'handler s': (row) => s(row.handlerMs),
      'limit / handler': (row) => x(row.limitOverActual),
      'listing s': (row) => s(row.listBusyMs),
      'deleting s': (row) => s(row.deleteBusyMs),
      'CPU s': (row) => s(row.cpuMs),
      'peak RSS MiB': (row) => x(row.maxRssMiB, 1),
      [`at ${r.scaledLatencyMs} ms s`]: (row) => s(row.scaledMs),
      'break-even ms': (row) => Math.round(row.breakEvenLatencyMs),
    })(r.rows),
    bullets([
      `Work budget ${s(r.workBudgetMs)} s of the ${s(r.timeoutMs)} s timeout; CPU share ${r.memoryMiB} / ${r.oneVcpuMiB} = ${x(r.cpuShare)}.`,
      `At ${n(largestN)}: within the timeout (slowest: ${selectionLabel(worst('handlerMs'))}, ${s(worst('handlerMs').handlerMs)} s), ${goal(r.goals.withinTimeout)}; within ${r.memoryMiB} MB (largest: ${selectionLabel(worst('maxRssMiB'))}, ${x(worst('maxRssMiB').maxRssMiB, 1)} MiB), ${goal(r.goals.withinMemory)}; estimated within the timeout at ${r.scaledLatencyMs} ms a call (slowest: ${selectionLabel(worst('scaledMs'))}, ${s(worst('scaledMs').scaledMs)} s), ${goal(r.goals.scaledWithinTimeout)}.`,
    ]),
  );
}

function multiarch(r) {
  const b = r.readsWithinBudget;
  const failedClosed = r.rows.filter((row) => !row.decided);
  return section(
    `5. Multi-architecture reads at scale (pages ${r.describeDelayMs} ms, deletions ${r.deleteDelayMs} ms, manifest reads ${r.manifestDelayMs} ms, ${r.readers} readers; times in s)`,
    table({
      selection: (row) => row.label,
      N: (row) => n(row.count),
      indexes: (row) => n(row.indexes),
      'manifest reads': (row) => n(row.reads),
      'reads in flight (peak)': (row) => row.readsInFlightPeak,
      'reading s': (row) => s(row.readBusyMs),
      'calls alone s': (row) => s(row.limitMs),
      'handler s': (row) => s(row.handlerMs),
      'calls alone / handler': (row) => x(row.limitOverActual),
      'deleted / kept as referenced / kept as unknown': (row) => `${n(row.deleted)} / ${n(row.keptReferenced)} / ${n(row.keptUnknown)}`,
      [`at ${r.pullsPerSecond.anonymous} pull/s s`]: (row) => s(row.anonymousQuotaMs),
      [`at ${r.pullsPerSecond.authenticated} pulls/s s`]: (row) => s(row.authenticatedQuotaMs),
    })(r.rows),
    bullets([
      `Reads that fit the read budget (${s(r.readBudgetMs)} s of ${s(r.workBudgetMs)} s): ${n(b.atLatency)} at ${r.manifestDelayMs} ms a read; ${n(b.anonymous)} at the unauthenticated quota; ${n(b.authenticated)} at the authenticated one.`,
      failedClosed.length
        ? `Failed closed: ${failedClosed.map((row) => `${row.label} at N=${n(row.count)} kept ${n(row.keptUnknown)} images as unknown`).join('; ')}; nothing a kept index references was deleted.`
        : 'Every run read every manifest it needed within the budget.',
    ]),
  );
}

const BENCHMARKS = {
  cold: () => require('./cold-start').coldStart({ repetitions: 21, log: console.log }).then(cold),
  throughput: () => require('./throughput').throughput({ repetitions: 7, log: console.log }).then(throughput),
  synth: () => require('./synth').synthScaling({ log: console.log }).then(synth),
  selection: () => require('./selection-scale').selectionScale({ log: console.log }).then(selection),
  multiarch: () => require('./multiarch-scale').multiarchScale({ log: console.log }).then(multiarch),
};

async function main() {
  const all = Object.keys(BENCHMARKS);
  const which = process.argv.length > 2 ? process.argv.slice(2) : all;
  const unknown = which.filter((name) => !all.includes(name));
  if (unknown.length) throw new Error(`unknown benchmark "${unknown[0]}" (expected: ${all.join(', ')})`);
  for (const built of ['assets/handler/index.js', 'lib/index.js']) {
    if (!existsSync(path.join(ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` first`);
  }
  // The handlers and synth must not see the caller's AWS settings.
  for (const key of Object.keys(process.env)) if (key.startsWith('AWS_')) delete process.env[key];
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

  const started = performance.now();
  const loadBefore = os.loadavg()[0];
  const sections = [];
  for (const name of which) sections.push(await BENCHMARKS[name]());
  const cpus = os.cpus();
  const header = [
    '# Benchmark results',
    '',
    `Written by \`${which.length === all.length ? 'npm run bench' : `node bench/run.js ${which.join(' ')}`}\`; what each benchmark measures and how: bench/README.md.`,
    '',
    `- ${new Date().toISOString()}; Node ${process.version} on ${os.platform()} ${os.arch()}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? 'unknown model'}).`,
    `- Load average (1 min) before / after: ${x(loadBefore)} / ${x(os.loadavg()[0])}; the run took ${Math.round((performance.now() - started) / 1000)} s.`,
  ].join('\n');
  const report = [header, ...sections, ...handWritten()].join('\n\n') + '\n';
  console.log(`\n${report}`);
  if (which.length === all.length) {
    writeFileSync(RESULTS, report);
    console.log(`wrote ${path.relative(ROOT, RESULTS)}`);
  } else {
    console.log('(a partial run: bench/RESULTS.md is left as it was)');
  }
}

/**
 * The sections of bench/RESULTS.md written by hand (their first line says "Written by hand": benchmarks too long for
 * `npm run bench`, such as bench/quota-scale.js), kept as they are when the others are written anew.
 */
function handWritten() {
  if (!existsSync(RESULTS)) return [];
  return readFileSync(RESULTS, 'utf8')
    .split(/^(?=## )/m)
    .filter((section) => /^## [^\n]*\n\nWritten by hand/.test(section))
    .map((section) => section.trimEnd());
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

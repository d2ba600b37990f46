// Cold start: from spawning a fresh Node process that runs a handler on a
// Create event to the arrival of its first BatchDeleteImage request at the
// local ECR Public (the emulator, bench/local-ecr-public.js). Four handlers, interleaved in every repetition: (a) our bundle,
// (b) aws-cdk-lib's AwsCustomResource handler with the installed
// @aws-sdk/client-ecr-public, (c) a floor that sends one plain HTTP POST, and
// (d) the SDK floor: one client and one call, bundled like (a).
//
//   node bench/cold-start.js [repetitions] [other-bundle.js …]
// adds each other bundle (e.g. the handler built from another commit) as a
// further handler, run on (a)'s event.
'use strict';
const { mkdtempSync, rmSync, statSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { pathToFileURL } = require('node:url');
const { build } = require('esbuild');
const { startBenchEcrPublic, benchTaggedImages } = require('./local-ecr-public');
const { oursCreateEvent, awsCustomResourceCreateEvent } = require('./events');
const { median, runNode, lambdaEnv } = require('./stats');

const ROOT = path.join(__dirname, '..');
const RUNNER = path.join(__dirname, 'invoke.js');
const OUR_BUNDLE = path.join(ROOT, 'assets', 'handler', 'index.js');
/**
 * aws-cdk-lib's handler, run in place: its `require('@aws-sdk/client-ecr-public')`
 * finds ROOT/node_modules, as on Lambda it finds the runtime's SDK.
 */
const AWS_CUSTOM_RESOURCE_HANDLER = path.join(
  path.dirname(require.resolve('aws-cdk-lib/package.json')),
  'custom-resource-handlers',
  'dist',
  'custom-resources',
  'aws-custom-resource-handler',
  'index.js',
);
const FLOOR_HANDLER = path.join(__dirname, 'floor-handler.js');
const IMAGES = 5;
const REPOSITORY = 'bench/repo';

/** Bundles bench/sdk-floor-entry.mjs with the handler's esbuild options. */
async function bundleSdkFloor(dir) {
  const { handlerBuildOptions } = await import(pathToFileURL(path.join(ROOT, 'lambda', 'bundle-options.mjs')).href);
  const outfile = path.join(dir, 'sdk-floor.js');
  await build(handlerBuildOptions(path.join(__dirname, 'sdk-floor-entry.mjs'), outfile));
  return outfile;
}

/** One run: milliseconds from spawn to the first BatchDeleteImage call. */
async function measureOnce(server, variant, repetition) {
  const requestId = `cold-${variant.key}-${repetition}`;
  // The event is built beforehand: nothing but the spawn happens in the parent while the clock runs.
  const input = JSON.stringify({
    event: { ...variant.event, RequestId: requestId, ResponseURL: server.responseUrl(requestId) },
    remainingMs: 300_000,
  });
  const env = lambdaEnv(server.env);
  server.load(REPOSITORY, benchTaggedImages(IMAGES));
  const arrival = server.nextDelete();
  const started = performance.now();
  const run = runNode([RUNNER, variant.file], { env, input, timeoutMs: 30_000 });
  const first = await Promise.race([arrival, run.then(() => undefined)]);
  const result = await run;
  if (first === undefined) {
    throw new Error(`cold start (${variant.key}): the handler made no BatchDeleteImage call\n${result.stdout}\n${result.stderr}`);
  }
  return first - started;
}

async function coldStart({ repetitions = 15, otherBundles = [], log = () => {} } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-cold-start-'));
  const server = await startBenchEcrPublic();
  try {
    const sdkFloor = await bundleSdkFloor(dir);
    const oursEvent = oursCreateEvent(REPOSITORY, IMAGES, 'http://127.0.0.1/unset', 'unset');
    const variants = [
      { key: 'ours', label: '(a) EcrPublicImageDeletion handler (our bundle)', file: OUR_BUNDLE, event: oursEvent },
      {
        key: 'awsCustomResource',
        label: "(b) AwsCustomResource's handler + installed SDK",
        file: AWS_CUSTOM_RESOURCE_HANDLER,
        event: awsCustomResourceCreateEvent(REPOSITORY, IMAGES, 'http://127.0.0.1/unset', 'unset'),
      },
      { key: 'floor', label: '(c) floor: node + one plain HTTP POST', file: FLOOR_HANDLER, event: oursEvent },
      { key: 'sdkFloor', label: '(d) SDK floor: one client, one call, bundled', file: sdkFloor, event: oursEvent },
      ...otherBundles.map((file, i) => ({ key: `other${i + 1}`, label: `(other) ${file}`, file: path.resolve(file), event: oursEvent })),
    ];
    const samples = Object.fromEntries(variants.map((v) => [v.key, []]));
    // One unmeasured round warms the file cache for every handler.
    for (const variant of variants) await measureOnce(server, variant, 'warm-up');
    for (let r = 0; r < repetitions; r++) {
      for (const variant of variants) samples[variant.key].push(await measureOnce(server, variant, r));
      log(`  cold start ${r + 1}/${repetitions}: ${variants.map((v) => `${v.key} ${samples[v.key][r].toFixed(1)} ms`).join(', ')}`);
    }
    const medians = Object.fromEntries(variants.map((v) => [v.key, median(samples[v.key])]));
    // The same ratios per repetition (the handlers of one repetition ran back to back), as a check on the medians'.
    const paired = (f) => median(samples.ours.map((_, r) => f(Object.fromEntries(variants.map((v) => [v.key, samples[v.key][r]])))));
    const ours = medians.ours - medians.floor;
    const theirs = medians.awsCustomResource - medians.floor;
    return {
      repetitions,
      bundleBytes: statSync(OUR_BUNDLE).size,
      sdkFloorBytes: statSync(sdkFloor).size,
      awsCustomResourceHandlerBytes: statSync(AWS_CUSTOM_RESOURCE_HANDLER).size,
      variants: variants.map(({ key, label, file }) => ({
        key,
        label,
        bytes: statSync(file).size,
        medianMs: medians[key],
        samples: samples[key],
      })),
      oursOverFloorMs: ours,
      theirsOverFloorMs: theirs,
      overheadRatio: ours / theirs,
      pairedOverheadRatio: paired((r) => (r.ours - r.floor) / (r.awsCustomResource - r.floor)),
      oursToFloor: medians.ours / medians.floor,
      pairedOursToFloor: paired((r) => r.ours / r.floor),
      sdkFloorToFloor: medians.sdkFloor / medians.floor,
      oursOverSdkFloorMs: medians.ours - medians.sdkFloor,
      goals: {
        overheadAtMostHalf: ours <= theirs / 2,
        atMost1_5xFloor: medians.ours <= 1.5 * medians.floor,
      },
    };
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { coldStart };

if (require.main === module) {
  const [repetitions, ...otherBundles] = process.argv.slice(2);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  coldStart({ repetitions: Number(repetitions ?? 15), otherBundles, log: console.log }).then((r) => {
    for (const v of r.variants) {
      const overFloor = v.medianMs - r.variants.find((f) => f.key === 'floor').medianMs;
      console.log(`${v.label}: ${v.bytes} bytes, median ${v.medianMs.toFixed(1)} ms, ${overFloor.toFixed(1)} ms over the floor`);
    }
    const { variants: _variants, ...rest } = r;
    console.log(JSON.stringify(rest, null, 1));
  });
}

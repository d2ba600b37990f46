// The local ECR Public against moto on a typical test workload, in one run:
// per round, a repository, 50 images pushed with PutImage (one to three tags
// each), a full DescribeImages listing, BatchDeleteImage of 10 tags and 10
// digests in one call, and a listing again: 54 requests through the SDK
// client, one at a time, as the tests' seeding and the handler's calls go.
// Reports requests per second and the median round time of each backend (the
// emulator in this process, as the tests start it, and in a child process, as
// moto runs), and the ratios to moto. moto is found as the tests find it (test/support/backends.js:
// $MOTO_PYTHON, .venv, python3); without it, only the emulator is measured.
//   node bench/local-backends.js [rounds]
'use strict';
const { performance } = require('node:perf_hooks');
const {
  BatchDeleteImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  ECRPUBLICClient,
  PutImageCommand,
} = require('@aws-sdk/client-ecr-public');
const { startEcrPublicEmulator, startEcrPublicEmulatorProcess, singleImage } = require('../local/ecr-public');
const { backendMissing, startMoto } = require('../test/support/backends');
const { median } = require('./stats');

const IMAGES = 50;

async function round(client, repositoryName) {
  let requests = 0;
  const send = (command) => {
    requests++;
    return client.send(command);
  };
  await send(new CreateRepositoryCommand({ repositoryName }));
  const digests = [];
  for (let i = 0; i < IMAGES; i++) {
    const imageManifest = singleImage(`${repositoryName}-${i}`).manifest;
    let digest;
    for (const imageTag of [`t${i}`, `t${i}-b`, `t${i}-c`].slice(0, (i % 3) + 1)) {
      digest = (await send(new PutImageCommand({ repositoryName, imageManifest, imageTag }))).image.imageId.imageDigest;
    }
    digests.push(digest);
  }
  await send(new DescribeImagesCommand({ repositoryName }));
  const imageIds = [
    ...digests.slice(0, 10).map((imageDigest) => ({ imageDigest })),
    ...Array.from({ length: 10 }, (_, k) => ({ imageTag: `t${20 + k}` })),
  ];
  await send(new BatchDeleteImageCommand({ repositoryName, imageIds }));
  await send(new DescribeImagesCommand({ repositoryName }));
  return requests;
}

async function measure(label, endpoint, rounds) {
  const client = new ECRPUBLICClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await round(client, `${label}/warm-up`);
  const times = [];
  let requests = 0;
  const started = performance.now();
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    requests += await round(client, `${label}/round-${r}`);
    times.push(performance.now() - t);
  }
  const elapsedMs = performance.now() - started;
  client.destroy();
  return {
    label,
    rounds,
    requests,
    requestsPerSecond: (requests / elapsedMs) * 1000,
    medianRoundMs: median(times),
    meanRequestMs: elapsedMs / requests,
  };
}

async function localBackends({ rounds = 10, log = () => {} } = {}) {
  const results = [];
  const emulator = await startEcrPublicEmulator();
  try {
    results.push(await measure('emulator', emulator.endpoint, rounds));
  } finally {
    await emulator.close();
  }
  // The emulator in its own process, as moto runs: the client's work no longer shares its event loop.
  const child = await startEcrPublicEmulatorProcess();
  try {
    results.push({ ...(await measure('emulator-process', child.endpoint, rounds)) });
  } finally {
    await child.stop();
  }
  const missing = backendMissing('moto');
  if (missing) {
    log(`moto not measured: ${missing}`);
  } else {
    const startedAt = performance.now();
    const moto = await startMoto();
    const motoStartMs = performance.now() - startedAt;
    try {
      results.push({ ...(await measure('moto', moto.endpoint, rounds)), startMs: motoStartMs });
    } finally {
      await moto.stop();
    }
  }
  for (const r of results)
    log(`  ${r.label}: ${r.requestsPerSecond.toFixed(0)} requests/s, median round ${r.medianRoundMs.toFixed(0)} ms (${r.requests} requests)`);
  const [inProcess, ownProcess, moto] = results;
  return {
    results,
    inProcessOverMotoRequestsPerSecond: moto ? inProcess.requestsPerSecond / moto.requestsPerSecond : undefined,
    ownProcessOverMotoRequestsPerSecond: moto ? ownProcess.requestsPerSecond / moto.requestsPerSecond : undefined,
  };
}

module.exports = { localBackends };

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  localBackends({ rounds: Number(process.argv[2] ?? 10), log: console.log }).then((r) => console.log(JSON.stringify(r, null, 1)));
}

// The benchmarks' local ECR Public: the project's emulator (local/ecr-public,
// compiled by `npm run build`) in this process, with a fixed answer delay per
// operation, and the tests' ResponseURL server (test/support/local-cloudformation)
// standing in for CloudFormation. Its recorder gives the arrival time of every
// call; its statistics the calls, the most in flight at once and the time with
// at least one in flight, per operation.
'use strict';
const { startEcrPublicEmulator, buildxIndex, singleImage, MEDIA_TYPES } = require('../local/ecr-public');
const { ResponseServer } = require('../test/support/local-cloudformation');

const isDelete = (request) => request.operation === 'SpencerFrontendService.BatchDeleteImage';

/**
 * Starts the emulator and a ResponseURL server. `delayMs` is the time each call
 * of an operation takes, e.g. `{ DescribeImages: 100, BatchDeleteImage: 50 }`.
 */
async function startBenchEcrPublic({ delayMs = {} } = {}) {
  const emulator = await startEcrPublicEmulator({ apiFaults: { delayMs } });
  const responses = await ResponseServer.start();
  return {
    emulator,
    /** The handler's environment: both endpoints of the emulator. */
    env: { AWS_ENDPOINT_URL_ECR_PUBLIC: emulator.endpoint, ECR_PUBLIC_REGISTRY_ENDPOINT: emulator.registryEndpoint },
    responseUrl: (requestId) => responses.urlFor(requestId),
    /** The body CloudFormation received for a request, if any. */
    response: (requestId) => responses.peek(requestId)?.body,
    /** Replaces the repository's content with `images` (seed builders' output) and clears the statistics and the recorder. */
    load(repositoryName, images) {
      emulator.store.repositories.delete(repositoryName);
      emulator.seed(repositoryName, images);
      emulator.resetStats();
      emulator.store.refused = 0;
    },
    /** performance.now() at the arrival of each BatchDeleteImage call since the last load. */
    deleteArrivals: () => emulator.faults.api.requests.filter(isDelete).map((request) => request.arrivedAt),
    /** Resolves with the arrival time of the next BatchDeleteImage call. */
    nextDelete: () => emulator.faults.api.nextRequest(isDelete).then((request) => request.arrivedAt),
    stats: (operation) => emulator.stats(operation),
    remaining: (repositoryName) => emulator.images(repositoryName).length,
    async close() {
      await responses.close();
      await emulator.close();
    },
  };
}

/** `count` single-platform images tagged bench-0, bench-1, …: what the declared-ID benchmarks delete. */
function benchTaggedImages(count) {
  return Array.from({ length: count }, (_, i) => singleImage(`bench-${i}`, { tags: [`bench-${i}`] }));
}

/**
 * `count` images as `docker buildx build --push` leaves them: groups of five,
 * an OCI image index and the four untagged manifests it references (two
 * platforms, two attestations), so 20% of the images are indexes. One index in
 * `taggedEvery` is tagged (`build-<n>`), by default every other; the others are
 * indexes whose tag moved on to a later push, untagged like their children.
 * Push times one minute apart, oldest first; children one second before their
 * index. A remainder of count / 5 is plain tagged images.
 */
function buildxRepositoryImages(count, { firstPushMs = 1_700_000_000_000, taggedEvery = 2 } = {}) {
  const images = [];
  const groups = Math.floor(count / 5);
  for (let group = 0; group < groups; group++) {
    const tags = group % taggedEvery === 0 ? [`build-${group}`] : [];
    images.push(...buildxIndex(`build-${group}`, { tags, pushedAt: firstPushMs + group * 60_000 }).images);
  }
  for (let plain = groups * 5; plain < count; plain++) {
    images.push(singleImage(`plain-${plain}`, { format: 'oci', tags: [`plain-${plain}`], pushedAt: firstPushMs }));
  }
  return images;
}

module.exports = { startBenchEcrPublic, benchTaggedImages, buildxRepositoryImages, OCI_INDEX: MEDIA_TYPES.ociIndex };

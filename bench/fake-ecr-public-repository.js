// A stand-in for one ECR Public repository on a loopback port, for the
// selection benchmark: unlike fake-ecr-public.js it holds the repository's
// images in memory. DescribeImages pages through them (maxResults 1 to 1000,
// default 100, and a nextToken), with imagePushedAt as epoch seconds, a JSON
// number, as the AWS JSON protocol sends timestamps. BatchDeleteImage applies
// each deletion, and refuses, as ECR Public does, an image that an image index
// still in the repository references (ImageReferencedByManifestList). Each call
// is answered after a fixed delay per operation. It also accepts the custom
// resource's response PUT (the ResponseURL), answers DescribeRepositories, and
// serves the index manifests as the public registry does
// (GET /v2/<path>/manifests/<digest>, for ECR_PUBLIC_REGISTRY_ENDPOINT), each
// read after its own delay.
'use strict';
const { createHash } = require('node:crypto');
const http = require('node:http');
const { performance } = require('node:perf_hooks');

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const REGISTRY_ID = '123456789012';
/** Largest maxResults DescribeImages accepts, and its default (API model). */
const MAX_RESULTS = 1000;
const DEFAULT_RESULTS = 100;
/** Most image IDs one BatchDeleteImage call accepts (API model). */
const MAX_IDS_PER_CALL = 100;

const digestOf = (n) => `sha256:${n.toString(16).padStart(64, '0')}`;

/**
 * `count` images as `docker buildx build --push` leaves them: groups of five,
 * an OCI image index and the four untagged manifests it references (two
 * platforms, two attestations), so 20% of the images are indexes. One index in
 * `taggedEvery` is tagged (`build-<n>`), by default every other; the others are
 * indexes whose tag moved on to a later push, untagged like their children. Push times one minute apart, oldest
 * first; children one second before their index. A remainder of count / 5 is
 * plain tagged images.
 */
function buildxRepositoryImages(count, { firstPushSeconds = 1_700_000_000, taggedEvery = 2 } = {}) {
  const images = [];
  let serial = 0;
  const groups = Math.floor(count / 5);
  for (let group = 0; group < groups; group++) {
    const pushedAt = firstPushSeconds + group * 60 + 0.5;
    const children = [];
    for (let child = 0; child < 4; child++) {
      const digest = digestOf(++serial);
      children.push(digest);
      images.push({ digest, tags: [], mediaType: OCI_MANIFEST, artifactMediaType: OCI_CONFIG, pushedAt: pushedAt - 1, size: 30_000_000 });
    }
    // The index's digest is its manifest's sha256, as the registry reader checks.
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: children.map((digest) => ({ mediaType: OCI_MANIFEST, digest, size: 1600 })),
    });
    ++serial;
    images.push({
      digest: `sha256:${createHash('sha256').update(manifest).digest('hex')}`,
      tags: group % taggedEvery === 0 ? [`build-${group}`] : [],
      mediaType: OCI_INDEX,
      pushedAt,
      size: 0,
      references: children,
      manifest,
    });
  }
  for (let plain = groups * 5; plain < count; plain++) {
    const digest = digestOf(++serial);
    images.push({
      digest,
      tags: [`plain-${plain}`],
      mediaType: OCI_MANIFEST,
      artifactMediaType: OCI_CONFIG,
      pushedAt: firstPushSeconds,
      size: 30_000_000,
    });
  }
  return images;
}

/** The repository: images in push order, looked up by digest and by tag; how many live indexes reference each digest. */
class Repository {
  constructor(name, images) {
    this.name = name;
    this.order = images.map((image) => image.digest);
    this.byDigest = new Map(images.map((image) => [image.digest, { ...image, tags: [...image.tags] }]));
    this.byTag = new Map();
    this.referencedBy = new Map();
    for (const image of this.byDigest.values()) {
      for (const tag of image.tags) this.byTag.set(tag, image);
      for (const child of image.references ?? []) this.referencedBy.set(child, (this.referencedBy.get(child) ?? 0) + 1);
    }
  }

  describe(maxResults, nextToken) {
    let position = nextToken === undefined ? 0 : Number(Buffer.from(nextToken, 'base64url').toString('utf8').replace(/^at:/, ''));
    const imageDetails = [];
    while (position < this.order.length && imageDetails.length < maxResults) {
      const image = this.byDigest.get(this.order[position++]);
      if (!image) continue;
      imageDetails.push({
        registryId: REGISTRY_ID,
        repositoryName: this.name,
        imageDigest: image.digest,
        ...(image.tags.length > 0 ? { imageTags: image.tags } : {}),
        imageSizeInBytes: image.size,
        imagePushedAt: image.pushedAt,
        imageManifestMediaType: image.mediaType,
        ...(image.artifactMediaType ? { artifactMediaType: image.artifactMediaType } : {}),
      });
    }
    while (position < this.order.length && !this.byDigest.has(this.order[position])) position++;
    const more = position < this.order.length;
    return { imageDetails, ...(more ? { nextToken: Buffer.from(`at:${position}`).toString('base64url') } : {}) };
  }

  /** One image ID of a BatchDeleteImage call: { deleted: [...] } or { failure }. */
  deleteOne(imageId) {
    const image = imageId.imageDigest !== undefined ? this.byDigest.get(imageId.imageDigest) : this.byTag.get(imageId.imageTag);
    if (!image || (imageId.imageTag !== undefined && !image.tags.includes(imageId.imageTag))) {
      return { failure: { imageId, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' } };
    }
    if (imageId.imageDigest === undefined && image.tags.length > 1) {
      // A tag of an image that keeps others: only the tag goes.
      image.tags = image.tags.filter((tag) => tag !== imageId.imageTag);
      this.byTag.delete(imageId.imageTag);
      return { deleted: [{ imageDigest: image.digest, imageTag: imageId.imageTag }] };
    }
    if ((this.referencedBy.get(image.digest) ?? 0) > 0) {
      return {
        failure: {
          imageId,
          failureCode: 'ImageReferencedByManifestList',
          failureReason: 'Requested image is referenced by a manifest list in the repository',
        },
      };
    }
    this.byDigest.delete(image.digest);
    for (const tag of image.tags) this.byTag.delete(tag);
    for (const child of image.references ?? []) this.referencedBy.set(child, this.referencedBy.get(child) - 1);
    return {
      deleted: image.tags.length > 0 ? image.tags.map((imageTag) => ({ imageDigest: image.digest, imageTag })) : [{ imageDigest: image.digest }],
    };
  }
}

/** Time with at least one call of an operation in flight, the calls, and the most in flight at once. */
function newOperationStats() {
  return { calls: 0, inFlight: 0, inFlightPeak: 0, busyMs: 0, busySince: 0 };
}

/**
 * Starts the server. `describeDelayMs` is the time each DescribeImages page
 * takes, `deleteDelayMs` each BatchDeleteImage call. `load(name, images)`
 * sets the repository. Returns { endpoint, responseUrl(id), load(), stats,
 * remaining, responses, close() }.
 */
async function startFakeEcrPublicRepository({ describeDelayMs = 100, deleteDelayMs = 50, manifestDelayMs = 50 } = {}) {
  let repository;
  let stats;
  const responses = [];
  const reset = () => {
    stats = { describe: newOperationStats(), delete: newOperationStats(), manifests: newOperationStats(), refused: 0, deletedImageIds: 0 };
    responses.length = 0;
  };
  reset();

  const answer = (response, status, body) => {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text) });
    response.end(text);
  };
  const error = (type, message) => ({ __type: type, message });

  // The operation's work runs when its delay is over, just before the answer.
  const timed = (operation, delayMs, response, work) => {
    if (operation.inFlight++ === 0) operation.busySince = performance.now();
    operation.inFlightPeak = Math.max(operation.inFlightPeak, operation.inFlight);
    operation.calls++;
    setTimeout(() => {
      const [status, body] = work();
      if (--operation.inFlight === 0) operation.busyMs += performance.now() - operation.busySince;
      answer(response, status, body);
    }, delayMs);
  };

  const server = http.createServer((request, response) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (request.method === 'GET') {
        const digest = /\/manifests\/(sha256:[0-9a-f]{64})$/.exec(request.url ?? '')?.[1];
        stats.manifests.calls++;
        if (stats.manifests.inFlight++ === 0) stats.manifests.busySince = performance.now();
        stats.manifests.inFlightPeak = Math.max(stats.manifests.inFlightPeak, stats.manifests.inFlight);
        setTimeout(() => {
          if (--stats.manifests.inFlight === 0) stats.manifests.busyMs += performance.now() - stats.manifests.busySince;
          const image = digest && repository?.byDigest.get(digest);
          if (!image?.manifest) response.writeHead(404).end();
          else response.writeHead(200, { 'content-type': image.mediaType }).end(image.manifest);
        }, manifestDelayMs);
        return;
      }
      if (request.method === 'PUT') {
        responses.push(text);
        response.writeHead(200).end();
        return;
      }
      const input = text ? JSON.parse(text) : {};
      const missing = () => !repository || input.repositoryName !== repository.name;
      const notFound = () => [
        400,
        error('RepositoryNotFoundException', `The repository with name '${input.repositoryName}' does not exist in the registry`),
      ];
      if (target.endsWith('.DescribeImages')) {
        timed(stats.describe, describeDelayMs, response, () => {
          if (missing()) return notFound();
          const maxResults = input.maxResults ?? DEFAULT_RESULTS;
          if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > MAX_RESULTS) {
            return [400, error('InvalidParameterException', `maxResults must be between 1 and ${MAX_RESULTS}`)];
          }
          return [200, repository.describe(maxResults, input.nextToken)];
        });
        return;
      }
      if (target.endsWith('.DescribeRepositories')) {
        const name = (input.repositoryNames ?? [])[0];
        if (!repository || name !== repository.name) answer(response, 400, error('RepositoryNotFoundException', `no repository '${name}'`));
        else
          answer(response, 200, {
            repositories: [{ repositoryName: name, repositoryUri: `public.ecr.aws/a1b2c3d4/${name}`, registryId: REGISTRY_ID }],
          });
        return;
      }
      if (target.endsWith('.BatchDeleteImage')) {
        timed(stats.delete, deleteDelayMs, response, () => {
          if (missing()) return notFound();
          const imageIds = input.imageIds ?? [];
          if (imageIds.length < 1 || imageIds.length > MAX_IDS_PER_CALL) {
            return [400, error('InvalidParameterException', `imageIds must hold 1 to ${MAX_IDS_PER_CALL} image IDs`)];
          }
          const body = { imageIds: [], failures: [] };
          for (const imageId of imageIds) {
            const result = repository.deleteOne(imageId);
            if (result.failure) body.failures.push(result.failure);
            else body.imageIds.push(...result.deleted);
          }
          stats.refused += body.failures.filter((f) => f.failureCode === 'ImageReferencedByManifestList').length;
          stats.deletedImageIds += body.imageIds.length;
          return [200, body];
        });
        return;
      }
      answer(response, 400, error('UnsupportedOperation', `not served here: ${target}`));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    responseUrl: (id) => `http://127.0.0.1:${port}/responses/${id}?X-Amz-Signature=bench`,
    /** Replaces the repository and clears the statistics. */
    load(name, images) {
      repository = new Repository(name, images);
      reset();
    },
    get stats() {
      return stats;
    },
    /** The images left in the repository. */
    get remaining() {
      return repository ? [...repository.byDigest.values()] : [];
    },
    get responses() {
      return responses;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

module.exports = { startFakeEcrPublicRepository, buildxRepositoryImages, OCI_INDEX };

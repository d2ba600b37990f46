/**
 * Realistic content to push: image manifests, the OCI indexes that
 * `docker buildx build --push` writes (BuildKit 0.11 and later: one image per
 * platform and, for each, an attestation manifest marked by
 * `vnd.docker.reference.type: attestation-manifest`), Docker manifest lists
 * and indexes of indexes. Each builder returns the manifests in push order
 * (children before the index that lists them), with their exact bytes and
 * digests, so a test knows every digest before it pushes.
 */
import { createHash } from 'node:crypto';
import { MEDIA_TYPES } from './model';
import { digestOf } from './store';

/** One manifest to push: exact text, media type, digest, and the tags and push time to give it. */
export interface SeedImage {
  readonly manifest: string;
  readonly mediaType: string;
  readonly digest: string;
  readonly tags: readonly string[];
  /** Epoch milliseconds. @default - the time of the push */
  readonly pushedAt?: number;
  /** For an index: the digests it lists. */
  readonly references: readonly string[];
  /** What this manifest is, for people reading a test: `linux/amd64 of v1`, `attestation of …`. */
  readonly role: string;
}

/** A multi-manifest push: the index last, its children before it. */
export interface SeedGroup {
  /** The top-level manifest (the index). */
  readonly index: SeedImage;
  /** Every manifest of the group in push order, the index last. */
  readonly images: readonly SeedImage[];
}

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export const parsePlatform = (text: string): Platform => {
  const [os, architecture, variant] = text.split('/');
  return { os, architecture, ...(variant ? { variant } : {}) };
};
const platformName = (p: Platform) => [p.os, p.architecture, p.variant].filter(Boolean).join('/');

const blobDigest = (seed: string) => `sha256:${createHash('sha256').update(seed).digest('hex')}`;
const sizeOf = (seed: string, min: number, spread: number) =>
  min + (parseInt(createHash('sha256').update(`size:${seed}`).digest('hex').slice(0, 8), 16) % spread);

function image(manifest: object, role: string, tags: readonly string[] = [], pushedAt?: number): SeedImage {
  const text = JSON.stringify(manifest);
  const mediaType = (manifest as { mediaType: string }).mediaType;
  const references = ((manifest as { manifests?: Array<{ digest: string }> }).manifests ?? []).map((m) => m.digest);
  return { manifest: text, mediaType, digest: digestOf(text), tags, ...(pushedAt !== undefined ? { pushedAt } : {}), references, role };
}

const descriptor = (child: SeedImage, extra: object = {}) => ({
  mediaType: child.mediaType,
  digest: child.digest,
  size: Buffer.byteLength(child.manifest),
  ...extra,
});

export interface ImageOptions {
  /** Tags to put on the image. @default - untagged */
  readonly tags?: readonly string[];
  /** Epoch milliseconds. @default - the time of the push */
  readonly pushedAt?: number;
  /** `oci` (what buildx pushes) or `docker` (docker push of a classic build). @default 'docker' */
  readonly format?: 'oci' | 'docker';
  /** The platform in the config, e.g. `linux/arm64/v8`. @default 'linux/amd64' */
  readonly platform?: string;
}

/** A single-platform image manifest whose config and layer digests derive from `seed`: one seed, one digest. */
export function singleImage(seed: string, options: ImageOptions = {}): SeedImage {
  const oci = options.format === 'oci';
  const platform = options.platform ?? 'linux/amd64';
  const manifest = {
    schemaVersion: 2,
    mediaType: oci ? MEDIA_TYPES.ociManifest : MEDIA_TYPES.dockerManifest,
    config: {
      mediaType: oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json',
      size: sizeOf(`${seed}:config`, 1200, 6000),
      digest: blobDigest(`${seed}:config:${platform}`),
    },
    layers: [1, 2].map((n) => ({
      mediaType: oci ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip',
      size: sizeOf(`${seed}:layer${n}`, 1_000_000, 30_000_000),
      digest: blobDigest(`${seed}:layer${n}:${platform}`),
    })),
  };
  return image(manifest, `${platform} image ${seed}`, options.tags, options.pushedAt);
}

/** A BuildKit attestation manifest (SLSA provenance) for the image `subject`. */
export function attestationManifest(seed: string, subject: SeedImage, pushedAt?: number): SeedImage {
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blobDigest(`${seed}:attestation-config:${subject.digest}`), size: 167 },
    layers: [
      {
        mediaType: 'application/vnd.in-toto+json',
        digest: blobDigest(`${seed}:provenance:${subject.digest}`),
        size: sizeOf(`${seed}:provenance:${subject.digest}`, 1500, 4000),
        annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' },
      },
    ],
  };
  return image(manifest, `attestation of ${subject.role}`, [], pushedAt);
}

export interface IndexOptions {
  /** Tags of the index. @default - untagged */
  readonly tags?: readonly string[];
  /** Epoch milliseconds of the index; its children are pushed one second earlier. @default - the time of the push */
  readonly pushedAt?: number;
  /** @default ['linux/amd64', 'linux/arm64/v8'] */
  readonly platforms?: readonly string[];
  /** An attestation manifest per platform, as buildx adds by default. @default true */
  readonly attestations?: boolean;
  /** Tags to put on each platform image (per-architecture tags, e.g. `v1-arm64`). @default - none */
  readonly platformTags?: (platform: string) => readonly string[];
}

const childTime = (pushedAt: number | undefined) => (pushedAt === undefined ? undefined : pushedAt - 1000);

/** What `docker buildx build --platform … --push` leaves: an OCI index, one OCI image per platform and an attestation for each. */
export function buildxIndex(seed: string, options: IndexOptions = {}): SeedGroup {
  const platforms = options.platforms ?? ['linux/amd64', 'linux/arm64/v8'];
  const at = childTime(options.pushedAt);
  const platformImages = platforms.map((p) =>
    singleImage(`${seed}:${p}`, { format: 'oci', platform: p, tags: options.platformTags?.(p) ?? [], pushedAt: at }),
  );
  const attestations = options.attestations === false ? [] : platformImages.map((child) => attestationManifest(seed, child, at));
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: [
      ...platformImages.map((child, i) => descriptor(child, { platform: parsePlatform(platforms[i]) })),
      ...attestations.map((attestation, i) =>
        descriptor(attestation, {
          annotations: { 'vnd.docker.reference.digest': platformImages[i].digest, 'vnd.docker.reference.type': 'attestation-manifest' },
          platform: { architecture: 'unknown', os: 'unknown' },
        }),
      ),
    ],
  };
  const index = image(manifest, `OCI index ${seed}`, options.tags, options.pushedAt);
  return { index, images: [...platformImages, ...attestations, index] };
}

/** A Docker manifest list (docker manifest push, or buildx with oci-mediatypes=false) of Docker v2 images. */
export function dockerManifestList(seed: string, options: Omit<IndexOptions, 'attestations'> = {}): SeedGroup {
  const platforms = options.platforms ?? ['linux/amd64', 'linux/arm64/v8'];
  const at = childTime(options.pushedAt);
  const children = platforms.map((p) =>
    singleImage(`${seed}:${p}`, { format: 'docker', platform: p, tags: options.platformTags?.(p) ?? [], pushedAt: at }),
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.dockerManifestList,
    manifests: children.map((child, i) => descriptor(child, { platform: parsePlatform(platforms[i]) })),
  };
  const index = image(manifest, `manifest list ${seed}`, options.tags, options.pushedAt);
  return { index, images: [...children, index] };
}

/** An OCI index that lists other indexes (each pushed with its children first). */
export function nestedIndex(seed: string, inner: readonly SeedGroup[], options: Pick<IndexOptions, 'tags' | 'pushedAt'> = {}): SeedGroup {
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: inner.map((group) => descriptor(group.index)),
  };
  const index = image(manifest, `index of indexes ${seed}`, options.tags, options.pushedAt);
  return { index, images: [...inner.flatMap((group) => group.images), index] };
}

export { platformName };

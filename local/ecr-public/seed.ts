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

/** A blob (config or layer) that a manifest names: a registry that checks blobs needs it uploaded first. */
export interface SeedBlob {
  readonly digest: string;
  /** The blob's bytes, as UTF-8 text (small: a config, a stand-in layer). */
  readonly content: string;
}

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
  /** For an image manifest: its config and layers, with their content (the emulator does not keep blobs; the distribution registry does). */
  readonly blobs: readonly SeedBlob[];
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

/** A blob of `content`, and its descriptor fields (digest and size of the exact bytes). */
function blob(content: string): { blob: SeedBlob; digest: string; size: number } {
  const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
  return { blob: { digest, content }, digest, size: Buffer.byteLength(content) };
}

function image(manifest: object, role: string, tags: readonly string[] = [], pushedAt?: number, blobs: readonly SeedBlob[] = []): SeedImage {
  const text = JSON.stringify(manifest);
  const mediaType = (manifest as { mediaType: string }).mediaType;
  const references = ((manifest as { manifests?: Array<{ digest: string }> }).manifests ?? []).map((m) => m.digest);
  return { manifest: text, mediaType, digest: digestOf(text), tags, ...(pushedAt !== undefined ? { pushedAt } : {}), references, blobs, role };
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

/**
 * A single-platform image manifest with a config and two small stand-in
 * layers, all derived from `seed` and `platform`: one seed, one digest.
 */
export function singleImage(seed: string, options: ImageOptions = {}): SeedImage {
  const oci = options.format === 'oci';
  const platform = parsePlatform(options.platform ?? 'linux/amd64');
  const layers = [1, 2].map((n) => blob(`layer ${n} of ${seed} for ${platformName(platform)}\n`));
  const config = blob(
    JSON.stringify({ ...platform, config: { Labels: { seed } }, rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) } }),
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: oci ? MEDIA_TYPES.ociManifest : MEDIA_TYPES.dockerManifest,
    config: {
      mediaType: oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json',
      size: config.size,
      digest: config.digest,
    },
    layers: layers.map((layer) => ({
      mediaType: oci ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip',
      size: layer.size,
      digest: layer.digest,
    })),
  };
  return image(manifest, `${platformName(platform)} image ${seed}`, options.tags, options.pushedAt, [config.blob, ...layers.map((l) => l.blob)]);
}

/** A BuildKit attestation manifest (an in-toto SLSA provenance statement) for the image `subject`. */
export function attestationManifest(seed: string, subject: SeedImage, pushedAt?: number): SeedImage {
  const statement = blob(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: 'https://slsa.dev/provenance/v0.2',
      subject: [{ name: `pkg:docker/${seed}`, digest: { sha256: subject.digest.slice('sha256:'.length) } }],
      predicate: { builder: { id: '' }, buildType: 'https://mobyproject.org/buildkit@v1' },
    }),
  );
  const config = blob(
    JSON.stringify({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [statement.digest] } }),
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
    layers: [
      {
        mediaType: 'application/vnd.in-toto+json',
        digest: statement.digest,
        size: statement.size,
        annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' },
      },
    ],
  };
  return image(manifest, `attestation of ${subject.role}`, [], pushedAt, [config.blob, statement.blob]);
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

/** The OCI empty descriptor's content (`{}`), the config of an artifact manifest (OCI image spec 1.1, "Guidance for an Empty Descriptor"). */
const EMPTY_CONFIG = blob('{}');

export interface ReferrerOptions {
  /** Epoch milliseconds. @default - the subject's push time plus one second, or the time of the push */
  readonly pushedAt?: number;
  /** Tags of the referrer. @default - untagged, as cosign and notation push them with the referrers API */
  readonly tags?: readonly string[];
}

/**
 * An OCI 1.1 referrer of `subject`: an image manifest whose `subject` names
 * it, with an `artifactType`, the empty config and one layer holding
 * `content` (OCI image spec 1.1, "Artifacts Guidance").
 */
export function referrer(
  subject: SeedImage,
  artifactType: string,
  layer: { readonly mediaType: string; readonly content: string; readonly annotations?: Record<string, string> },
  options: ReferrerOptions & { readonly annotations?: Record<string, string>; readonly role?: string } = {},
): SeedImage {
  const content = blob(layer.content);
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: EMPTY_CONFIG.digest, size: EMPTY_CONFIG.size },
    layers: [
      { mediaType: layer.mediaType, digest: content.digest, size: content.size, ...(layer.annotations ? { annotations: layer.annotations } : {}) },
    ],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: Buffer.byteLength(subject.manifest) },
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const pushedAt = options.pushedAt ?? (subject.pushedAt !== undefined ? subject.pushedAt + 1000 : undefined);
  return image(manifest, options.role ?? `${artifactType} of ${subject.role}`, options.tags, pushedAt, [EMPTY_CONFIG.blob, content.blob]);
}

/** What `cosign sign --registry-referrers-mode=oci-1-1` pushes: a signature referrer (artifactType application/vnd.dev.cosign.artifact.sig.v1+json). */
export function cosignSignature(subject: SeedImage, options: ReferrerOptions = {}): SeedImage {
  const payload = JSON.stringify({
    critical: {
      identity: { 'docker-reference': 'public.ecr.aws/emulated/app' },
      image: { 'docker-manifest-digest': subject.digest },
      type: 'cosign container image signature',
    },
    optional: null,
  });
  return referrer(
    subject,
    'application/vnd.dev.cosign.artifact.sig.v1+json',
    {
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      content: payload,
      annotations: { 'dev.cosignproject.cosign/signature': `MEUCIQ${createHash('sha256').update(subject.digest).digest('base64').slice(0, 40)}` },
    },
    { ...options, role: `cosign signature of ${subject.role}` },
  );
}

/** What `notation sign` pushes: a JWS signature envelope as a referrer (artifactType application/vnd.cncf.notary.signature). */
export function notationSignature(subject: SeedImage, options: ReferrerOptions = {}): SeedImage {
  return referrer(
    subject,
    'application/vnd.cncf.notary.signature',
    { mediaType: 'application/jose+json', content: JSON.stringify({ payload: subject.digest, protected: 'e30', signature: 'c2ln' }) },
    {
      ...options,
      annotations: { 'io.cncf.notary.x509chain.thumbprint#S256': '["0f1e2d"]', 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
      role: `notation signature of ${subject.role}`,
    },
  );
}

/** An SPDX SBOM attached as a referrer (`oras attach --artifact-type application/spdx+json`). */
export function sbomReferrer(subject: SeedImage, options: ReferrerOptions = {}): SeedImage {
  return referrer(
    subject,
    'application/spdx+json',
    {
      mediaType: 'application/spdx+json',
      content: JSON.stringify({ spdxVersion: 'SPDX-2.3', name: subject.role, documentDescribes: [subject.digest] }),
    },
    { ...options, role: `SBOM of ${subject.role}` },
  );
}

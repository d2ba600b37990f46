/**
 * Image index manifests shaped as `docker buildx build --push` writes them
 * (BuildKit 0.11 and later, provenance attestations on by default): an OCI
 * index whose entries are one image manifest per platform and, for each, an
 * attestation manifest marked by `vnd.docker.reference.type`. The platform
 * manifests and the attestations are pushed untagged; only the index is tagged.
 */

import { createHash } from 'node:crypto';

const digest = (seed: string) => `sha256:${seed.repeat(64).slice(0, 64)}`;

/** The digest of manifest bytes, as a registry computes it. */
export const digestOf = (body: string) => `sha256:${createHash('sha256').update(body).digest('hex')}`;

export interface FixtureImage {
  readonly digest: string;
  readonly tags: string[];
  readonly mediaType: string;
  /** Epoch milliseconds. */
  readonly pushedAt: number;
  /** For an index: the digests it references. */
  readonly references?: string[];
  /** For an index: its manifest, as the registry serves it (`digest` is its sha256). */
  readonly manifest?: string;
}

export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

/** An index (OCI index, or Docker manifest list) referencing `children`, with a content-addressed digest. */
export function indexOf(children: readonly string[], tags: string[], pushedAt: number, mediaType: string = OCI_INDEX): FixtureImage {
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType,
    manifests: children.map((child) => ({ mediaType: OCI_MANIFEST, digest: child, size: 1600, platform: { architecture: 'amd64', os: 'linux' } })),
  });
  return { digest: digestOf(manifest), tags, mediaType, pushedAt, references: [...children], manifest };
}

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** The index manifest body, as the registry serves it. */
export function indexManifest(amd64: string, arm64: string, attestations: [string, string]) {
  return {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      { mediaType: OCI_MANIFEST, digest: amd64, size: 1600, platform: { architecture: 'amd64', os: 'linux' } },
      { mediaType: OCI_MANIFEST, digest: arm64, size: 1600, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
      {
        mediaType: OCI_MANIFEST,
        digest: attestations[0],
        size: 566,
        annotations: { 'vnd.docker.reference.digest': amd64, 'vnd.docker.reference.type': 'attestation-manifest' },
        platform: { architecture: 'unknown', os: 'unknown' },
      },
      {
        mediaType: OCI_MANIFEST,
        digest: attestations[1],
        size: 566,
        annotations: { 'vnd.docker.reference.digest': arm64, 'vnd.docker.reference.type': 'attestation-manifest' },
        platform: { architecture: 'unknown', os: 'unknown' },
      },
    ],
  };
}

/** One multi-architecture push: the tagged index and its four untagged children, pushed at `pushedAt`. */
export function buildxPush(name: string, tags: string[], pushedAt: number): FixtureImage[] {
  const [amd64, arm64, att1, att2] = ['a', 'b', 'c', 'd'].map((part) => digest(`${name}${part}`.replace(/[^0-9a-f]/g, '0') + part));
  const manifest = indexManifest(amd64, arm64, [att1, att2]);
  const body = JSON.stringify(manifest);
  return [
    { digest: digestOf(body), tags, mediaType: OCI_INDEX, pushedAt, references: manifest.manifests.map((m) => m.digest), manifest: body },
    ...[amd64, arm64, att1, att2].map((child) => ({ digest: child, tags: [], mediaType: OCI_MANIFEST, pushedAt: pushedAt - 1000 })),
  ];
}

/** A single-platform image (docker build without buildx, or --provenance=false). */
export function plainImage(name: string, tags: string[], pushedAt: number): FixtureImage {
  return { digest: digest(name.replace(/[^0-9a-f]/g, '0') + 'f'), tags, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', pushedAt };
}

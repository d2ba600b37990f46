/**
 * A manifest whose bytes hashed to its digest, and what those bytes say: the
 * manifests it references (an image index's `manifests`), its media type, and
 * its `subject` (the image an OCI 1.1 referrer, a signature or an SBOM,
 * describes).
 *
 * A digest fixes its bytes, so these facts never change: they are what the
 * reference cache may hold. `VerifiedManifest` can be made only by
 * `verifyManifest`, which hashes the bytes first; the cache's `store` takes
 * nothing else (an object of the same shape does not type-check: the class has
 * a private field, and its constructor is private to the code that hashes). So
 * a cache entry is written only from bytes that hashed to its key, by
 * construction.
 */
import { createHash } from 'node:crypto';

/**
 * Largest manifest read (bytes): the OCI distribution spec asks registries to
 * accept manifests of at least 4 MiB; a larger answer is not a manifest this
 * reader trusts.
 */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** The digests the verifier can check: sha256, as ECR Public computes them. */
const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;

/** A digest as the OCI image spec writes it (`algorithm:encoded`), for the references a manifest lists. */
export const OCI_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** What a manifest's bytes say, verified. Made only by `VerifiedManifest.verify` (`verifyManifest`). */
export class VerifiedManifest {
  /** The brand: a structural copy of this class is not one of its instances. */
  readonly #hashed = true;

  private constructor(
    /** The digest the bytes hashed to. */
    readonly digest: string,
    /** The manifest's `mediaType`, or the answer's Content-Type when the manifest names none. */
    readonly mediaType: string | undefined,
    /** The digests its `manifests` list, in order (none for an image manifest). */
    readonly references: readonly string[],
    /** The digest its `subject` names, if it has one. */
    readonly subject: string | undefined,
  ) {}

  /** True for a VerifiedManifest made by `verify` in this bundle (a structural copy is not one). */
  static is(value: unknown): value is VerifiedManifest {
    return typeof value === 'object' && value !== null && #hashed in value;
  }

  /**
   * Hashes the bytes the registry served for `digest` and reads them as a
   * manifest: the facts, or why they cannot be trusted (another digest, too
   * large, not JSON, a `manifests` entry or a `subject` without a digest).
   * `contentType` is the answer's Content-Type, used only when the manifest
   * names no media type of its own.
   */
  static verify(digest: string, bytes: Uint8Array, contentType?: string): VerifiedManifest | { readonly problem: string } {
    if (!SHA256_DIGEST.test(digest)) return { problem: `${digest} is not a sha256 digest: its bytes cannot be verified` };
    if (bytes.byteLength > MAX_MANIFEST_BYTES) {
      return { problem: `the manifest has ${bytes.byteLength} bytes, more than the ${MAX_MANIFEST_BYTES} a manifest may have` };
    }
    const served = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (served !== digest) return { problem: `the registry served a manifest with digest ${served}` };
    let manifest: unknown;
    try {
      manifest = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    } catch (error) {
      return { problem: `not a manifest: ${error instanceof Error ? error.message : String(error)}` };
    }
    if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) return { problem: 'not a manifest: not a JSON object' };
    const { mediaType, manifests, subject } = manifest as { mediaType?: unknown; manifests?: unknown; subject?: unknown };

    const references: string[] = [];
    if (manifests !== undefined) {
      if (!Array.isArray(manifests)) return { problem: '"manifests" is not a list' };
      for (const [i, entry] of manifests.entries()) {
        const entryDigest = (entry as { digest?: unknown } | null)?.digest;
        if (typeof entryDigest !== 'string' || !OCI_DIGEST.test(entryDigest)) return { problem: `entry ${i} of "manifests" has no valid digest` };
        references.push(entryDigest);
      }
    }
    let subjectDigest: string | undefined;
    if (subject !== undefined) {
      const named = (subject as { digest?: unknown } | null)?.digest;
      if (typeof named !== 'string' || !OCI_DIGEST.test(named)) return { problem: '"subject" has no valid digest' };
      subjectDigest = named;
    }
    const type = typeof mediaType === 'string' && mediaType !== '' ? mediaType : contentType?.split(';')[0].trim() || undefined;
    return new VerifiedManifest(digest, type, Object.freeze(references), subjectDigest);
  }
}

/** `VerifiedManifest.verify`: the facts of the bytes served for `digest`, or why they cannot be trusted. */
export function verifyManifest(digest: string, bytes: Uint8Array, contentType?: string): VerifiedManifest | { readonly problem: string } {
  return VerifiedManifest.verify(digest, bytes, contentType);
}

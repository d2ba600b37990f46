/**
 * Select: which images of a listing a selection deletes, without any I/O.
 *
 * - `all` and `untagged` delete whole images, by digest.
 * - `tagged` removes the tags that match its patterns, by tag: an image keeps
 *   its other tags, and goes only when every tag it had matched.
 * - `OlderThanSeconds` keeps images pushed more recently than that.
 * - `KeepNewest` keeps the newest N of the images that match (ties on the push
 *   time broken by digest, so that the choice is the same on every run).
 * - An image without a push time counts as the newest (list.ts, UNKNOWN_PUSH_TIME).
 * - An image with a tag that matches `ProtectTags` is never touched.
 *
 * Deletions come in two passes. Image indexes (multi-architecture images,
 * buildx's attestations) go first: ECR Public refuses to delete an image that an
 * index references (ImageReferencedByManifestList), so the children of an index
 * deleted in the first pass can go in the second, and the children of a kept
 * index are refused and stay.
 */
import type { WireImageId, WireSelection } from '../lib/contract';
import type { ListedImage } from './list';

/** Manifest media types that reference other manifests. */
export const INDEX_MEDIA_TYPES: readonly string[] = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];

export interface SelectionResult {
  /** Image IDs to delete, pass by pass: indexes and tag removals first, then other images. */
  readonly passes: WireImageId[][];
  /** Images that met every condition before keepNewest. */
  readonly matched: number;
  /** Images kept by keepNewest. */
  readonly keptNewest: number;
  /** Images kept because a tag of theirs is protected. */
  readonly keptProtected: number;
}

/** Compiles glob patterns (`*` any run of characters, `?` one character) into one test. */
export function globMatcher(patterns: readonly string[]): (tag: string) => boolean {
  const sources = patterns.map((pattern) =>
    pattern
      .split('')
      .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
      .join(''),
  );
  const regex = new RegExp(`^(?:${sources.join('|')})$`);
  return (tag) => regex.test(tag);
}

/** Whether an image is an image index or manifest list (it references other images). */
export const isIndex = (image: ListedImage): boolean => image.mediaType !== undefined && INDEX_MEDIA_TYPES.includes(image.mediaType);

export function selectImages(listing: readonly ListedImage[], selection: WireSelection, nowMs: number): SelectionResult {
  const isProtected = selection.ProtectTags ? globMatcher(selection.ProtectTags) : () => false;
  const matchesPattern = selection.Match === 'tagged' ? globMatcher(selection.TagPatterns ?? []) : () => false;
  const pushedBefore = selection.OlderThanSeconds !== undefined ? nowMs - Number(selection.OlderThanSeconds) * 1000 : Infinity;

  let keptProtected = 0;
  const matched: ListedImage[] = [];
  for (const image of listing) {
    const kindMatches =
      selection.Match === 'all' ||
      (selection.Match === 'untagged' && image.tags.length === 0) ||
      (selection.Match === 'tagged' && image.tags.some(matchesPattern));
    // Without olderThan, age does not matter (an image of unknown age included).
    const oldEnough = selection.OlderThanSeconds === undefined || image.pushedAt < pushedBefore;
    if (!kindMatches || !oldEnough) continue;
    if (image.tags.some(isProtected)) {
      keptProtected++;
      continue;
    }
    matched.push(image);
  }

  // Newest first; equal push times (unknown ones too: Infinity - Infinity is NaN) ordered by digest, so the same N are kept every time.
  matched.sort((a, b) => b.pushedAt - a.pushedAt || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  const keep = selection.KeepNewest !== undefined ? Math.min(Number(selection.KeepNewest), matched.length) : 0;
  const chosen = matched.slice(keep);

  const first: WireImageId[] = [];
  const second: WireImageId[] = [];
  for (const image of chosen) {
    const pass = isIndex(image) ? first : second;
    if (selection.Match === 'tagged') {
      pass.push(...image.tags.filter(matchesPattern).map((imageTag) => ({ imageTag })));
    } else {
      pass.push({ imageDigest: image.digest });
    }
  }
  return { passes: [first, second].filter((pass) => pass.length > 0), matched: matched.length, keptNewest: keep, keptProtected };
}

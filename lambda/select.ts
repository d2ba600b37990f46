/**
 * Select: which images of a listing a selection deletes, without any I/O.
 *
 * - `all` and `untagged` delete whole images, by digest.
 * - `tagged` removes the tags that match its patterns, by tag: an image keeps
 *   its other tags, and goes only when every tag it had matched.
 * - `OlderThanSeconds` keeps images pushed more recently than that.
 * - `KeepNewest` keeps the newest N top-level images of those that match: an
 *   image index with everything it references, or an image that no index
 *   references (ties on the push time broken by digest, so that the choice is
 *   the same on every run).
 * - An image without a push time counts as the newest (list.ts, UNKNOWN_PUSH_TIME).
 * - An image with a tag that matches `ProtectTags` is never touched.
 *
 * Multi-architecture images are kept whole by construction, whatever ECR
 * Public would do: every image that an index this event keeps references,
 * directly or through nested indexes, is left out of the deletions (no delete
 * by digest, no removal of its last tags). The references come from the
 * indexes' manifests, which the caller reads from the registry: the result's
 * `needs` lists the ones it has not given yet, and the caller calls again with
 * them. Until every needed manifest is known, and whenever one could not be
 * read, the decision fails closed: no deletion that removes an image is made.
 *
 * Deletions come in two passes: image indexes (and tag removals of indexes)
 * first, so that a server that refuses to delete an image an index still
 * references (ImageReferencedByManifestList) can delete the orphaned
 * children in the second pass.
 */
import type { WireImageId, WireSelection } from '../lib/contract';
import type { ListedImage } from './list';

/** Manifest media types that reference other manifests. */
export const INDEX_MEDIA_TYPES: readonly string[] = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];

/** What the registry said about one index's manifest: the digests it references, or why they are unknown. */
export type ReferenceRead = { readonly references: readonly string[] } | { readonly unknown: string };

/** Index digest -> what its manifest references. */
export type References = ReadonlyMap<string, ReferenceRead>;

/**
 * Why the selection kept an image it covered: a protected tag, one of the
 * newest `keepNewest`, referenced by an index the event keeps (`referencedBy`
 * names it), or in a repository where a needed manifest could not be read.
 */
export type KeptReason = 'protected' | 'newest' | 'referenced' | 'unknown';

export interface SelectionResult {
  /** Image IDs to delete, pass by pass: indexes and tag removals first, then other images. */
  readonly passes: WireImageId[][];
  /** Images that met every condition before keepNewest. */
  readonly matched: number;
  /** Top-level images kept by keepNewest (an index counts once, with what it references). */
  readonly keptNewest: number;
  /** Images kept because a tag of theirs is protected. */
  readonly keptProtected: number;
  /** Images the selection covered but kept, because an index this event keeps references them. */
  readonly keptReferenced: number;
  /** Images the selection covered but kept, because the manifest of an index could not be read. */
  readonly keptUnknown: number;
  /** Index digests whose manifests the decision needs and `references` lacks; read them and select again. */
  readonly needs: string[];
  /** Indexes whose references could not be read, with the cause. */
  readonly unknown: ReadonlyArray<{ readonly digest: string; readonly cause: string }>;
  /** For each image a kept index references: the first such index found. */
  readonly referencedBy: ReadonlyMap<string, string>;
  /** Each image the selection covered but kept, by digest, with why: the counts above, image by image. */
  readonly kept: ReadonlyMap<string, KeptReason>;
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
export const isIndex = (image: Pick<ListedImage, 'mediaType'>): boolean =>
  image.mediaType !== undefined && INDEX_MEDIA_TYPES.includes(image.mediaType);

/**
 * Whether an image may reference others: an index, or an image whose media
 * type the listing did not give (its manifest is read to know).
 */
export const mayReference = (image: Pick<ListedImage, 'mediaType'>): boolean => image.mediaType === undefined || isIndex(image);

const newestFirst = (a: ListedImage, b: ListedImage): number => b.pushedAt - a.pushedAt || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0);

export function selectImages(
  listing: readonly ListedImage[],
  selection: WireSelection,
  nowMs: number,
  references: References = new Map(),
): SelectionResult {
  const isProtected = selection.ProtectTags ? globMatcher(selection.ProtectTags) : () => false;
  const matchesPattern = selection.Match === 'tagged' ? globMatcher(selection.TagPatterns ?? []) : () => false;
  const pushedBefore = selection.OlderThanSeconds !== undefined ? nowMs - Number(selection.OlderThanSeconds) * 1000 : Infinity;
  const byDigest = new Map(listing.map((image) => [image.digest, image]));
  const needs = new Set<string>();
  const unknown = new Map<string, string>();
  /** What an index references; undefined when not known (then it is needed, or unreadable). */
  const referencesOf = (digest: string): readonly string[] | undefined => {
    const read = references.get(digest);
    if (read === undefined) {
      needs.add(digest);
      unknown.set(digest, 'manifest not read yet');
      return undefined;
    }
    if ('unknown' in read) {
      unknown.set(digest, read.unknown);
      return undefined;
    }
    return read.references;
  };

  let keptProtected = 0;
  const kept = new Map<string, KeptReason>();
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
      kept.set(image.digest, 'protected');
      continue;
    }
    matched.push(image);
  }

  // keepNewest counts top-level images: an index with what it references, or
  // an image no index references. Which images an index references is known
  // only from its manifest, so every index of the repository is read.
  let chosen = matched;
  let keptNewest = 0;
  if (selection.KeepNewest !== undefined) {
    const referenced = new Set<string>();
    for (const image of listing) {
      if (mayReference(image)) referencesOf(image.digest)?.forEach((child) => referenced.add(child));
    }
    const topLevel = matched.filter((image) => !referenced.has(image.digest)).sort(newestFirst);
    const newest = new Set(topLevel.slice(0, Number(selection.KeepNewest)).map((image) => image.digest));
    keptNewest = newest.size;
    newest.forEach((digest) => kept.set(digest, 'newest'));
    chosen = matched.filter((image) => !newest.has(image.digest));
  }
  // Newest first (ties by digest): the order of the deletions is the same on every run.
  chosen = [...chosen].sort(newestFirst);

  // What each chosen image loses: by digest, the whole image; by tag, the
  // matching tags, and the image with them when they were all it had.
  const removal = new Map<string, { readonly ids: WireImageId[]; readonly removesImage: boolean }>();
  for (const image of chosen) {
    if (selection.Match === 'tagged') {
      const tags = image.tags.filter(matchesPattern);
      removal.set(image.digest, { ids: tags.map((imageTag) => ({ imageTag })), removesImage: tags.length === image.tags.length });
    } else {
      removal.set(image.digest, { ids: [{ imageDigest: image.digest }], removesImage: true });
    }
  }

  // Everything a kept index references is kept, and so, if it is an index,
  // is everything it references in turn.
  // Nothing to protect when no image would go: then no manifest is read.
  const referencedBy = new Map<string, string>();
  const anImageGoes = [...removal.values()].some((r) => r.removesImage);
  const toVisit = anImageGoes
    ? listing.filter((image) => mayReference(image) && !removal.get(image.digest)?.removesImage).map((image) => image.digest)
    : [];
  const visited = new Set(toVisit);
  while (toVisit.length > 0) {
    const index = toVisit.pop() as string;
    for (const child of referencesOf(index) ?? []) {
      if (!referencedBy.has(child)) referencedBy.set(child, index);
      const childImage = byDigest.get(child);
      if (childImage && mayReference(childImage) && !visited.has(child)) {
        visited.add(child);
        toVisit.push(child);
      }
    }
  }

  // Fail closed: with any needed manifest unknown, no deletion removes an image
  // (an index too: a nested index may be what the unknown manifest references).
  const failClosed = unknown.size > 0;
  let keptReferenced = 0;
  let keptUnknown = 0;
  const first: WireImageId[] = [];
  const second: WireImageId[] = [];
  for (const image of chosen) {
    const { ids, removesImage } = removal.get(image.digest) as { ids: WireImageId[]; removesImage: boolean };
    if (removesImage && referencedBy.has(image.digest)) {
      keptReferenced++;
      kept.set(image.digest, 'referenced');
      continue;
    }
    // keepNewest with an unknown manifest does not know which images are top-level: it removes nothing.
    if (failClosed && (removesImage || selection.KeepNewest !== undefined)) {
      keptUnknown++;
      kept.set(image.digest, 'unknown');
      continue;
    }
    (isIndex(image) ? first : second).push(...ids);
  }
  return {
    passes: [first, second].filter((pass) => pass.length > 0),
    matched: matched.length,
    keptNewest,
    keptProtected,
    keptReferenced,
    keptUnknown,
    needs: [...needs],
    unknown: [...unknown].filter(([digest]) => !needs.has(digest)).map(([digest, cause]) => ({ digest, cause })),
    referencedBy,
    kept,
  };
}

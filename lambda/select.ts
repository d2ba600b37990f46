/**
 * Select: which images of a listing a selection deletes, without any I/O.
 *
 * - `all` and `untagged` delete whole images, by digest.
 * - `tagged` removes the tags that match its patterns: an image keeps its
 *   other tags, and goes only when every tag it had matched. When the image
 *   goes, each tag is sent as `{ imageTag, imageDigest }` with the digest the
 *   listing gave, so that a tag that moved to another image since the listing
 *   is not removed from it (ECR Public answers ImageTagDoesNotMatchDigest, and
 *   the image just pushed keeps its tag). When the image keeps other tags, a
 *   tag is sent by name alone: ECR Public does not document what a pair does
 *   to an image that has other tags (were it to delete the image, the pair
 *   would delete tags nobody selected), so the caller checks, just before the
 *   call, that the tag still names the image listed (tag-check.ts).
 * - `OlderThanSeconds` keeps images pushed more recently than that.
 * - `KeepNewest` keeps the newest N top-level images of those that match: an
 *   image index with everything it references, or an image that no index
 *   references and that is not a referrer of another image (ties on the push
 *   time broken by digest, so that the choice is the same on every run).
 * - An image without a push time counts as the newest (list.ts, UNKNOWN_PUSH_TIME).
 * - An image with a tag that matches `ProtectTags` is never touched.
 * - An image whose deletion failed earlier in the event (`survivors`) stays.
 *
 * What stays keeps what it needs, whatever made it stay, by construction and
 * whatever ECR Public would do:
 * - every image that an index that stays references, directly or through
 *   nested indexes, stays (no delete by digest, no removal of its last tags);
 * - every untagged manifest whose `subject` (OCI 1.1 referrers: cosign and
 *   notation signatures, SBOMs, attestations) names an image that stays,
 *   stays. A referrer of an image this event deletes goes with it when the
 *   selection covers it, as private ECR's lifecycle policies remove referrers
 *   with their subject.
 * The references and subjects come from the manifests, which the caller reads
 * from the registry: the result's `needs` lists the ones it has not given yet,
 * and the caller calls again with them. Until every needed manifest is known
 * the decision deletes nothing; an index whose manifest could not be read
 * keeps every image the event would delete, a plain manifest that could not be
 * read keeps itself (with keepNewest, either keeps everything: which images
 * are top-level is then unknown).
 *
 * Deletions come in passes: image indexes first (an index that another index
 * being deleted is known to reference after it), then the other images, so
 * that a server that refuses to delete an image an index still references
 * (ImageReferencedByManifestList) can delete the orphaned children next, and
 * so that an index whose deletion fails (the caller adds it to `survivors` and
 * selects again) still protects its children.
 */
import type { WireImageId, WireSelection } from '../lib/contract';
import type { ListedImage } from './list';

/** Manifest media types that reference other manifests. */
export const INDEX_MEDIA_TYPES: readonly string[] = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];

/**
 * What the registry said about one manifest, a plain value a cache can hold:
 * the digests it references (none for an image manifest), its media type, the
 * digest its `subject` names (OCI 1.1 referrers), or why it is unknown.
 */
export type ManifestRead =
  { readonly references: readonly string[]; readonly mediaType?: string; readonly subject?: string } | { readonly unknown: string };

/** Digest -> what its manifest says. */
export type Manifests = ReadonlyMap<string, ManifestRead>;

/** What the caller knows beyond the listing and the manifests. */
export interface SelectOptions {
  /** Images whose deletion failed earlier in the event (any failure): they stay, and so does what they need. */
  readonly survivors?: ReadonlySet<string>;
}

/**
 * Why the selection kept an image it covered: a protected tag, one of the
 * newest `keepNewest`, referenced by an index that stays (`referencedBy` names
 * it), a referrer of an image that stays (`referrerOf` names it), or a
 * manifest that could not be read.
 */
export type KeptReason = 'protected' | 'newest' | 'referenced' | 'referrer' | 'unknown';

export interface SelectionResult {
  /** Image IDs to delete, pass by pass: indexes first (outer before inner), then other images. */
  readonly passes: WireImageId[][];
  /** Images that met every condition before keepNewest. */
  readonly matched: number;
  /** Top-level images kept by keepNewest (an index counts once, with what it references). */
  readonly keptNewest: number;
  /** Images kept because a tag of theirs is protected. */
  readonly keptProtected: number;
  /** Images the selection covered but kept, because an index that stays references them. */
  readonly keptReferenced: number;
  /** Images the selection covered but kept, because they are referrers (signatures, SBOMs…) of an image that stays. */
  readonly keptReferrers: number;
  /** Images the selection covered but kept, because a manifest could not be read. */
  readonly keptUnknown: number;
  /** Digests whose manifests the decision needs and `manifests` lacks; read them and select again. */
  readonly needs: string[];
  /** Manifests that could not be read, with the cause. */
  readonly unknown: ReadonlyArray<{ readonly digest: string; readonly cause: string }>;
  /** For each image an index that stays references: the first such index found. */
  readonly referencedBy: ReadonlyMap<string, string>;
  /** For each referrer kept because its subject stays: the subject. */
  readonly referrerOf: ReadonlyMap<string, string>;
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

/** Whether the listing says an image is an image index or manifest list (it references other images). */
export const isIndex = (image: Pick<ListedImage, 'mediaType'>): boolean =>
  image.mediaType !== undefined && INDEX_MEDIA_TYPES.includes(image.mediaType);

/**
 * Whether an image may reference others: an index, or an image whose media
 * type the listing did not give (its manifest is read to know).
 */
export const mayReference = (image: Pick<ListedImage, 'mediaType'>): boolean => image.mediaType === undefined || isIndex(image);

const newestFirst = (a: ListedImage, b: ListedImage): number => b.pushedAt - a.pushedAt || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0);

/** Why a covered image that would go stays instead. */
type Kept = 'referenced' | 'referrer' | 'unknown';

/**
 * Decides what the selection deletes from the listing, given the manifests
 * read so far and the images whose deletion already failed this event. Call it
 * again with the manifests its `needs` names until it needs none; between two
 * passes, call it again with the images that failed in `survivors`.
 */
export function selectImages(
  listing: readonly ListedImage[],
  selection: WireSelection,
  nowMs: number,
  manifests: Manifests = new Map(),
  options: SelectOptions = {},
): SelectionResult {
  const survivors = options.survivors ?? new Set<string>();
  const byDigest = new Map(listing.map((image) => [image.digest, image]));

  const needs = new Set<string>();
  /** Unknown manifests that make the whole decision fail closed: indexes (what they protect is unknown), and under keepNewest anything. */
  const unknownEverywhere = new Map<string, string>();
  /** Unknown plain manifests, each keeping only itself; and indexes that go, whose order is then unknown (reported only). */
  const unknownHere = new Map<string, string>();
  /** What the manifest of `digest` says; undefined when not read yet (then it is needed) or unreadable (then recorded in `into`). */
  const read = (digest: string, into: Map<string, string>): { references: readonly string[]; mediaType?: string; subject?: string } | undefined => {
    const found = manifests.get(digest);
    if (found === undefined) {
      needs.add(digest);
      into.set(digest, 'manifest not read yet');
      return undefined;
    }
    if ('unknown' in found) {
      into.set(digest, found.unknown);
      return undefined;
    }
    return found;
  };
  /** What an image that may reference others references; undefined when unknown (fails the decision closed). */
  const referencesOf = (digest: string): readonly string[] | undefined => read(digest, unknownEverywhere)?.references;
  /** Whether an image is an index: as the listing says, or, when it does not say, as its manifest does. */
  const isIndexImage = (image: ListedImage): boolean => {
    if (image.mediaType !== undefined) return isIndex(image);
    const found = manifests.get(image.digest);
    if (found === undefined || 'unknown' in found) return true;
    return (found.mediaType !== undefined && INDEX_MEDIA_TYPES.includes(found.mediaType)) || found.references.length > 0;
  };

  // keepNewest counts top-level images: an index with what it references, or
  // an image that no index references and that refers to no other image (a
  // signature counts with what it signs). Which images an index references is
  // known only from its manifest, so every index of the repository is read;
  // and every untagged image manifest that matches, for its subject.
  let isTopLevel: ((image: ListedImage) => boolean) | undefined;
  if (selection.KeepNewest !== undefined) {
    const referenced = new Set<string>();
    for (const image of listing) {
      if (mayReference(image)) referencesOf(image.digest)?.forEach((child) => referenced.add(child));
    }
    // Read only once the indexes are known: a child of one is not top-level whatever it is.
    const indexesKnown = needs.size === 0 && unknownEverywhere.size === 0;
    const isReferrer = (image: ListedImage): boolean => {
      if (!indexesKnown || image.tags.length > 0 || (image.mediaType !== undefined && isIndex(image))) return false;
      return read(image.digest, unknownEverywhere)?.subject !== undefined;
    };
    isTopLevel = (image) => !referenced.has(image.digest) && !isReferrer(image);
  }
  const { matched, protectedImages, newest, chosen, removal } = expirations(listing, selection, nowMs, isTopLevel, survivors);
  const kept = new Map<string, KeptReason>([
    ...protectedImages.map((digest): [string, KeptReason] => [digest, 'protected']),
    ...[...newest].map((digest): [string, KeptReason] => [digest, 'newest']),
  ]);

  // What stays keeps what it needs: the children of an index that stays, and
  // the referrers of an image that stays, to a fixpoint. Nothing to protect
  // when no image would go, or when none would stay: then no manifest is read.
  const keptWhy = new Map<string, Kept>();
  const referencedBy = new Map<string, string>();
  const referrerOf = new Map<string, string>();
  const goes = (digest: string) => removal.get(digest)?.removesImage === true && !keptWhy.has(digest);
  const anImageGoes = [...removal.values()].some((r) => r.removesImage);
  const stays = anImageGoes ? listing.filter((image) => !goes(image.digest)).map((image) => image.digest) : [];
  if (stays.length > 0) {
    // An image the listing does not describe is read whether it stays or goes: is it an index, a referrer?
    for (const image of listing) if (image.mediaType === undefined) read(image.digest, unknownEverywhere);
    const visited = new Set(stays);
    const keep = (digest: string, why: Kept, stack: string[]) => {
      if (goes(digest)) keptWhy.set(digest, why);
      if (!visited.has(digest)) {
        visited.add(digest);
        stack.push(digest);
      }
    };
    // 1. Everything an index that stays references, through nested indexes.
    const indexes = [...stays];
    while (indexes.length > 0) {
      const digest = indexes.pop() as string;
      const image = byDigest.get(digest);
      if (!image || !mayReference(image)) continue;
      for (const child of referencesOf(digest) ?? []) {
        if (!byDigest.has(child)) continue;
        if (!referencedBy.has(child)) referencedBy.set(child, digest);
        keep(child, 'referenced', indexes);
      }
    }
    // 2. The subjects of the untagged image manifests that still go, once what
    // the indexes protect is known (no read for a child that stays anyway).
    if (needs.size === 0 && unknownEverywhere.size === 0) {
      const referrersOf = new Map<string, string[]>();
      for (const image of chosen) {
        if (!goes(image.digest) || image.tags.length > 0 || isIndexImage(image)) continue;
        const found = read(image.digest, unknownHere);
        // Unreadable: kept (its own referrers with it, below).
        if (found === undefined) keep(image.digest, 'unknown', []);
        else if (found.subject !== undefined) referrersOf.set(found.subject, [...(referrersOf.get(found.subject) ?? []), image.digest]);
      }
      // 3. The referrers of every image that stays, and theirs in turn.
      const subjects = [...visited];
      while (subjects.length > 0) {
        const digest = subjects.pop() as string;
        for (const referrer of referrersOf.get(digest) ?? []) {
          if (goes(referrer)) referrerOf.set(referrer, digest);
          keep(referrer, 'referrer', subjects);
        }
      }
      // 4. The indexes that go, for the order of the passes (an outer index before the inner one it lists), so that
      // an outer index whose deletion fails still has its inner one. Unreadable: no order known, nothing kept for it.
      for (const image of chosen) if (goes(image.digest) && isIndexImage(image)) read(image.digest, unknownHere);
    }
  }

  // Fail closed: with any needed index manifest unknown, no deletion removes an
  // image (an index too: a nested index may be what the unknown manifest
  // references); with keepNewest, which images are top-level is then unknown, so
  // no tag goes either. Until every needed manifest is read, nothing goes.
  const failClosed = unknownEverywhere.size > 0 || needs.size > 0;
  let keptReferenced = 0;
  let keptReferrers = 0;
  let keptUnknown = 0;
  const deleted: ListedImage[] = [];
  for (const image of chosen) {
    const { removesImage } = removal.get(image.digest) as { removesImage: boolean };
    const why = removesImage ? keptWhy.get(image.digest) : undefined;
    if (why === 'referenced') keptReferenced++;
    else if (why === 'referrer') keptReferrers++;
    else if (why === 'unknown') keptUnknown++;
    // keepNewest with an unknown manifest does not know which images are top-level: it removes nothing.
    else if (failClosed && (removesImage || selection.KeepNewest !== undefined)) keptUnknown++;
    else {
      deleted.push(image);
      continue;
    }
    kept.set(image.digest, why ?? 'unknown');
  }
  const unknown = [...unknownEverywhere, ...unknownHere].filter(([digest]) => !needs.has(digest)).map(([digest, cause]) => ({ digest, cause }));
  return {
    passes: passesOf(deleted, removal, isIndexImage, manifests),
    matched: matched.length,
    keptNewest: newest.size,
    keptProtected: protectedImages.length,
    keptReferenced,
    keptReferrers,
    keptUnknown,
    needs: [...needs],
    unknown,
    referencedBy,
    referrerOf,
    kept,
  };
}

/** What a selection alone takes from a listing, before anything that stays protects what it needs. */
interface Expirations {
  /** Images that met every condition before keepNewest. */
  readonly matched: readonly ListedImage[];
  /** Images the selection covers, kept for a protected tag. */
  readonly protectedImages: readonly string[];
  /** Top-level images kept by keepNewest. */
  readonly newest: ReadonlySet<string>;
  /** The images that lose something, newest first (ties by digest): the order of the deletions is the same on every run. */
  readonly chosen: readonly ListedImage[];
  /** What each chosen image loses, and whether the image goes with it. */
  readonly removal: ReadonlyMap<string, { readonly ids: WireImageId[]; readonly removesImage: boolean }>;
}

/**
 * The selection's own verdict on each image (its kind, olderThan,
 * protectTags, keepNewest over the top-level images `isTopLevel` names),
 * whatever the references between images: by digest, the whole image; by
 * tag, the matching tags (each with the digest listed), and the image with
 * them when they were all it had. An image in `survivors` loses nothing.
 */
function expirations(
  listing: readonly ListedImage[],
  selection: WireSelection,
  nowMs: number,
  isTopLevel: ((image: ListedImage) => boolean) | undefined,
  survivors: ReadonlySet<string>,
): Expirations {
  const isProtected = selection.ProtectTags ? globMatcher(selection.ProtectTags) : () => false;
  const matchesPattern = selection.Match === 'tagged' ? globMatcher(selection.TagPatterns ?? []) : () => false;
  const pushedBefore = selection.OlderThanSeconds !== undefined ? nowMs - Number(selection.OlderThanSeconds) * 1000 : Infinity;
  const protectedImages: string[] = [];
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
      protectedImages.push(image.digest);
      continue;
    }
    matched.push(image);
  }
  let newest = new Set<string>();
  if (selection.KeepNewest !== undefined && isTopLevel) {
    const topLevel = matched.filter(isTopLevel).sort(newestFirst);
    newest = new Set(topLevel.slice(0, Number(selection.KeepNewest)).map((image) => image.digest));
  }
  const chosen = matched.filter((image) => !newest.has(image.digest) && !survivors.has(image.digest)).sort(newestFirst);
  const removal = new Map<string, { readonly ids: WireImageId[]; readonly removesImage: boolean }>();
  for (const image of chosen) {
    if (selection.Match === 'tagged') {
      const tags = image.tags.filter(matchesPattern);
      const removesImage = tags.length === image.tags.length;
      // With the digest when the image goes anyway (a moved tag then gets ImageTagDoesNotMatchDigest); by name alone
      // when the image keeps other tags, because what a pair does to such an image is not documented (execute-plan.ts
      // checks these tags just before the call instead: tag-check.ts).
      removal.set(image.digest, {
        ids: tags.map((imageTag) => (removesImage ? { imageTag, imageDigest: image.digest } : { imageTag })),
        removesImage,
      });
    } else {
      removal.set(image.digest, { ids: [{ imageDigest: image.digest }], removesImage: true });
    }
  }
  return { matched, protectedImages, newest, chosen, removal };
}

/**
 * The deletions in passes: indexes first, each after every index being
 * deleted that is known to reference it (and, where that is not known, tagged
 * indexes before untagged ones: an index listed by another is pushed by
 * digest, the one listing it carries the tag); then every other image,
 * tagged before untagged, and a referrer after its subject. The order within
 * a pass stays newest first.
 * Between passes the caller adds what failed to `survivors` and selects
 * again, so an index that stays keeps what it lists.
 */
function passesOf(
  deleted: readonly ListedImage[],
  removal: ReadonlyMap<string, { readonly ids: WireImageId[] }>,
  isIndexImage: (image: ListedImage) => boolean,
  manifests: Manifests,
): WireImageId[][] {
  const indexes = deleted.filter(isIndexImage);
  const goingIndexes = new Set(indexes.map((image) => image.digest));
  // depth(inner) = 1 + depth(outer) for an outer index being deleted that lists it (no cycles in content-addressed data).
  const read = (digest: string) => {
    const found = manifests.get(digest);
    return found === undefined || 'unknown' in found ? undefined : found;
  };
  const depth = new Map(indexes.map((image) => [image.digest, read(image.digest) === undefined && image.tags.length === 0 ? 1 : 0]));
  for (let round = 0, changed = true; changed && round < indexes.length; round++) {
    changed = false;
    for (const outer of indexes) {
      for (const inner of read(outer.digest)?.references ?? []) {
        if (goingIndexes.has(inner) && (depth.get(inner) as number) <= (depth.get(outer.digest) as number)) {
          depth.set(inner, (depth.get(outer.digest) as number) + 1);
          changed = true;
        }
      }
    }
  }
  // Then the other images: tagged before untagged (a referrer is untagged), and a referrer after its subject when
  // both go and that is known (it was read).
  const plain = deleted.filter((image) => !goingIndexes.has(image.digest));
  const goingPlain = new Set(plain.map((image) => image.digest));
  const first = Math.max(-1, ...depth.values()) + 1;
  for (const image of plain) depth.set(image.digest, first + (image.tags.length === 0 ? 1 : 0));
  for (let round = 0, changed = true; changed && round < plain.length; round++) {
    changed = false;
    for (const image of plain) {
      const subject = read(image.digest)?.subject;
      if (subject !== undefined && goingPlain.has(subject) && (depth.get(image.digest) as number) <= (depth.get(subject) as number)) {
        depth.set(image.digest, (depth.get(subject) as number) + 1);
        changed = true;
      }
    }
  }
  const passes: WireImageId[][] = [];
  for (const image of deleted) (passes[depth.get(image.digest) as number] ??= []).push(...(removal.get(image.digest)?.ids ?? []));
  return passes.filter((pass) => pass !== undefined && pass.length > 0);
}

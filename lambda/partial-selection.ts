/**
 * The decision when some manifests the selection needs could not be read in
 * this event (its read budget ran out, or the registry would not say):
 * select.ts then fails closed for the whole repository, since an index that
 * stays and was not read might reference any image. This finds the part of
 * the repository where that cannot be so, decides there with select.ts, and
 * keeps the rest as select.ts kept it. Pure: no I/O, no clock.
 *
 * The slice. ECR Public's PutImage refuses an image index that references an
 * image the repository does not hold (ReferencedImagesNotFoundException), so
 * an image can be referenced only by indexes pushed at or after it; and
 * imagePushedAt is the time of the image's first push, which adding a tag does
 * not change (aws/containers-roadmap#2746). Let T0 be the newest push time of
 * an index the decision needed and could not read. Every image pushed after
 * T0 + PUSH_ORDER_MARGIN_MS is referenced by no unread index, so select.ts
 * decides on those images (the slice) as it would with every manifest read,
 * given what stays outside the slice:
 *
 * - every image outside the slice stays (it is not decided in this event);
 * - an unread index pushed within the margin after T0 moves T0 up to it (the
 *   margin covers clocks of ECR Public's hosts that differ by up to that much);
 * - the images of the slice that a known index outside it references stay
 *   (survivors), as do those whose `subject` is an image outside the slice (a
 *   signature of an image that stays).
 *
 * It applies only where select.ts's verdict on an image depends on that image
 * alone: a selection without keepNewest, and not a lifecycle policy (whose
 * count rules rank the whole repository), and only when the unread images
 * have push times. Otherwise the decision is select.ts's, fail-closed.
 * Reading the needed indexes newest first (read-order.ts) makes the slice as
 * large as the reads allow; each event's reads, kept in the reference cache,
 * extend it at the next.
 */
import type { WireImageId, WireSelection } from '../lib/contract';
import { imageIdKey } from '../lib/validation';
import type { ListedImage } from './list';
import { KeptReason, Manifests, SelectOptions, SelectionResult, isIndex, mayReference, selectImages } from './select';

/**
 * How far apart two of ECR Public's clocks may be when it records push times,
 * for the slice: a child pushed up to this long "after" the index that lists
 * it is still protected. Push times are at least a second apart from one
 * build to the next (buildx pushes children, then the index); a minute leaves
 * wide room for hosts whose clocks disagree.
 */
export const PUSH_ORDER_MARGIN_MS = 60_000;

/** Where the decision was proved: the slice of images pushed after `after` (epoch ms), or why there is none. */
export type ProvenSlice =
  { readonly after: number; readonly images: readonly ListedImage[]; readonly survivors: ReadonlySet<string> } | { readonly none: string };

/** Whether select.ts's verdict on an image depends on that image alone (and on what stays): no ranking across the repository. */
export function decidesImageByImage(selection: WireSelection): boolean {
  return selection.Match !== 'lifecycle' && selection.KeepNewest === undefined;
}

/**
 * The slice of the listing that select.ts can decide with what is known,
 * given the full decision `full` (which failed closed): the images pushed
 * after every needed index that is unknown, and the images of the slice that
 * what stays outside it needs.
 */
export function provenSlice(
  listing: readonly ListedImage[],
  selection: WireSelection,
  manifests: Manifests,
  full: SelectionResult,
  margin: number = PUSH_ORDER_MARGIN_MS,
): ProvenSlice {
  if (!decidesImageByImage(selection)) return { none: 'the selection ranks the whole repository (keepNewest, lifecycle policy)' };
  const byDigest = new Map(listing.map((image) => [image.digest, image]));
  // The push order the slice relies on, checked where it can be: no index read references an image pushed after it.
  for (const image of listing) {
    for (const child of known(manifests, image.digest)?.references ?? []) {
      const pushedAt = byDigest.get(child)?.pushedAt;
      if (pushedAt !== undefined && !(pushedAt <= image.pushedAt + margin)) {
        return { none: `index ${image.digest} references ${child}, pushed after it: push times do not say what an unread index may reference` };
      }
    }
  }
  const isUnknown = (digest: string) => {
    const read = manifests.get(digest);
    return read === undefined || 'unknown' in read;
  };
  // The needed images that may reference others, unknown, and not deleted: what made the decision fail closed (an
  // index that goes, unknown, only leaves the order of the passes unknown).
  const goes = deletedBy(full.passes);
  const blocking = [...full.needs, ...full.unknown.map((u) => u.digest)]
    .map((digest) => byDigest.get(digest))
    .filter((image): image is ListedImage => image !== undefined && mayReference(image) && !goes.has(image.digest));
  if (blocking.length === 0) return { none: 'no unread index blocks the decision' };
  let t0 = Math.max(...blocking.map((image) => image.pushedAt));
  if (!Number.isFinite(t0)) return { none: 'an unread index has no push time' };
  // Unread images that may reference others, oldest first: one within the margin after T0 moves T0 up to it.
  const unread = listing
    .filter((image) => mayReference(image) && isUnknown(image.digest) && image.pushedAt > t0)
    .sort((a, b) => a.pushedAt - b.pushedAt);
  // One without a push time may reference anything.
  if (unread.some((image) => !Number.isFinite(image.pushedAt))) return { none: 'an unread index has no push time' };
  for (const image of unread) {
    if (image.pushedAt > t0 + margin) break;
    t0 = image.pushedAt;
  }
  const after = t0 + margin;
  const inSlice = (image: ListedImage) => Number.isFinite(image.pushedAt) && image.pushedAt > after;
  const pushedAfter = listing.filter(inSlice);
  if (pushedAfter.length === 0) return { none: 'every image was pushed before an unread index' };
  // An index of the slice is one image with what it references (image-groups.ts), whenever those were pushed: a
  // platform image pushed before the slice, with a tag of its own, makes the index tagged, or protects it. So what
  // the slice's indexes reference is in the slice's listing too, as survivors: its tags count, and it stays (an
  // unread index may reference it).
  const inListing = new Set(pushedAfter.map((image) => image.digest));
  const survivors = new Set<string>();
  const pending = [...inListing];
  while (pending.length > 0) {
    for (const child of known(manifests, pending.pop() as string)?.references ?? []) {
      if (inListing.has(child) || !byDigest.has(child)) continue;
      inListing.add(child);
      survivors.add(child);
      pending.push(child);
    }
  }
  const images = listing.filter((image) => inListing.has(image.digest));
  const sliced = inListing;
  // What stays outside the slice needs: the images of the slice it references, and the referrers of it.
  for (const image of listing) {
    if (sliced.has(image.digest)) {
      const subject = known(manifests, image.digest)?.subject;
      if (subject !== undefined && byDigest.has(subject) && !sliced.has(subject)) survivors.add(image.digest);
    } else {
      for (const child of known(manifests, image.digest)?.references ?? []) if (sliced.has(child)) survivors.add(child);
    }
  }
  return { after, images, survivors };
}

function known(manifests: Manifests, digest: string): { references: readonly string[]; subject?: string } | undefined {
  const read = manifests.get(digest);
  return read === undefined || 'unknown' in read ? undefined : read;
}

/**
 * select.ts's decision, and, when it failed closed for an index it could not
 * read, the decision proved on the slice of the repository that index cannot
 * reach (provenSlice), merged with select.ts's for the rest. Call it as
 * selectImages: read what `needs` names, and call again until it needs
 * nothing. `slice` says where the decision was proved, when it was.
 */
export function selectWithWhatIsKnown(
  listing: readonly ListedImage[],
  selection: WireSelection,
  nowMs: number,
  manifests: Manifests,
  options: SelectOptions = {},
): SelectionResult & { readonly slice?: { readonly after: number; readonly images: number } } {
  const full = selectImages(listing, selection, nowMs, manifests, options);
  if (full.needs.length > 0) return full;
  const slice = provenSlice(listing, selection, manifests, full);
  if ('none' in slice) return full;
  const sliced = new Set(slice.images.map((image) => image.digest));
  const survivors = new Set([...(options.survivors ?? [])].filter((digest) => sliced.has(digest)));
  slice.survivors.forEach((digest) => survivors.add(digest));
  const where = { after: slice.after, images: slice.images.length };
  for (;;) {
    const partial = selectImages(slice.images, selection, nowMs, manifests, { ...options, survivors });
    // The slice's untagged image manifests that go, whose `subject` is not known: select.ts reads them only when
    // an image of its listing stays, but the images before the slice stay too. One that names an image before the
    // slice stays (provenSlice); one that cannot be read stays.
    const unread: string[] = [];
    let more = false;
    for (const digest of deletedBy(partial.passes)) {
      const image = slice.images.find((i) => i.digest === digest);
      if (image === undefined || image.tags.length > 0 || mayReference(image) || isIndex(image)) continue;
      const read = manifests.get(digest);
      if (read === undefined) unread.push(digest);
      else if ('unknown' in read && !survivors.has(digest)) {
        survivors.add(digest);
        more = true;
      }
    }
    if (unread.length > 0) return { ...merge(listing, full, partial, sliced), needs: [...partial.needs, ...unread], slice: where };
    if (!more) return { ...merge(listing, full, partial, sliced), slice: where };
  }
}

/** Images a decision deletes: those an ID with a digest names. */
function deletedBy(passes: readonly WireImageId[][]): Set<string> {
  return new Set(passes.flat().flatMap((id) => (id.imageDigest !== undefined ? [id.imageDigest] : [])));
}

/** The slice's decision for its images, the full (fail-closed) decision for the others. */
function merge(listing: readonly ListedImage[], full: SelectionResult, partial: SelectionResult, sliced: ReadonlySet<string>): SelectionResult {
  const digestByTag = new Map(listing.flatMap((image) => image.tags.map((tag) => [tag, image.digest] as const)));
  const digestOf = (id: WireImageId) => id.imageDigest ?? digestByTag.get(id.imageTag ?? '');
  const deleted = deletedBy(partial.passes);
  const kept = new Map<string, KeptReason>();
  for (const [digest, reason] of full.kept) if (!sliced.has(digest) || (!partial.kept.has(digest) && !deleted.has(digest))) kept.set(digest, reason);
  for (const [digest, reason] of partial.kept) kept.set(digest, reason);
  const count = (reason: KeptReason) => [...kept.values()].filter((r) => r === reason).length;
  // Outside the slice, what the full decision removes without deleting an image (tags of images that keep others).
  const sent = new Set(partial.passes.flat().map(imageIdKey));
  const outside = full.passes.flat().filter((id) => !sliced.has(digestOf(id) ?? '') && !sent.has(imageIdKey(id)));
  const referencedBy = new Map(full.referencedBy);
  partial.referencedBy.forEach((by, digest) => referencedBy.set(digest, by));
  const referrerOf = new Map(full.referrerOf);
  partial.referrerOf.forEach((subject, digest) => referrerOf.set(digest, subject));
  return {
    passes: [...partial.passes, ...(outside.length > 0 ? [outside] : [])],
    matched: full.matched,
    keptNewest: full.keptNewest,
    keptProtected: full.keptProtected,
    keptReferenced: count('referenced'),
    keptReferrers: count('referrer'),
    keptUnknown: count('unknown'),
    needs: partial.needs,
    unknown: [...new Map([...full.unknown, ...partial.unknown].map((u) => [u.digest, u] as const)).values()],
    referencedBy,
    referrerOf,
    kept,
    partOf: new Map([...[...full.partOf].filter(([digest]) => !sliced.has(digest)), ...partial.partOf]),
    keptBy: new Map([...[...full.keptBy].filter(([digest]) => !sliced.has(digest)), ...partial.keptBy]),
    expiredBy: new Map([...full.expiredBy, ...partial.expiredBy]),
    // What each rule expired is what the slice's decision deletes (the full decision, failed closed, expires nothing).
    rules: full.rules.map((rule) => ({ ...rule, expired: partial.rules.find((r) => r.priority === rule.priority)?.expired ?? 0 })),
  };
}

/**
 * Select: which images of a listing a selection deletes, without any I/O.
 *
 * Every selection is a list of rules (selection-rules.ts: an ImageSelection
 * is one rule, a lifecycle policy one rule per policy rule), and one engine
 * decides them all (rules.ts). This file builds the engine's input and turns
 * its decisions into image IDs:
 *
 * 1. The images as users see them (image-groups.ts): an image index with
 *    everything it references and the referrers (signatures, SBOMs) of those
 *    counts as one image, with the index's digest and push time and the tags
 *    of all its manifests; a referrer is not an image of its own.
 * 2. The engine decides, image by image, which rule expires it (and the tags
 *    it loses, for tagsMatching) or why it stays.
 * 3. A manifest loses something only when every image it belongs to expires:
 *    - an expired image that loses everything (a policy's expire, allImages,
 *      untaggedImages, or tagsMatching once every tag it has matched) goes
 *      whole: each manifest by digest, or, for tagsMatching, each tag with the
 *      digest listed, so that a tag that moved to another image since the
 *      listing is not removed from it (ECR Public answers
 *      ImageTagDoesNotMatchDigest, and the image just pushed keeps its tag);
 *    - under tagsMatching, an image that keeps other tags loses the matching
 *      ones: a manifest that loses its last tag goes (tag and digest, as
 *      above), and so does an untagged manifest of that image all of whose
 *      holders (the indexes listing it, the subject it refers to) go: the
 *      platform images and attestations of an index whose last tag goes go
 *      with it (and its signatures, when a rule may select untagged images:
 *      see what is read, below). A tag whose manifest keeps other tags is
 *      sent by name alone: ECR Public does not document what a pair does to
 *      an image that has other tags (were it to delete the image, the pair
 *      would delete tags nobody selected), so the caller checks, just before
 *      the call, that the tag still names the image listed (tag-check.ts).
 * 4. What stays keeps what it needs, by construction and whatever ECR Public
 *    would do:
 *    - every image that an index that stays references, directly or through
 *      nested indexes, stays (no delete by digest, no removal of its last tags);
 *    - every untagged manifest whose `subject` names an image that stays,
 *      stays. A referrer of an image this event deletes goes with it (when a
 *      rule may select untagged images, see below), as private ECR's
 *      lifecycle policies remove referrers with their subject.
 *    - An image whose deletion failed earlier in the event (`survivors`)
 *      stays, and loses nothing.
 *
 * The references and subjects come from the manifests, which the caller reads
 * from the registry: the result's `needs` lists the ones it has not given yet,
 * and the caller calls again with them. Read: every manifest that may be an
 * index (to know what makes one image), the untagged image manifests that no
 * index lists (are they referrers?) when a rule may select untagged images,
 * and every untagged manifest that goes (does it sign an image that stays?).
 * Rules that select tagged images only leave the referrers that no index
 * lists to an untagged rule: they are not read, and stay as untagged images
 * of their own when their subject goes. A selection that deletes everything
 * (allImages() without a narrowing) reads nothing unless something stays,
 * and one that can expire nothing however the manifests group (rules.ts,
 * mayExpireAny) reads nothing; either counts each manifest as an image.
 * Until every needed manifest is known the decision deletes nothing. When
 * what makes one image is unknown (an index that could not be read; or, when
 * a rule keeps the newest N of images that may be untagged, an untagged image
 * that could not be read), nothing loses anything; an untagged image manifest
 * that could not be read otherwise keeps itself.
 *
 * Deletions come in passes: image indexes first (an index that another index
 * being deleted is known to reference after it), then the other images, so
 * that a server that refuses to delete an image an index still references
 * (ImageReferencedByManifestList) can delete the orphaned children next, and
 * so that an index whose deletion fails (the caller adds it to `survivors` and
 * selects again) still protects its children.
 */
import type { WireImageId, WireSelection } from '../lib/contract';
import { ImageGroups, groupImages } from './image-groups';
import type { ListedImage } from './list';
import { ImageDecision, Rule, RuleSummary, evaluateRules, mayExpireAny, newestFirst } from './rules';
import { rulesOf } from './selection-rules';

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
 * newest a rule keeps (both for the top-level image the rule decided),
 * referenced by an index that stays (`referencedBy` names it), a referrer of
 * an image that stays (`referrerOf` names it), or a manifest that could not
 * be read.
 */
export type KeptReason = 'protected' | 'newest' | 'referenced' | 'referrer' | 'unknown';

/** What one rule did in this event. */
export interface RuleReport extends RuleSummary {
  /**
   * Top-level images the rule expires in this event: those the engine
   * expired of which something goes (or loses a tag) once what stays has kept
   * what it needs.
   */
  readonly expired: number;
}

export interface SelectionResult {
  /** Image IDs to delete, pass by pass: indexes first (outer before inner), then other images. */
  readonly passes: WireImageId[][];
  /** Top-level images that some rule selected, old enough and not protected (before keepNewest). */
  readonly matched: number;
  /** Top-level images kept as one of the newest a rule keeps (an index counts once, with what it references). */
  readonly keptNewest: number;
  /** Top-level images kept because a tag of theirs is protected. */
  readonly keptProtected: number;
  /** Images that would have gone, kept because an index that stays references them. */
  readonly keptReferenced: number;
  /** Images that would have gone, kept because they are referrers (signatures, SBOMs…) of an image that stays. */
  readonly keptReferrers: number;
  /** Images that would have gone, kept because a manifest could not be read. */
  readonly keptUnknown: number;
  /** Digests whose manifests the decision needs and `manifests` lacks; read them and select again. */
  readonly needs: string[];
  /** Manifests that could not be read, with the cause. */
  readonly unknown: ReadonlyArray<{ readonly digest: string; readonly cause: string }>;
  /** For each image an index that stays references: the first such index found. */
  readonly referencedBy: ReadonlyMap<string, string>;
  /** For each referrer kept because its subject stays: the subject. */
  readonly referrerOf: ReadonlyMap<string, string>;
  /**
   * Each image the selection covered but kept, by digest, with why: the
   * counts above, image by image, and the manifests of a kept image with
   * their image's reason (`partOf` names the image).
   */
  readonly kept: ReadonlyMap<string, KeptReason>;
  /** For each manifest kept as protected or newest that is not its image's top-level manifest: that manifest (the index). */
  readonly partOf: ReadonlyMap<string, string>;
  /** For each manifest kept as protected or newest: the priority of the rule that kept its image. */
  readonly keptBy: ReadonlyMap<string, number>;
  /** For each manifest that `passes` deletes or takes tags from: the priority of the rule that expires its image. */
  readonly expiredBy: ReadonlyMap<string, number>;
  /** Per rule, by priority: what it selected, expired and kept (the preview of get-lifecycle-policy-preview). */
  readonly rules: readonly RuleReport[];
}

/** Whether the listing says an image is an image index or manifest list (it references other images). */
export const isIndex = (image: Pick<ListedImage, 'mediaType'>): boolean =>
  image.mediaType !== undefined && INDEX_MEDIA_TYPES.includes(image.mediaType);

/**
 * Whether an image may reference others: an index, or an image whose media
 * type the listing did not give (its manifest is read to know).
 */
export const mayReference = (image: Pick<ListedImage, 'mediaType'>): boolean => image.mediaType === undefined || isIndex(image);

/**
 * Whether the rules expire every image whatever makes one: the first rule
 * selects every image, with no age, count or protected tag, and deletes it.
 * Then nothing is read to group the manifests (emptying a repository reads
 * nothing unless something stays).
 */
function expiresEverything(rules: readonly Rule[]): boolean {
  const first = [...rules].sort((a, b) => a.priority - b.priority)[0];
  return (
    first !== undefined &&
    first.tags.status === 'any' &&
    first.removes === 'image' &&
    first.olderThanMs === undefined &&
    first.keepNewest === undefined &&
    (first.protect ?? []).length === 0
  );
}

/** Whether a rule may select an untagged image: then which untagged images are referrers matters to it. */
const selectsUntagged = (rule: Rule): boolean => rule.tags.status !== 'tagged';

/** Why a covered image that would go stays instead. */
type Kept = 'referenced' | 'referrer' | 'unknown';

/** What a manifest loses: its IDs, whether the manifest goes, and the rule that expires its image. */
interface Removal {
  readonly ids: WireImageId[];
  readonly removesImage: boolean;
  readonly priority: number;
}

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
  const rules = rulesOf(selection);
  const survivors = options.survivors ?? new Set<string>();
  const byDigest = new Map(listing.map((image) => [image.digest, image]));

  const needs = new Set<string>();
  /** Unknown manifests that make the whole decision fail closed: those that say what makes one image. */
  const unknownEverywhere = new Map<string, string>();
  /** Unknown untagged image manifests, each keeping only itself; and indexes that go, whose order is then unknown (reported only). */
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
  /** What a manifest says, if it was read; nothing recorded otherwise. */
  const known = (digest: string) => {
    const found = manifests.get(digest);
    return found === undefined || 'unknown' in found ? undefined : found;
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

  // 1. What makes one image: every manifest that may be an index, then the untagged image manifests no index lists
  // (referrers?) when a rule may select untagged images. A selection that deletes everything needs neither, nor does
  // one that can expire nothing however the manifests group (then each counts as an image of its own).
  const grouped = !expiresEverything(rules) && mayExpireAny(rules, listing, nowMs);
  if (grouped) {
    for (const image of listing) if (mayReference(image)) read(image.digest, unknownEverywhere);
    if (needs.size === 0 && unknownEverywhere.size === 0) {
      const listed = new Set<string>();
      for (const image of listing) if (mayReference(image)) for (const child of known(image.digest)?.references ?? []) listed.add(child);
      const candidates = listing.filter((image) => image.tags.length === 0 && !isIndexImage(image) && !listed.has(image.digest));
      // Only when a rule may select untagged images: rules that select tagged images only (tagsMatching, a policy of
      // tagged rules) leave the referrers no index lists to an untagged rule, as an untagged image of its own once its
      // subject is gone; finding them would take a read of every untagged image of the repository.
      if (rules.some(selectsUntagged)) {
        // Unknown: which untagged images are top-level is unknown; that matters to the whole decision when a rule ranks them.
        const ranks = rules.some((rule) => selectsUntagged(rule) && rule.keepNewest !== undefined);
        for (const image of candidates) read(image.digest, ranks ? unknownEverywhere : unknownHere);
      }
    }
  }
  const groups = groupImages(listing, {
    referencesOf: (digest) => (grouped ? (known(digest)?.references ?? []) : []),
    subjectOf: (digest) => {
      const subject = grouped ? known(digest)?.subject : undefined;
      return subject !== undefined && byDigest.has(subject) && !isIndexImage(byDigest.get(digest) as ListedImage) ? subject : undefined;
    },
  });

  // 2. The engine's decisions, image by image; 3. what each manifest loses.
  const evaluation = evaluateRules(groups.images, rules, nowMs);
  const removal = removals(listing, groups, evaluation.images, survivors);
  // The images a rule selected and kept (protected, or one of the newest), each manifest of them with the reason.
  const kept = new Map<string, KeptReason>();
  const keptBy = new Map<string, number>();
  const partOf = new Map<string, string>();
  for (const decision of evaluation.images) {
    if (decision.outcome !== 'keep' || (decision.reason !== 'protected' && decision.reason !== 'amongNewest')) continue;
    for (const digest of groups.membersOf(decision.digest)) {
      if (kept.has(digest) || removal.has(digest)) continue;
      kept.set(digest, decision.reason === 'protected' ? 'protected' : 'newest');
      keptBy.set(digest, decision.priority);
      if (digest !== decision.digest) partOf.set(digest, decision.digest);
    }
  }
  const chosen = listing.filter((image) => removal.has(image.digest)).sort(newestFirst);

  // 4. What stays keeps what it needs: the children of an index that stays, and
  // the referrers of an image that stays, to a fixpoint. Nothing to protect
  // when no image would go, or when none would stay: then nothing more is read.
  const keptWhy = new Map<string, Kept>();
  const referencedBy = new Map<string, string>();
  const referrerOf = new Map<string, string>();
  const goes = (digest: string) => removal.get(digest)?.removesImage === true && !keptWhy.has(digest);
  // An untagged image that could not be read keeps itself (and, below, what it needs).
  for (const image of chosen)
    if (goes(image.digest) && unknownHere.has(image.digest) && !needs.has(image.digest)) keptWhy.set(image.digest, 'unknown');
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
    // 4a. Everything an index that stays references, through nested indexes.
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
    // 4b. The subjects of the untagged image manifests that still go, once what
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
      // 4c. The referrers of every image that stays, and theirs in turn.
      const subjects = [...visited];
      while (subjects.length > 0) {
        const digest = subjects.pop() as string;
        for (const referrer of referrersOf.get(digest) ?? []) {
          if (goes(referrer)) referrerOf.set(referrer, digest);
          keep(referrer, 'referrer', subjects);
        }
      }
      // 4d. The indexes that go, for the order of the passes (an outer index before the inner one it lists), so that
      // an outer index whose deletion fails still has its inner one. Unreadable: no order known, nothing kept for it.
      for (const image of chosen) if (goes(image.digest) && isIndexImage(image)) read(image.digest, unknownHere);
    }
  }

  // Fail closed: until every needed manifest is read, and whenever one that
  // says what makes one image (or what a kept index references) is unknown,
  // nothing loses anything, not even a tag: which image a tag belongs to, and
  // so what the rules decide for it, is unknown.
  const failClosed = unknownEverywhere.size > 0 || needs.size > 0;
  let keptReferenced = 0;
  let keptReferrers = 0;
  let keptUnknown = 0;
  const deleted: ListedImage[] = [];
  for (const image of chosen) {
    const { removesImage } = removal.get(image.digest) as Removal;
    const why = removesImage ? keptWhy.get(image.digest) : undefined;
    if (why === 'referenced') keptReferenced++;
    else if (why === 'referrer') keptReferrers++;
    else if (why === 'unknown' || failClosed) keptUnknown++;
    else {
      deleted.push(image);
      continue;
    }
    kept.set(image.digest, why ?? 'unknown');
  }
  // When a manifest the decision depends on could not be read, what makes one image is unknown: what the rules kept
  // as protected or newest was decided on a guess too, and the unreadable manifests themselves are kept for that
  // reason, whatever the rules decided for them: every image the rules covered is kept because a manifest is unknown.
  if (failClosed && needs.size === 0) {
    for (const [digest, why] of kept) {
      if (why !== 'protected' && why !== 'newest') continue;
      kept.set(digest, 'unknown');
      keptUnknown++;
    }
    keptBy.clear();
    partOf.clear();
    for (const digest of unknownEverywhere.keys()) {
      if (kept.has(digest) || survivors.has(digest) || !byDigest.has(digest)) continue;
      kept.set(digest, 'unknown');
      keptUnknown++;
    }
  }
  /** Top-level images kept for a reason of the rules (not a manifest kept with its image). */
  const keptImages = (reason: KeptReason) => [...kept].filter(([digest, why]) => why === reason && !partOf.has(digest)).length;

  // The preview: which rule expires each manifest that goes, and how many images each rule expires.
  const expiredBy = new Map(deleted.map((image) => [image.digest, (removal.get(image.digest) as Removal).priority]));
  const expiredImages = new Map<number, number>();
  for (const decision of evaluation.images) {
    if (decision.outcome !== 'expire') continue;
    if (groups.membersOf(decision.digest).some((digest) => expiredBy.has(digest))) {
      expiredImages.set(decision.priority, (expiredImages.get(decision.priority) ?? 0) + 1);
    }
  }
  const sum = (count: (rule: RuleSummary) => number) => evaluation.rules.reduce((total, rule) => total + count(rule), 0);
  const unknown = [...unknownEverywhere, ...unknownHere].filter(([digest]) => !needs.has(digest)).map(([digest, cause]) => ({ digest, cause }));
  return {
    passes: passesOf(deleted, removal, isIndexImage, manifests),
    matched: sum((rule) => rule.expired + rule.keptNewest),
    keptNewest: keptImages('newest'),
    keptProtected: keptImages('protected'),
    keptReferenced,
    keptReferrers,
    keptUnknown,
    needs: [...needs],
    unknown,
    referencedBy,
    referrerOf,
    kept,
    partOf,
    keptBy,
    expiredBy,
    rules: evaluation.rules.map((rule) => ({ ...rule, expired: expiredImages.get(rule.priority) ?? 0 })),
  };
}

/**
 * What each manifest loses, from the engine's decisions on the images it
 * belongs to (the file's comment, step 3). A manifest that belongs to an image
 * that stays, or to none, or whose deletion failed (`survivors`), loses nothing.
 */
function removals(
  listing: readonly ListedImage[],
  groups: ImageGroups,
  decisions: readonly ImageDecision[],
  survivors: ReadonlySet<string>,
): Map<string, Removal> {
  const decisionOf = new Map(decisions.map((decision) => [decision.digest, decision]));
  const removal = new Map<string, Removal>();
  /** Untagged manifests of expired images that keep some tags: they go once everything that holds them goes. */
  const followers: Array<{ readonly digest: string; readonly priority: number }> = [];
  for (const image of listing) {
    if (survivors.has(image.digest)) continue;
    const of = groups.groupsOf(image.digest);
    const expired: Array<Extract<ImageDecision, { outcome: 'expire' }>> = [];
    for (const group of of) {
      const decision = decisionOf.get(group);
      if (decision?.outcome === 'expire') expired.push(decision);
    }
    if (expired.length === 0 || expired.length < of.length) continue;
    const priority = Math.min(...expired.map((decision) => decision.priority));
    const tagsOnly = expired[0].tags !== undefined;
    const lost = tagsOnly ? image.tags.filter((tag) => expired.some((decision) => decision.tags?.includes(tag))) : image.tags;
    const whole = expired.some((decision) => decision.removesImage);
    if (whole || (image.tags.length > 0 && lost.length === image.tags.length)) {
      // The manifest goes: by digest, or each tag with the digest listed (a tag that moved is then not removed).
      const ids =
        tagsOnly && image.tags.length > 0 ? image.tags.map((imageTag) => ({ imageTag, imageDigest: image.digest })) : [{ imageDigest: image.digest }];
      removal.set(image.digest, { ids, removesImage: true, priority });
    } else if (lost.length > 0) {
      // The manifest keeps other tags: by name alone (tag-check.ts checks them just before the call).
      removal.set(image.digest, { ids: lost.map((imageTag) => ({ imageTag })), removesImage: false, priority });
    } else if (image.tags.length === 0 && groups.holders.has(image.digest)) {
      followers.push({ digest: image.digest, priority });
    }
  }
  for (let changed = true; changed;) {
    changed = false;
    for (const { digest, priority } of followers) {
      if (removal.has(digest) || !(groups.holders.get(digest) as string[]).every((holder) => removal.get(holder)?.removesImage === true)) continue;
      removal.set(digest, { ids: [{ imageDigest: digest }], removesImage: true, priority });
      changed = true;
    }
  }
  return removal;
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

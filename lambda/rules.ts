/**
 * Rules: which top-level images an ordered list of rules expires, and why
 * each other image stays. Pure: no I/O, no clock (the caller gives `nowMs`).
 *
 * Every selection is a list of rules for it: an ImageSelection is one rule
 * (selection-rules.ts, ruleOfSelection), a lifecycle policy one rule per
 * policy rule (rulesOfPolicy). The semantics are private ECR's, as "Automate
 * the cleanup of images by using lifecycle policies in Amazon ECR" states
 * them (https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html,
 * "Lifecycle policy evaluation rules"):
 *
 * - "All rules are evaluated at the same time, regardless of rule priority.
 *   After all rules are evaluated, they are then applied based on rule
 *   priority." Each rule sees the whole repository: it ranks and marks as if
 *   no other rule existed ("Rules can never mark images that are marked by
 *   higher priority rules, but can still identify them as if they haven't
 *   been expired").
 * - "An image is expired by exactly one or zero rules", and "an image that
 *   matches the tagging requirements of a rule cannot be expired by a rule
 *   with a lower priority": so an image belongs to the first rule (lowest
 *   priority number) whose tag selection it matches, and only that rule
 *   may expire it, whether or not it does.
 * - A count rule keeps the newest `keepNewest` of what it selects, "sorted
 *   from youngest to oldest based on pushed_at_time"; an age rule expires
 *   what was pushed strictly more than `olderThanMs` before now.
 *
 * Where the documentation is silent (docs/lifecycle-policies.md says why):
 * equal push times rank by digest, the smaller counting as newer, so the
 * choice is the same on every run; an image without a push time
 * (pushedAt = +Infinity) counts as the newest and is never old enough; tags
 * match case-sensitively, as registries store them.
 *
 * An image here is a top-level image, as users see it: an image index with
 * what only it references, or an image that no index references. Its tags,
 * push time and digest are the caller's to build (the index's own push time
 * and digest); the members go or stay with it, and what a kept index
 * references is the caller's to keep (select.ts's closure).
 */

/** One image as users see it. */
export interface TopLevelImage {
  readonly digest: string;
  readonly tags: readonly string[];
  /** Epoch milliseconds; +Infinity when unknown. */
  readonly pushedAt: number;
}

/**
 * One entry of a tag selection: a prefix (lifecycle policies' tagPrefixList),
 * or a glob that matches a whole tag: `*` any run of characters, and with
 * `questionMark`, `?` one character (ImageSelection's patterns). Without it,
 * `?` is itself (lifecycle policies' tagPatternList has `*` only).
 */
export type TagTest = { readonly prefix: string } | { readonly glob: string; readonly questionMark?: boolean };

/**
 * Which images a rule selects by their tags.
 * - `any`: every image; `untagged`: images without a tag.
 * - `tagged` with `every`: images that have, for each test, a tag it matches
 *   (a lifecycle rule's lists: "an image is successfully matched if all of
 *   the tags in the tagPatternList or tagPrefixList value are matched against
 *   any of the image's tags").
 * - `tagged` with `some`: images with a tag that one of the tests matches
 *   (ImageSelection.tagsMatching).
 */
export type TagSelection =
  | { readonly status: 'any' }
  | { readonly status: 'untagged' }
  | { readonly status: 'tagged'; readonly every: readonly TagTest[] }
  | { readonly status: 'tagged'; readonly some: readonly TagTest[] };

export interface Rule {
  /** Unique among the rules; the lower, the earlier the rule applies. */
  readonly priority: number;
  /** For reports only. */
  readonly description?: string;
  readonly tags: TagSelection;
  /** Only images pushed strictly more than this many milliseconds before now. */
  readonly olderThanMs?: number;
  /** Of the images the rule selects (and are old enough), the newest N are kept. */
  readonly keepNewest?: number;
  /**
   * An image with a tag one of these tests matches is kept by this rule,
   * does not count for keepNewest, and no later rule may expire it.
   */
  readonly protect?: readonly TagTest[];
  /**
   * What an expired image loses: the whole image (a lifecycle policy's
   * expire), or only its tags that the tag selection matched, the image with
   * them when they were all it had (ImageSelection.tagsMatching).
   */
  readonly removes: 'image' | 'matchingTags';
}

/** Why an image stays. */
export type KeepReason =
  /** No rule selects it by its tags. */
  | 'noRule'
  /** Its rule (the first that selects it) protects one of its tags. */
  | 'protected'
  /** Its rule expires only older images. */
  | 'tooRecent'
  /** Its rule keeps the newest N, and this is one of them. */
  | 'amongNewest';

/** What the rules decide for one image. */
export type ImageDecision =
  | {
      readonly digest: string;
      readonly outcome: 'expire';
      /** Priority of the rule that expires it. */
      readonly priority: number;
      /** Tags it loses when the rule removes matching tags only; absent when the whole image goes. */
      readonly tags?: readonly string[];
      /** Whether the image itself goes (by digest, or with its last tags). */
      readonly removesImage: boolean;
    }
  | { readonly digest: string; readonly outcome: 'keep'; readonly reason: 'noRule' }
  | {
      readonly digest: string;
      readonly outcome: 'keep';
      readonly reason: Exclude<KeepReason, 'noRule'>;
      /** Priority of the rule the image belongs to (the first that selects it by its tags). */
      readonly priority: number;
    };

/** What one rule did: the images it decides (the first rule to select them), by outcome. */
export interface RuleSummary {
  readonly priority: number;
  readonly description?: string;
  /** Images the rule selects by tags, the whole repository (what it "identifies", as the documentation says). */
  readonly selected: number;
  readonly expired: number;
  readonly keptNewest: number;
  readonly keptTooRecent: number;
  readonly keptProtected: number;
}

export interface Evaluation {
  /** One decision per image, in the order of the input. */
  readonly images: readonly ImageDecision[];
  /** One summary per rule, by priority. */
  readonly rules: readonly RuleSummary[];
}

/** Compiles tag tests into one predicate on a tag: does any test match it? */
export function tagMatcher(tests: readonly TagTest[]): (tag: string) => boolean {
  const one = tests.map(testOf);
  return (tag) => one.some((test) => test(tag));
}

function testOf(test: TagTest): (tag: string) => boolean {
  if ('prefix' in test) {
    const prefix = test.prefix;
    return (tag) => tag.startsWith(prefix);
  }
  const source = test.glob
    .split('')
    .map((char) => (char === '*' ? '.*' : char === '?' && test.questionMark ? '.' : char.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')))
    .join('');
  const regex = new RegExp(`^${source}$`);
  return (tag) => regex.test(tag);
}

/** Whether an image is selected by a tag selection. */
function tagSelector(selection: TagSelection): (image: TopLevelImage) => boolean {
  switch (selection.status) {
    case 'any':
      return () => true;
    case 'untagged':
      return (image) => image.tags.length === 0;
    case 'tagged':
      if ('every' in selection) {
        const tests = selection.every.map((test) => tagMatcher([test]));
        return (image) => image.tags.length > 0 && tests.every((test) => image.tags.some(test));
      } else {
        const test = tagMatcher(selection.some);
        return (image) => image.tags.some(test);
      }
  }
}

/** Newest first by push time; equal push times by digest, the smaller first. */
export function newestFirst(a: TopLevelImage, b: TopLevelImage): number {
  if (a.pushedAt !== b.pushedAt) return a.pushedAt > b.pushedAt ? -1 : 1;
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}

/** Why the first rule that selects an image decides what it decides (the codes of `evaluateRules`'s typed arrays). */
const EXPIRE = 0;
const PROTECTED = 1;
const TOO_RECENT = 2;
const AMONG_NEWEST = 3;
const NO_RULE = -1;

/**
 * Decides, for each image, which rule expires it or why it stays.
 *
 * Each rule, by priority, ranks every image it selects by its tags, newest
 * first, whatever earlier rules decided (it "identifies" them); the first rule
 * to select an image decides it. Plain loops over typed arrays: a repository
 * holds up to 100,000 images, and the handler's heap is small.
 * @throws when two rules share a priority (validation refuses such a policy before)
 */
export function evaluateRules(images: readonly TopLevelImage[], rules: readonly Rule[], nowMs: number): Evaluation {
  const ordered = [...rules].sort((a, b) => a.priority - b.priority);
  ordered.forEach((rule, index) => {
    if (index > 0 && ordered[index - 1].priority === rule.priority) {
      throw new Error(`two rules have priority ${rule.priority}: a rule's priority is unique`);
    }
  });
  const ranked = Array.from(images.keys()).sort((a, b) => newestFirst(images[a], images[b]));
  /** For each image: the index (in `ordered`) of the first rule that selects it, and what that rule decides. */
  const owner = new Int32Array(images.length).fill(NO_RULE);
  const outcome = new Uint8Array(images.length);
  const selected = ordered.map(() => 0);
  ordered.forEach((rule, r) => {
    const selects = tagSelector(rule.tags);
    const protectedTag = rule.protect && rule.protect.length > 0 ? tagMatcher(rule.protect) : undefined;
    const pushedBefore = rule.olderThanMs === undefined ? undefined : nowMs - rule.olderThanMs;
    const keepNewest = rule.keepNewest ?? 0;
    let kept = 0;
    for (const i of ranked) {
      const image = images[i];
      if (!selects(image)) continue;
      selected[r]++;
      let why = EXPIRE;
      if (protectedTag !== undefined && image.tags.some(protectedTag)) why = PROTECTED;
      else if (pushedBefore !== undefined && !(image.pushedAt < pushedBefore)) why = TOO_RECENT;
      else if (kept < keepNewest) {
        kept++;
        why = AMONG_NEWEST;
      }
      if (owner[i] === NO_RULE) {
        owner[i] = r;
        outcome[i] = why;
      }
    }
  });

  const counts = ordered.map(() => ({ expired: 0, keptNewest: 0, keptTooRecent: 0, keptProtected: 0 }));
  const removes = ordered.map(removedTags);
  const decisions = images.map((image, i): ImageDecision => {
    const r = owner[i];
    if (r === NO_RULE) return { digest: image.digest, outcome: 'keep', reason: 'noRule' };
    const rule = ordered[r];
    const priority = rule.priority;
    switch (outcome[i]) {
      case PROTECTED:
        counts[r].keptProtected++;
        return { digest: image.digest, outcome: 'keep', reason: 'protected', priority };
      case TOO_RECENT:
        counts[r].keptTooRecent++;
        return { digest: image.digest, outcome: 'keep', reason: 'tooRecent', priority };
      case AMONG_NEWEST:
        counts[r].keptNewest++;
        return { digest: image.digest, outcome: 'keep', reason: 'amongNewest', priority };
      default:
        counts[r].expired++;
        return { digest: image.digest, outcome: 'expire', priority, ...removal(removes[r], image) };
    }
  });
  const summaries = ordered.map((rule, r): RuleSummary => ({
    priority: rule.priority,
    ...(rule.description !== undefined ? { description: rule.description } : {}),
    selected: selected[r],
    ...counts[r],
  }));
  return { images: decisions, rules: summaries };
}

/**
 * Whether the rules may expire an image of a repository made of these
 * manifests, however they group into images (an image's digest and push time
 * being one manifest's, its tags those of some manifests): false only when no
 * grouping can give an image that a rule expires. An image a rule expires has
 * a manifest of its own that is old enough (untagged, when the rule selects
 * untagged images), ranks past the rule's keepNewest among such images, and
 * has tags its tag selection matches. The caller reads nothing to group the
 * manifests when this is false: every grouping then expires nothing.
 */
export function mayExpireAny(rules: readonly Rule[], manifests: readonly TopLevelImage[], nowMs: number): boolean {
  return rules.some((rule) => {
    const pushedBefore = rule.olderThanMs === undefined ? undefined : nowMs - rule.olderThanMs;
    let ownManifests = 0;
    for (const manifest of manifests) {
      if (pushedBefore !== undefined && !(manifest.pushedAt < pushedBefore)) continue;
      if (rule.tags.status === 'untagged' && manifest.tags.length > 0) continue;
      ownManifests++;
    }
    if (ownManifests <= (rule.keepNewest ?? 0)) return false;
    if (rule.tags.status !== 'tagged') return true;
    const tags = manifests.flatMap((manifest) => manifest.tags);
    if ('every' in rule.tags) return rule.tags.every.every((test) => tags.some(tagMatcher([test])));
    return tags.some(tagMatcher(rule.tags.some));
  });
}

/**
 * What an expired image loses under a rule: the whole image, or, when the
 * rule removes matching tags only, the tags `matches` takes (and the image
 * with them when they were all it had).
 */
function removal(
  matches: ((tag: string) => boolean) | undefined,
  image: TopLevelImage,
): { readonly tags?: readonly string[]; readonly removesImage: boolean } {
  if (matches === undefined) return { removesImage: true };
  const tags = image.tags.filter(matches);
  return { tags, removesImage: tags.length === image.tags.length };
}

/** The tags a rule removes from an image it expires, when it removes matching tags only. */
function removedTags(rule: Rule): ((tag: string) => boolean) | undefined {
  if (rule.removes === 'image' || rule.tags.status !== 'tagged') return undefined;
  return tagMatcher('every' in rule.tags ? rule.tags.every : rule.tags.some);
}

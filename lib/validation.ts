/**
 * The rules for valid resource properties, written once and used twice: by the
 * construct at synth time (values that are known then) and by the handler at
 * deploy time (values that were tokens at synth time).
 *
 * Like contract.ts, this file imports neither `aws-cdk-lib` nor `constructs`.
 */
import {
  API_REGIONS,
  DELETION_POLICIES,
  LIFECYCLE_EVENTS,
  LifecycleEvent,
  MAX_REGISTRY_READS_PER_SECOND,
  MIN_REGISTRY_READS_PER_SECOND,
  SELECTION_MATCHES,
  WireImageId,
  WireProperties,
} from './contract';

/** ECR Public's repository name pattern (API model, RepositoryName). */
const REPOSITORY_NAME_PATTERN = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const REPOSITORY_NAME_MIN = 2;
const REPOSITORY_NAME_MAX = 205;
const REGISTRY_ID_PATTERN = /^[0-9]{12}$/;
const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;
const LOGICAL_ID_PATTERN = /^[A-Za-z0-9]{1,255}$/;
const TAG_MIN = 1;
const TAG_MAX = 300;

/**
 * Most image IDs one resource may declare. A limit keeps a runaway list (a loop
 * gone wrong) from turning into thousands of API calls; it is far above what a
 * CloudFormation template can carry in practice (about 90 bytes per digest).
 */
export const MAX_IMAGE_IDS = 10_000;

const IMAGE_ID_FIELDS = ['imageTag', 'imageDigest'];

/**
 * Characters no tag holds: control characters (which JSON escapes to six
 * bytes each), whitespace and separators of any script, and lone surrogates
 * (not text at all). ECR Public would refuse such a tag; a pattern with one
 * could never match.
 */
const UNPRINTABLE = /[\p{Cc}\p{Z}\s]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u;

/** Names the first control character, whitespace or lone surrogate in a tag or pattern, if any. */
export function unprintableProblem(value: string, what: string): string | undefined {
  const found = UNPRINTABLE.exec(value);
  if (!found) return undefined;
  const code = `U+${found[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  return `${what} ${quoteValue(value)} has ${code} at index ${found.index} (tags and tag patterns take no control characters, whitespace or lone surrogates)`;
}

/** Quotes a value for an error message, shortened so one bad value cannot flood the reason. */
export function quoteValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') {
    text = JSON.stringify(value);
  } else if (value === undefined) {
    text = 'undefined';
  } else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Tells whether a value is one the check must let through (a token at synth time). */
export type SkipValue = (value: unknown) => boolean;
const skipNothing: SkipValue = () => false;

export function repositoryNameProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') {
    return `repositoryName must be a string, got ${quoteValue(value)}`;
  }
  if (value.length < REPOSITORY_NAME_MIN || value.length > REPOSITORY_NAME_MAX) {
    return `repositoryName ${quoteValue(value)} has ${value.length} characters (expected ${REPOSITORY_NAME_MIN} to ${REPOSITORY_NAME_MAX})`;
  }
  if (!REPOSITORY_NAME_PATTERN.test(value)) {
    return `repositoryName ${quoteValue(value)} is not a valid ECR Public repository name (expected lowercase letters and digits, separated by single '.', '_', '-' or '/')`;
  }
  return undefined;
}

export function registryIdProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || !REGISTRY_ID_PATTERN.test(value)) {
    return `registryId ${quoteValue(value)} is not an AWS account ID (expected 12 digits)`;
  }
  return undefined;
}

/**
 * What is wrong with a registry read rate (a number, or its wire form, a
 * decimal string), or undefined when it is one.
 */
export function registryReadRateProblem(value: unknown): string | undefined {
  const rate = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (Number.isFinite(rate) && rate >= MIN_REGISTRY_READS_PER_SECOND && rate <= MAX_REGISTRY_READS_PER_SECOND) return undefined;
  return (
    `registryReadsPerSecond ${quoteValue(value)} is not a rate of registry reads (expected a number from ${MIN_REGISTRY_READS_PER_SECOND} to ` +
    `${MAX_REGISTRY_READS_PER_SECOND} reads per second; ECR Public's authenticated pull quota is 10 per second unless raised)`
  );
}

export function apiRegionProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || !API_REGIONS.includes(value)) {
    return `apiRegion ${quoteValue(value)} does not serve the ECR Public API (allowed: ${API_REGIONS.join(', ')})`;
  }
  return undefined;
}

/**
 * Problems of one image ID, each prefixed with `imageIds[index]`.
 * An entry needs a tag, a digest or both, exactly as BatchDeleteImage takes it.
 */
export function imageIdProblems(entry: unknown, index: number, skip: SkipValue = skipNothing): string[] {
  const where = `imageIds[${index}]`;
  if (skip(entry)) {
    return [];
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return [`${where} must be an object with imageTag and/or imageDigest, got ${quoteValue(entry)}`];
  }
  const record = entry as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(record)) {
    if (!IMAGE_ID_FIELDS.includes(key)) {
      problems.push(`${where} has an unknown field ${quoteValue(key)} (allowed: ${IMAGE_ID_FIELDS.join(', ')})`);
    }
  }
  const { imageTag, imageDigest } = record;
  if (imageTag === undefined && imageDigest === undefined) {
    problems.push(`${where} has neither imageTag nor imageDigest (expected at least one)`);
  }
  if (imageTag !== undefined && !skip(imageTag)) {
    if (typeof imageTag !== 'string') {
      problems.push(`${where}: imageTag must be a string, got ${quoteValue(imageTag)}`);
    } else if (imageTag.length < TAG_MIN || imageTag.length > TAG_MAX) {
      problems.push(`${where}: imageTag ${quoteValue(imageTag)} has ${imageTag.length} characters (expected ${TAG_MIN} to ${TAG_MAX})`);
    } else {
      const problem = unprintableProblem(imageTag, `${where}: imageTag`);
      if (problem) problems.push(problem);
    }
  }
  if (imageDigest !== undefined && !skip(imageDigest)) {
    if (typeof imageDigest !== 'string' || !DIGEST_PATTERN.test(imageDigest)) {
      problems.push(
        `${where}: imageDigest ${quoteValue(imageDigest)} is not a sha256 digest (expected sha256: followed by 64 lowercase hex characters)`,
      );
    }
  }
  return problems;
}

export function imageIdsProblems(value: unknown, skip: SkipValue = skipNothing): string[] {
  if (!Array.isArray(value)) {
    return [`imageIds must be a list of image IDs, got ${quoteValue(value)}`];
  }
  if (value.length === 0) {
    return ['imageIds is empty (expected at least one image ID: { imageTag } and/or { imageDigest })'];
  }
  if (value.length > MAX_IMAGE_IDS) {
    return [`imageIds has ${value.length} entries (expected at most ${MAX_IMAGE_IDS}; split the deletion over several resources)`];
  }
  return value.flatMap((entry, index) => imageIdProblems(entry, index, skip));
}

export function deleteOnProblems(value: unknown, skip: SkipValue = skipNothing): string[] {
  if (!Array.isArray(value)) {
    return [`deleteOn must be a list of events, got ${quoteValue(value)}`];
  }
  if (value.length === 0) {
    return [`deleteOn is empty: nothing would ever be deleted (allowed: one or more of ${LIFECYCLE_EVENTS.join(', ')})`];
  }
  return value
    .filter((event) => !skip(event) && !LIFECYCLE_EVENTS.includes(event as LifecycleEvent))
    .map((event) => `deleteOn has an unknown event ${quoteValue(event)} (allowed: ${LIFECYCLE_EVENTS.join(', ')})`);
}

const PATTERN_MAX = 300;

function patternListProblems(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    return [`${name} must be a non-empty list of tag patterns, got ${quoteValue(value)}`];
  }
  return value
    .map((pattern, index) =>
      typeof pattern !== 'string' || pattern.length === 0 || pattern.length > PATTERN_MAX
        ? `${name}[${index}] ${quoteValue(pattern)} is not a tag pattern (expected 1 to ${PATTERN_MAX} characters; * matches any run of characters, ? one)`
        : unprintableProblem(pattern, `${name}[${index}]`),
    )
    .filter((problem): problem is string => problem !== undefined);
}

function positiveIntegerProblem(value: unknown, name: string, meaning: string): string | undefined {
  const number = typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(number) && number >= 1
    ? undefined
    : `${name} must be a whole number of at least 1 (${meaning}), got ${quoteValue(value)}`;
}

/** Whether a glob pattern matches every tag: only `*`s, with at least one. */
function matchesEveryTag(pattern: string): boolean {
  return /^\*+$/.test(pattern);
}

/**
 * Problems of a selection, named as the ImageSelection methods that set them.
 * Contradictions (a selection that could never delete anything) are problems too.
 */
export function selectionProblems(value: unknown, skip: SkipValue = skipNothing): string[] {
  if (skip(value)) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [`select must be an ImageSelection, got ${quoteValue(value)}`];
  }
  const selection = value as Record<string, unknown>;
  const problems: string[] = [];
  const match = selection.Match;
  if (!SELECTION_MATCHES.includes(match as never)) {
    problems.push(`select has an unknown kind ${quoteValue(match)} (allowed: ${SELECTION_MATCHES.join(', ')})`);
  }
  if (match === 'tagged') {
    if (!skip(selection.TagPatterns)) problems.push(...patternListProblems(selection.TagPatterns, 'select.tagsMatching'));
  } else if (selection.TagPatterns !== undefined) {
    problems.push(`select.tagsMatching patterns are given, but the selection is ${quoteValue(match)}, not tagsMatching`);
  }
  if (selection.OlderThanSeconds !== undefined && !skip(selection.OlderThanSeconds)) {
    const problem = positiveIntegerProblem(selection.OlderThanSeconds, 'select.olderThan', 'seconds since the push');
    if (problem) problems.push(problem);
  }
  if (selection.KeepNewest !== undefined && !skip(selection.KeepNewest)) {
    const problem = positiveIntegerProblem(selection.KeepNewest, 'select.keepNewest', 'images kept');
    if (problem) problems.push(problem);
  }
  const protect = selection.ProtectTags;
  if (protect !== undefined && !skip(protect)) {
    const listProblems = patternListProblems(protect, 'select.protectTags');
    problems.push(...listProblems);
    if (listProblems.length === 0) {
      const patterns = protect as string[];
      if (match === 'untagged') {
        problems.push('select.protectTags has no effect on untaggedImages(): untagged images have no tags to protect');
      }
      const everyTag = patterns.find((pattern) => !skip(pattern) && matchesEveryTag(pattern));
      if (everyTag !== undefined && match === 'tagged') {
        problems.push(`select.protectTags ${quoteValue(everyTag)} protects every tag: tagsMatching(...) could never delete anything`);
      } else if (everyTag !== undefined && match === 'all') {
        problems.push(`select.protectTags ${quoteValue(everyTag)} protects every tagged image: use ImageSelection.untaggedImages() instead`);
      }
      if (match === 'tagged' && Array.isArray(selection.TagPatterns)) {
        for (const pattern of selection.TagPatterns as unknown[]) {
          if (typeof pattern === 'string' && !skip(pattern) && patterns.includes(pattern)) {
            problems.push(`select.tagsMatching ${quoteValue(pattern)} is also in protectTags: it could never delete anything`);
          }
        }
      }
    }
  }
  return problems;
}

/** Identity of an image ID: two entries with the same key ask for the same deletion. */
export function imageIdKey(id: WireImageId): string {
  return `${id.imageTag ?? ''}\u0000${id.imageDigest ?? ''}`;
}

/** A repeated entry: `index` repeats the entry at `firstIndex`. */
export interface Duplicate {
  readonly index: number;
  readonly firstIndex: number;
}

/**
 * Collapses exact repeats (same tag and same digest), keeping the first of each.
 * Repeats ask for the same deletion, so sending them once changes nothing but
 * the number of API calls; `{imageTag: 'v1'}` and `{imageTag: 'v1', imageDigest}`
 * are different requests and are both kept.
 */
export function collapseDuplicates<T extends WireImageId>(ids: readonly T[]): { unique: T[]; duplicates: Duplicate[] } {
  const firstSeen = new Map<string, number>();
  const unique: T[] = [];
  const duplicates: Duplicate[] = [];
  ids.forEach((id, index) => {
    const key = imageIdKey(id);
    const firstIndex = firstSeen.get(key);
    if (firstIndex === undefined) {
      firstSeen.set(key, index);
      unique.push(id);
    } else {
      duplicates.push({ index, firstIndex });
    }
  });
  return { unique, duplicates };
}

/**
 * Every problem of a set of resource properties, in the construct's property
 * names. `skip` lets unresolved tokens through at synth time.
 */
export function propertiesProblems(raw: unknown, skip: SkipValue = skipNothing): string[] {
  if (typeof raw !== 'object' || raw === null) {
    return [`resource properties must be an object, got ${quoteValue(raw)}`];
  }
  const props = raw as Record<string, unknown>;
  const problems: string[] = [];
  const check = (value: unknown, rule: (v: unknown) => string | undefined): void => {
    if (!skip(value)) {
      const problem = rule(value);
      if (problem) problems.push(problem);
    }
  };
  check(props.RepositoryName, repositoryNameProblem);
  if (props.RegistryId !== undefined) {
    check(props.RegistryId, registryIdProblem);
  }
  check(props.ApiRegion, apiRegionProblem);
  if (props.ImageIds === undefined && props.Select === undefined) {
    problems.push('neither imageIds nor select is given (expected image IDs to delete, a selection, or both)');
  }
  if (props.ImageIds !== undefined && !skip(props.ImageIds)) {
    problems.push(...imageIdsProblems(props.ImageIds, skip));
  }
  if (props.Select !== undefined) {
    problems.push(...selectionProblems(props.Select, skip));
  }
  if (props.RegistryReadsPerSecond !== undefined) {
    check(props.RegistryReadsPerSecond, registryReadRateProblem);
    if (props.Select === undefined) {
      problems.push(
        'registryReadsPerSecond is given without select: only a selection reads the registry (give select, or remove registryReadsPerSecond)',
      );
    }
  }
  if (props.DryRun !== undefined) {
    check(props.DryRun, (v) => (v === 'true' || v === 'false' ? undefined : `dryRun must be true or false, got ${quoteValue(v)}`));
  }
  if (!skip(props.DeleteOn)) {
    problems.push(...deleteOnProblems(props.DeleteOn, skip));
  }
  check(props.FailOnImageFailure, (v) =>
    v === 'true' || v === 'false' ? undefined : `failOnImageFailure must be true or false, got ${quoteValue(v)}`,
  );
  if (props.RepositoryLogicalId !== undefined) {
    check(props.RepositoryLogicalId, (v) =>
      typeof v === 'string' && LOGICAL_ID_PATTERN.test(v)
        ? undefined
        : `RepositoryLogicalId ${quoteValue(v)} is not a logical ID (expected 1 to 255 letters and digits)`,
    );
  }
  if (props.RepositoryDeletionPolicy !== undefined) {
    check(props.RepositoryDeletionPolicy, (v) =>
      DELETION_POLICIES.includes(v as string)
        ? undefined
        : `RepositoryDeletionPolicy ${quoteValue(v)} is not a DeletionPolicy (allowed: ${DELETION_POLICIES.join(', ')})`,
    );
  }
  return problems;
}

/** Thrown when resource properties break a rule; the message lists every problem. */
export class InvalidPropertiesError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid properties: ${problems.join('; ')}`);
    this.name = 'InvalidPropertiesError';
  }
}

/** Checks properties received at deploy time and returns them typed, or throws. */
export function parseProperties(raw: unknown): WireProperties {
  const problems = propertiesProblems(raw);
  if (problems.length > 0) {
    throw new InvalidPropertiesError(problems);
  }
  return raw as WireProperties;
}

/**
 * The registry's tag grammar (OCI distribution spec, which ECR Public follows):
 * a tag outside it can never exist, so declaring it deletes nothing. ECR
 * Public's API accepts such a tag and answers ImageNotFound, so this is a
 * warning at synth time, not an error.
 */
export const TAG_GRAMMAR = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const TAG_GRAMMAR_TEXT = 'a letter, digit or _, then up to 127 letters, digits, _ . or -';

/** Whether a glob pattern (`*`, `?`) can match some tag of the grammar. */
function patternCanMatchATag(pattern: string): boolean {
  return /^[A-Za-z0-9_*?][A-Za-z0-9_.\-*?]*$/.test(pattern) && pattern.replace(/\*/g, '').length <= 128;
}

/**
 * Tags and tag patterns that no image can have, in the construct's property
 * names: they are not errors (the API takes them), but they can never delete
 * anything. Values that `skip` lets through (tokens) are not judged.
 */
export function unmatchableTagWarnings(props: WireProperties, skip: SkipValue = skipNothing): string[] {
  const warnings: string[] = [];
  if (Array.isArray(props.ImageIds)) {
    props.ImageIds.forEach((id, index) => {
      const tag = id.imageTag;
      if (typeof tag === 'string' && !skip(tag) && !TAG_GRAMMAR.test(tag)) {
        warnings.push(
          `imageIds[${index}]: imageTag ${quoteValue(tag)} can never exist (a registry tag is ${TAG_GRAMMAR_TEXT}): nothing will be deleted for it`,
        );
      }
    });
  }
  const patterns = props.Select?.TagPatterns;
  if (Array.isArray(patterns) && !skip(patterns)) {
    patterns.forEach((pattern, index) => {
      if (typeof pattern === 'string' && !skip(pattern) && !patternCanMatchATag(pattern)) {
        warnings.push(
          `select.tagsMatching[${index}] ${quoteValue(pattern)} can match no tag (a registry tag is ${TAG_GRAMMAR_TEXT}): nothing will be deleted for it`,
        );
      }
    });
  }
  return warnings;
}

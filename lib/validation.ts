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
  LIFECYCLE_COUNT_TYPES,
  LIFECYCLE_EVENTS,
  LIFECYCLE_MAX_RULES,
  LIFECYCLE_PATTERN_MAX_WILDCARDS,
  LIFECYCLE_POLICY_MAX_CHARS,
  LIFECYCLE_TAG_STATUSES,
  LifecycleEvent,
  LifecyclePolicyDocument,
  MAX_REGISTRY_READS_PER_SECOND,
  MIN_REGISTRY_READS_PER_SECOND,
  SCHEDULE_INPUT_MAX_CHARS,
  SCHEDULED_POLICY_MAX_CHARS,
  SELECTION_MATCHES,
  UPDATE_REPLACE_POLICIES,
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
 * ECR Public's API takes tags of up to 300 characters, but a registry tag
 * that can exist has at most 128 (TAG_GRAMMAR below): a longer one is an
 * error past 300, and a warning (tagCanNeverExist) up to it.
 */
const TAG_LENGTH_NOTE = '; a tag that can exist is 1 to 128 characters: a letter, digit or _, then letters, digits, _ . or -';
const UPDATE_TRIGGER_MAX = 256;

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
      problems.push(
        `${where}: imageTag ${quoteValue(imageTag)} has ${imageTag.length} characters (expected ${TAG_MIN} to ${TAG_MAX}${imageTag.length > TAG_MAX ? TAG_LENGTH_NOTE : ''})`,
      );
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
        ? `${name}[${index}] ${quoteValue(pattern)} is not a tag pattern (expected 1 to ${PATTERN_MAX} characters${typeof pattern === 'string' && pattern.length > PATTERN_MAX ? TAG_LENGTH_NOTE : ''}; * matches any run of characters, ? one)`
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
  if (match === 'lifecycle') {
    return lifecycleSelectionProblems(selection, skip);
  }
  if (selection.LifecyclePolicyText !== undefined) {
    problems.push(`select has a lifecycle policy, but the selection is ${quoteValue(match)}, not a lifecycle policy`);
  }
  if (!SELECTION_MATCHES.includes(match as never)) {
    problems.push(`select has an unknown kind ${quoteValue(match)} (allowed: ${SELECTION_MATCHES.join(', ')})`);
  }
  if (match === 'tagged') {
    if (!skip(selection.TagPatterns)) problems.push(...patternListProblems(selection.TagPatterns, 'select.tagsMatching'));
  } else if (selection.TagPatterns !== undefined) {
    problems.push(`select.tagsMatching patterns are given, but the selection is ${quoteValue(match)}, not tagsMatching`);
  }
  if (selection.OlderThanSeconds !== undefined && !skip(selection.OlderThanSeconds)) {
    const problem = positiveIntegerProblem(
      selection.OlderThanSeconds,
      'select.olderThan',
      'seconds since the push: Duration.seconds(1) or longer, in whole seconds',
    );
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

/** The ImageSelection methods that narrow a selection, by the wire field each sets. */
const NARROWING_METHODS: ReadonlyArray<readonly [string, string]> = [
  ['TagPatterns', 'tagsMatching'],
  ['OlderThanSeconds', 'olderThan'],
  ['KeepNewest', 'keepNewest'],
  ['ProtectTags', 'protectTags'],
];

/** A lifecycle policy selection: the policy text and nothing else. */
function lifecycleSelectionProblems(selection: Record<string, unknown>, skip: SkipValue): string[] {
  const problems: string[] = [];
  for (const [field, method] of NARROWING_METHODS) {
    if (selection[field] !== undefined) {
      problems.push(
        `select.${method} does not apply to a lifecycle policy (fromLifecycleRules, fromLifecyclePolicyText): say it with a rule of the policy`,
      );
    }
  }
  if (!skip(selection.LifecyclePolicyText)) {
    problems.push(...lifecyclePolicyTextProblems(selection.LifecyclePolicyText));
  }
  return problems;
}

// Lifecycle policies: private ECR's rule language, checked as private ECR
// checks it, and refused where ECR Public cannot honour it. Sources:
// "Lifecycle policy properties in Amazon ECR" (lifecycle_policy_parameters.html),
// "Automate the cleanup of images by using lifecycle policies in Amazon ECR"
// (LifecyclePolicies.html, its evaluation rules), the PutLifecyclePolicy API
// and the service quotas, all under https://docs.aws.amazon.com/AmazonECR/latest/.
// Private ECR validates the text against a JSON schema that refuses unknown
// fields ("object instance has properties which are not allowed by the schema").

const POLICY = 'select.lifecyclePolicy';
const POLICY_FIELDS = ['rules'];
const RULE_FIELDS = ['rulePriority', 'description', 'selection', 'action'];
const SELECTION_FIELDS = ['tagStatus', 'tagPatternList', 'tagPrefixList', 'storageClass', 'countType', 'countUnit', 'countNumber'];
const ACTION_FIELDS = ['type', 'targetStorageClass'];
const SINCE_COUNT_TYPES = ['sinceImagePushed', 'sinceImagePulled', 'sinceImageTransitioned'];

/** Count types of private ECR that ECR Public cannot honour, and why. */
const UNSUPPORTED_COUNT_TYPES: Readonly<Record<string, string>> = {
  sinceImagePulled: 'ECR Public records no pull times',
  sinceImageTransitioned: 'ECR Public has no archive storage class, so no image is ever transitioned',
};

/** A JSON object (not an array, not null). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON integer of at least 1, as the policy's integers are. */
function isWholeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

function unknownFieldProblems(record: Record<string, unknown>, allowed: readonly string[], where: string): string[] {
  return Object.keys(record)
    .filter((key) => !allowed.includes(key))
    .map((key) => `${where} has an unknown field ${quoteValue(key)} (allowed: ${allowed.join(', ')})`);
}

/** How an error names a rule: its index in the policy, and its priority when it has a valid one. */
function ruleName(rule: unknown, index: number): string {
  const priority = isRecord(rule) && isWholeNumber(rule.rulePriority) ? ` (rulePriority ${rule.rulePriority})` : '';
  return `${POLICY} rules[${index}]${priority}`;
}

/**
 * Every problem of a lifecycle policy given as text: not JSON, too long, or
 * what lifecyclePolicyProblems finds in the document.
 */
export function lifecyclePolicyTextProblems(text: unknown): string[] {
  if (typeof text !== 'string') {
    return [`${POLICY} must be the JSON text of a lifecycle policy, got ${quoteValue(text)}`];
  }
  const problems: string[] = [];
  if (text.length > LIFECYCLE_POLICY_MAX_CHARS) {
    problems.push(
      `${POLICY} has ${text.length} characters without whitespace (expected at most ${LIFECYCLE_POLICY_MAX_CHARS}, Amazon ECR's "Lifecycle policy length")`,
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return [...problems, `${POLICY} is not JSON: ${(error as Error).message}`];
  }
  return [...problems, ...lifecyclePolicyProblems(document)];
}

/**
 * Every problem of a lifecycle policy document, each naming the rule (its
 * index and priority), the field, the value and what is allowed: what
 * private ECR would refuse, and what ECR Public cannot honour.
 */
export function lifecyclePolicyProblems(value: unknown): string[] {
  if (!isRecord(value)) {
    return [`${POLICY} must be a JSON object with "rules", got ${quoteValue(value)}`];
  }
  const problems = unknownFieldProblems(value, POLICY_FIELDS, POLICY);
  const rules = value.rules;
  if (!Array.isArray(rules)) {
    problems.push(`${POLICY}.rules must be a list of rules, got ${quoteValue(rules)}`);
    return problems;
  }
  if (rules.length === 0) {
    problems.push(`${POLICY}.rules is empty (expected 1 to ${LIFECYCLE_MAX_RULES} rules)`);
  }
  if (rules.length > LIFECYCLE_MAX_RULES) {
    problems.push(
      `${POLICY}.rules has ${rules.length} rules (expected at most ${LIFECYCLE_MAX_RULES}, Amazon ECR's quota "Rules per lifecycle policy")`,
    );
  }
  rules.forEach((rule, index) => problems.push(...lifecycleRuleProblems(rule, index)));
  problems.push(...crossRuleProblems(rules));
  return problems;
}

function lifecycleRuleProblems(rule: unknown, index: number): string[] {
  const where = ruleName(rule, index);
  if (!isRecord(rule)) {
    return [`${where} must be an object with rulePriority, selection and action, got ${quoteValue(rule)}`];
  }
  const problems = unknownFieldProblems(rule, RULE_FIELDS, where);
  if (rule.rulePriority === undefined) {
    problems.push(`${where}: rulePriority is missing (expected a whole number of at least 1, unique in the policy)`);
  } else if (!isWholeNumber(rule.rulePriority)) {
    problems.push(`${where}: rulePriority ${quoteValue(rule.rulePriority)} is not a whole number of at least 1`);
  }
  if (rule.description !== undefined && typeof rule.description !== 'string') {
    problems.push(`${where}: description must be a string, got ${quoteValue(rule.description)}`);
  }
  if (!isRecord(rule.selection)) {
    problems.push(`${where}: selection must be an object with tagStatus, countType and countNumber, got ${quoteValue(rule.selection)}`);
  } else {
    problems.push(...ruleSelectionProblems(rule.selection, where));
  }
  if (!isRecord(rule.action)) {
    problems.push(`${where}: action must be an object with type "expire", got ${quoteValue(rule.action)}`);
  } else {
    problems.push(...ruleActionProblems(rule.action, where));
  }
  return problems;
}

function ruleSelectionProblems(selection: Record<string, unknown>, where: string): string[] {
  const problems = unknownFieldProblems(selection, SELECTION_FIELDS, `${where}: selection`);
  const { tagStatus, tagPrefixList, tagPatternList, storageClass, countType, countUnit, countNumber } = selection;

  if (tagStatus === undefined) {
    problems.push(`${where}: selection.tagStatus is missing (allowed: ${LIFECYCLE_TAG_STATUSES.join(', ')})`);
  } else if (!LIFECYCLE_TAG_STATUSES.includes(tagStatus as never)) {
    problems.push(`${where}: selection.tagStatus ${quoteValue(tagStatus)} is not a tag status (allowed: ${LIFECYCLE_TAG_STATUSES.join(', ')})`);
  } else if (tagStatus === 'tagged') {
    if (tagPrefixList === undefined && tagPatternList === undefined) {
      problems.push(`${where}: selection.tagStatus "tagged" needs a tagPatternList or a tagPrefixList (the tags the rule selects)`);
    }
    if (tagPrefixList !== undefined && tagPatternList !== undefined) {
      problems.push(`${where}: selection has both tagPrefixList and tagPatternList (a rule takes one or the other)`);
    }
  } else {
    for (const [name, list] of [
      ['tagPrefixList', tagPrefixList],
      ['tagPatternList', tagPatternList],
    ] as const) {
      if (list !== undefined) {
        problems.push(
          `${where}: selection.${name} is given, but tagStatus is ${quoteValue(tagStatus)} (the tag lists go with tagStatus "tagged" only)`,
        );
      }
    }
  }
  if (tagPrefixList !== undefined) problems.push(...tagListProblems(tagPrefixList, `${where}: selection.tagPrefixList`, false));
  if (tagPatternList !== undefined) problems.push(...tagListProblems(tagPatternList, `${where}: selection.tagPatternList`, true));

  if (storageClass === 'archive') {
    problems.push(
      `${where}: selection.storageClass "archive" cannot be honoured by ECR Public, which has no archive storage class (allowed: standard)`,
    );
  } else if (storageClass !== undefined && storageClass !== 'standard') {
    problems.push(`${where}: selection.storageClass ${quoteValue(storageClass)} is not a storage class (allowed: standard)`);
  }

  const unsupported = typeof countType === 'string' ? UNSUPPORTED_COUNT_TYPES[countType] : undefined;
  const allowedCountTypes = LIFECYCLE_COUNT_TYPES.join(', ');
  if (countType === undefined) {
    problems.push(`${where}: selection.countType is missing (allowed: ${allowedCountTypes})`);
  } else if (unsupported !== undefined) {
    problems.push(
      `${where}: selection.countType ${quoteValue(countType)} cannot be honoured by ECR Public: ${unsupported} (allowed: ${allowedCountTypes})`,
    );
  } else if (!LIFECYCLE_COUNT_TYPES.includes(countType as never)) {
    problems.push(`${where}: selection.countType ${quoteValue(countType)} is not a count type (allowed: ${allowedCountTypes})`);
  }

  if (SINCE_COUNT_TYPES.includes(countType as string)) {
    if (countUnit === undefined) {
      problems.push(`${where}: selection.countUnit is missing (${countType} counts days: "countUnit": "days")`);
    } else if (countUnit !== 'days') {
      problems.push(`${where}: selection.countUnit ${quoteValue(countUnit)} is not a unit (allowed: days)`);
    }
  } else if (countUnit !== undefined && countType === 'imageCountMoreThan') {
    problems.push(
      `${where}: selection.countUnit ${quoteValue(countUnit)} is given with countType "imageCountMoreThan" (countUnit goes with sinceImagePushed only)`,
    );
  }

  if (countNumber === undefined) {
    problems.push(`${where}: selection.countNumber is missing (expected a whole number of at least 1)`);
  } else if (!isWholeNumber(countNumber)) {
    problems.push(`${where}: selection.countNumber ${quoteValue(countNumber)} is not a whole number of at least 1`);
  }
  return problems;
}

function tagListProblems(value: unknown, where: string, isPattern: boolean): string[] {
  const what = isPattern ? 'tag patterns (* matches any run of characters)' : 'tag prefixes';
  if (!Array.isArray(value) || value.length === 0) {
    return [`${where} must be a non-empty list of ${what}, got ${quoteValue(value)}`];
  }
  const problems: string[] = [];
  value.forEach((entry, index) => {
    if (typeof entry !== 'string' || entry.length === 0) {
      problems.push(`${where}[${index}] ${quoteValue(entry)} is not one of the ${what} (expected a non-empty string)`);
    } else if (isPattern) {
      const wildcards = entry.split('*').length - 1;
      if (wildcards > LIFECYCLE_PATTERN_MAX_WILDCARDS) {
        problems.push(
          `${where}[${index}] ${quoteValue(entry)} has ${wildcards} wildcards (expected at most ${LIFECYCLE_PATTERN_MAX_WILDCARDS} * a pattern)`,
        );
      }
    }
  });
  return problems;
}

function ruleActionProblems(action: Record<string, unknown>, where: string): string[] {
  const problems = unknownFieldProblems(action, ACTION_FIELDS, `${where}: action`);
  if (action.type === undefined) {
    problems.push(`${where}: action.type is missing (allowed: expire)`);
  } else if (action.type === 'transition') {
    problems.push(
      `${where}: action.type "transition" cannot be honoured by ECR Public, which has no archive storage class to move images to (allowed: expire)`,
    );
  } else if (action.type !== 'expire') {
    problems.push(`${where}: action.type ${quoteValue(action.type)} is not an action (allowed: expire)`);
  }
  if (action.targetStorageClass !== undefined && action.type !== 'transition') {
    problems.push(`${where}: action.targetStorageClass ${quoteValue(action.targetStorageClass)} is given, but it goes with type "transition" only`);
  }
  return problems;
}

/** What no rule shows alone: repeated priorities, a second untagged rule, `any` not last, a repeated set of prefixes. */
function crossRuleProblems(rules: readonly unknown[]): string[] {
  const problems: string[] = [];
  const valid = rules
    .map((rule, index) => ({ rule, index }))
    .filter((entry): entry is { rule: Record<string, unknown>; index: number } => isRecord(entry.rule));
  const statusOf = (rule: Record<string, unknown>): unknown => (isRecord(rule.selection) ? rule.selection.tagStatus : undefined);

  const byPriority = new Map<number, number>();
  for (const { rule, index } of valid) {
    if (!isWholeNumber(rule.rulePriority)) continue;
    const first = byPriority.get(rule.rulePriority);
    if (first === undefined) {
      byPriority.set(rule.rulePriority, index);
    } else {
      problems.push(
        `${ruleName(rule, index)}: rulePriority ${rule.rulePriority} is also the priority of rules[${first}] (priorities are unique in a policy)`,
      );
    }
  }

  const untagged = valid.filter(({ rule }) => statusOf(rule) === 'untagged');
  for (const { rule, index } of untagged.slice(1)) {
    problems.push(
      `${ruleName(rule, index)}: a second rule selects untagged images, after rules[${untagged[0].index}] (a policy has one untagged rule)`,
    );
  }

  const anyRules = valid.filter(({ rule }) => statusOf(rule) === 'any');
  for (const { rule, index } of anyRules) {
    if (!isWholeNumber(rule.rulePriority)) continue;
    const above = valid.find(
      (other) =>
        other.index !== index && isWholeNumber(other.rule.rulePriority) && (other.rule.rulePriority as number) >= (rule.rulePriority as number),
    );
    if (above !== undefined) {
      problems.push(
        `${ruleName(rule, index)}: tagStatus "any" must have the highest rulePriority (it is evaluated last), but rules[${above.index}] has rulePriority ${above.rule.rulePriority as number}`,
      );
    }
  }

  const prefixSets = new Map<string, number>();
  for (const { rule, index } of valid) {
    const prefixes = statusOf(rule) === 'tagged' && isRecord(rule.selection) ? rule.selection.tagPrefixList : undefined;
    if (!Array.isArray(prefixes) || !prefixes.every((p) => typeof p === 'string')) continue;
    const key = [...new Set(prefixes as string[])].sort().join('\u0000');
    const first = prefixSets.get(key);
    if (first === undefined) {
      prefixSets.set(key, index);
    } else {
      problems.push(
        `${ruleName(rule, index)}: selection.tagPrefixList ${quoteValue(prefixes)} is the set of prefixes of rules[${first}] (the rules of a policy have unique sets of tag prefixes)`,
      );
    }
  }
  return problems;
}

/**
 * A lifecycle policy text the handler evaluates, parsed; throws
 * InvalidPropertiesError on any problem (the handler checked the properties
 * before, so this is a second line of defence).
 */
export function parseLifecyclePolicyText(text: unknown): LifecyclePolicyDocument {
  const problems = lifecyclePolicyTextProblems(text);
  if (problems.length > 0) throw new InvalidPropertiesError(problems);
  return JSON.parse(text as string) as LifecyclePolicyDocument;
}

/**
 * Why a lifecycle policy cannot run on a schedule, if it cannot: the
 * schedule's EventBridge rule carries the policy in its fixed input, which
 * holds SCHEDULE_INPUT_MAX_CHARS characters, and which must be known at
 * synth time (CloudFormation cannot escape a text built at deploy time into
 * that JSON). `skip` tells whether the text is a token.
 */
export function scheduledPolicyProblem(text: unknown, skip: SkipValue = skipNothing): string | undefined {
  if (typeof text !== 'string') return undefined;
  if (skip(text)) {
    return (
      'schedule is given with a lifecycle policy known only at deploy time: the schedule carries the policy in its EventBridge input, ' +
      'written at synth time (give the policy text at synth time, or remove schedule)'
    );
  }
  const size = JSON.stringify(text).length - 2;
  if (size <= SCHEDULED_POLICY_MAX_CHARS) return undefined;
  return (
    `${POLICY} takes ${size} characters in the schedule's event (its compact text, quotes escaped), over the ${SCHEDULED_POLICY_MAX_CHARS} ` +
    `a schedule carries (an EventBridge target input holds ${SCHEDULE_INPUT_MAX_CHARS}): shorten the policy (its descriptions first), or remove schedule`
  );
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
  if (props.UpdateTrigger !== undefined) {
    check(props.UpdateTrigger, (v) =>
      typeof v === 'string' && v.length >= 1 && v.length <= UPDATE_TRIGGER_MAX
        ? undefined
        : `updateTrigger must be text of 1 to ${UPDATE_TRIGGER_MAX} characters, got ${quoteValue(v)}`,
    );
    if (Array.isArray(props.DeleteOn) && !skip(props.DeleteOn) && !props.DeleteOn.includes('Update')) {
      problems.push(
        `updateTrigger is given, but deleteOn ${quoteValue(props.DeleteOn)} has no Update: a new value sends an Update, which this deletion ignores (add DeletionEvent.UPDATE to deleteOn, or remove updateTrigger)`,
      );
    }
  }
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
  if (props.RepositoryUpdateReplacePolicy !== undefined) {
    check(props.RepositoryUpdateReplacePolicy, (v) =>
      UPDATE_REPLACE_POLICIES.includes(v as string)
        ? undefined
        : `RepositoryUpdateReplacePolicy ${quoteValue(v)} is not an UpdateReplacePolicy (allowed: ${UPDATE_REPLACE_POLICIES.join(', ')})`,
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

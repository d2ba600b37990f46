/**
 * A reference model of what one CloudFormation event must do to the registry,
 * written from the construct's documented contract (README and TSDoc), on top
 * of the ECR Public model in ecr-model.ts:
 *
 * - the Delete that follows a failed Create does nothing and succeeds;
 * - invalid properties fail the event before any call;
 * - an event that `deleteOn` leaves out does nothing and succeeds;
 * - otherwise the declared image IDs, exact repeats sent once, are deleted;
 *   a missing repository fails Create and Update and satisfies Delete;
 *   failures other than ImageNotFound fail the event when failOnImageFailure
 *   is true;
 * - a Create that fails answers the physical ID EcrPublicImageDeletion::CREATE_FAILED,
 *   Update and Delete keep the ID they were given;
 * - a selection runs after the declared IDs, on the registry as they left it:
 *   allImages() deletes every image by digest, untaggedImages() every image
 *   without a tag, tagsMatching() removes the matching tags (each with the
 *   digest listed: a tag moved since stays); an image with a protected tag is
 *   left whole;
 * - a Delete runs allImages() only when CloudFormation is deleting the
 *   repository: the stack is being deleted, or (when the deletion knows the
 *   repository's logical ID) the repository has left the template in an
 *   update's or a rollback's cleanup. The stack lists the repository under the
 *   name the properties carry, as CloudFormation does for the Ref that wrote
 *   it: a replaced repository (listed under another name) is not modelled
 *   here, test/integration/teardown.test.ts plays those;
 * - invalid properties on a Delete delete nothing and succeed;
 * - during a rollback, no event fails: what would fail succeeds.
 *
 * Deliberately separate from lambda/plan.ts: it says what must happen, not how.
 */
import { EcrPublicModel, ModelDeleteAnswer, ModelImageId, ModelRepositoryNotFound } from './ecr-model';

export const CREATE_FAILED_ID = 'EcrPublicImageDeletion::CREATE_FAILED';

export type RequestType = 'Create' | 'Update' | 'Delete';

/** The properties as the construct writes them (valid ones: the model checks no rule). */
export interface ModelSelection {
  readonly Match: 'all' | 'untagged' | 'tagged';
  readonly TagPatterns?: string[];
  readonly ProtectTags?: string[];
}

export interface ModelProperties {
  readonly RepositoryName: string;
  readonly RegistryId?: string;
  readonly ImageIds?: ModelImageId[];
  readonly Select?: ModelSelection;
  /** Given when the repository is a resource of the stack (emptyOnDelete on a CfnPublicRepository). */
  readonly RepositoryLogicalId?: string;
  readonly DeleteOn: RequestType[];
  readonly FailOnImageFailure: 'true' | 'false';
  readonly ApiRegion: string;
}

export interface ModelEvent {
  readonly requestType: RequestType;
  readonly properties: ModelProperties;
  /** Absent for Create. */
  readonly physicalResourceId?: string;
  /** For an Update: the properties it replaces (OldResourceProperties). */
  readonly oldProperties?: ModelProperties;
  /** The properties break a validation rule (the test built them so). */
  readonly invalid?: boolean;
  /** The call is refused as a whole (IAM: AccessDenied): nothing changes, the event fails. */
  readonly accessDenied?: boolean;
  /** The stack's status when the event is sent; absent: a deployment in progress. */
  readonly stackStatus?: string;
  /** Whether the stack's current template still holds the repository (for the Delete of allImages()). */
  readonly templateHasRepository?: boolean;
}

const ROLLBACK = [
  'ROLLBACK_IN_PROGRESS',
  'UPDATE_ROLLBACK_IN_PROGRESS',
  'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
  'IMPORT_ROLLBACK_IN_PROGRESS',
];
const CLEANUP = ['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS'];

/** A glob (`*` any run, `?` one character) matched by recursion: an implementation of its own, not the handler's regex. */
export function globMatches(pattern: string, text: string): boolean {
  if (pattern.length === 0) return text.length === 0;
  const [head, rest] = [pattern[0], pattern.slice(1)];
  if (head === '*') return globMatches(rest, text) || (text.length > 0 && globMatches(pattern, text.slice(1)));
  return text.length > 0 && (head === '?' || head === text[0]) && globMatches(rest, text.slice(1));
}

/** The IDs a selection deletes from the registry as it is (no indexes in the model: one pass). */
export function selectedIds(registry: EcrPublicModel, repositoryName: string, selection: ModelSelection): ModelImageId[] {
  const isProtected = (tag: string) => (selection.ProtectTags ?? []).some((p) => globMatches(p, tag));
  const matches = (tag: string) => (selection.TagPatterns ?? []).some((p) => globMatches(p, tag));
  const ids: ModelImageId[] = [];
  for (const [digest, tags] of registry.snapshot(repositoryName)) {
    if (tags.some(isProtected)) continue;
    if (selection.Match === 'all') ids.push({ imageDigest: digest });
    else if (selection.Match === 'untagged' && tags.length === 0) ids.push({ imageDigest: digest });
    else if (selection.Match === 'tagged') {
      // With the digest when the image loses every tag (it goes); by name alone when it keeps others (lambda/select.ts).
      const removed = tags.filter(matches);
      ids.push(...removed.map((imageTag) => (removed.length === tags.length ? { imageTag, imageDigest: digest } : { imageTag })));
    }
  }
  return ids;
}

/** Whether a Delete may run allImages(): CloudFormation is deleting the repository itself. */
export function deletesRepository(event: ModelEvent): boolean {
  const status = event.stackStatus ?? 'UPDATE_IN_PROGRESS';
  if (status === 'DELETE_IN_PROGRESS') return true;
  if (event.properties.RepositoryLogicalId === undefined) return false;
  if (status === 'ROLLBACK_IN_PROGRESS') return true;
  return CLEANUP.includes(status) && event.templateHasRepository === false;
}

export interface ModelOutcome {
  readonly status: 'SUCCESS' | 'FAILED';
  /** Whether the handler must call BatchDeleteImage at all. */
  readonly calls: boolean;
  /** On SUCCESS, the value of the DeletionRan attribute. */
  readonly deletionRan: boolean;
  /** The image IDs the handler may send: the declaration, repeats collapsed; empty when no call. */
  readonly sent: ModelImageId[];
  /** The API's answer, when the deletion ran to the end. */
  readonly answer?: ModelDeleteAnswer;
  /**
   * 'new' (a fresh physical ID of the handler's making), CREATE_FAILED_ID, 'replaced' (an emptier moved to another
   * repository: another ID than the one given, so that CloudFormation deletes the old one at cleanup), or the ID given.
   */
  readonly physicalResourceId: string;
  /** True when the event would have failed, but succeeds because the stack is rolling back. */
  readonly rolledBackFailure?: boolean;
}

function collapse(ids: readonly ModelImageId[]): ModelImageId[] {
  const seen = new Set<string>();
  const unique: ModelImageId[] = [];
  for (const id of ids) {
    const key = `${id.imageTag ?? ''}\u0000${id.imageDigest ?? ''}`;
    if (!seen.has(key)) {
      seen.add(key);
      unique.push(id);
    }
  }
  return unique;
}

/**
 * Whether an Update moves an emptier (allImages() on Delete, for a repository of the stack) to another repository:
 * the documented signal of a replacement, answered with a new physical ID when the Update succeeds.
 */
function movesEmptier(event: ModelEvent): boolean {
  const old = event.oldProperties;
  // A rollback's Update undoes a failed one and keeps the ID (lambda/index.ts physicalIdToAnswer).
  if (event.requestType !== 'Update' || old === undefined || event.invalid || ROLLBACK.includes(event.stackStatus ?? '')) return false;
  const emptier = old.Select?.Match === 'all' && old.DeleteOn.includes('Delete') && old.RepositoryLogicalId !== undefined;
  // No RegistryId is the stack's own account, which the tests' explicit RegistryId is too.
  return emptier && old.RepositoryName !== event.properties.RepositoryName;
}

/** Applies one event to the model registry and says what the handler must answer. */
export function applyEvent(registry: EcrPublicModel, event: ModelEvent): ModelOutcome {
  const applied = applyOutsideRollback(registry, event);
  const outcome = applied.status === 'SUCCESS' && movesEmptier(event) ? { ...applied, physicalResourceId: 'replaced' } : applied;
  if (outcome.status === 'FAILED' && ROLLBACK.includes(event.stackStatus ?? '')) {
    // A failure now would stop the rollback: it is reported, and the event succeeds (a Create keeps its marker ID).
    return { ...outcome, status: 'SUCCESS', rolledBackFailure: true };
  }
  return outcome;
}

function applyOutsideRollback(registry: EcrPublicModel, event: ModelEvent): ModelOutcome {
  const { requestType, properties } = event;
  const keptId = requestType === 'Create' ? 'new' : (event.physicalResourceId ?? '');
  const failedId = requestType === 'Create' ? CREATE_FAILED_ID : keptId;
  const none = { sent: [] as ModelImageId[], calls: false };
  if (requestType === 'Delete' && event.physicalResourceId === CREATE_FAILED_ID) {
    return { status: 'SUCCESS', deletionRan: false, physicalResourceId: keptId, ...none };
  }
  if (event.invalid) {
    return requestType === 'Delete'
      ? { status: 'SUCCESS', deletionRan: false, physicalResourceId: keptId, ...none }
      : { status: 'FAILED', deletionRan: false, physicalResourceId: failedId, ...none };
  }
  if (!properties.DeleteOn.includes(requestType)) {
    return { status: 'SUCCESS', deletionRan: false, physicalResourceId: keptId, ...none };
  }
  const declared = collapse(properties.ImageIds ?? []);
  const selection =
    properties.Select && (requestType !== 'Delete' || properties.Select.Match !== 'all' || deletesRepository(event)) ? properties.Select : undefined;
  if (declared.length === 0 && !selection) {
    // The selection is held back (the repository stays) and nothing is declared: nothing runs.
    return { status: 'SUCCESS', deletionRan: false, physicalResourceId: keptId, ...none };
  }
  const sent = declared;
  if (event.accessDenied) {
    return { status: 'FAILED', deletionRan: true, physicalResourceId: failedId, sent, calls: true };
  }
  let answer: ModelDeleteAnswer;
  try {
    answer = sent.length > 0 ? registry.batchDeleteImage(properties.RepositoryName, sent) : { imageIds: [], failures: [] };
    if (selection) {
      if (!registry.hasRepository(properties.RepositoryName)) throw new ModelRepositoryNotFound(properties.RepositoryName);
      const picked = selectedIds(registry, properties.RepositoryName, selection);
      sent.push(...picked);
      const more = picked.length > 0 ? registry.batchDeleteImage(properties.RepositoryName, picked) : { imageIds: [], failures: [] };
      answer = { imageIds: [...answer.imageIds, ...more.imageIds], failures: [...answer.failures, ...more.failures] };
    }
  } catch (error) {
    if (!(error instanceof ModelRepositoryNotFound)) throw error;
    const status = requestType === 'Delete' ? 'SUCCESS' : 'FAILED';
    return { status, deletionRan: true, physicalResourceId: status === 'FAILED' ? failedId : keptId, sent, calls: true };
  }
  const blocking = answer.failures.filter((f) => f.failureCode !== 'ImageNotFound');
  const status = blocking.length > 0 && properties.FailOnImageFailure === 'true' ? 'FAILED' : 'SUCCESS';
  return { status, deletionRan: true, physicalResourceId: status === 'FAILED' ? failedId : keptId, sent, calls: true, answer };
}

/**
 * What the reason must say, from the model's outcome: written from the
 * README's description of each verdict, so that a wrong reason fails.
 */
export function expectedReason(expected: ModelOutcome, event: ModelEvent): RegExp {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const repo = escape(event.properties.RepositoryName);
  const rollback = expected.rolledBackFailure ? `^reported, not failed, because the stack is ${escape(event.stackStatus ?? '')} .*` : '^';
  if (event.requestType === 'Delete' && event.physicalResourceId === CREATE_FAILED_ID) return /^no deletion: Delete after a failed Create/;
  if (event.invalid)
    return event.requestType === 'Delete'
      ? /^no deletion: the properties break a rule/
      : new RegExp(`${rollback}InvalidPropertiesError: invalid properties: `);
  if (!expected.deletionRan) return /^no deletion: (deleteOn \(.*\) does not include|selection not run: )/;
  if (event.accessDenied)
    // A long rollback preamble can cut the reason before the ARN's end: the log has it whole.
    return new RegExp(
      `${rollback}nothing deleted: AccessDenied.*The handler's role needs .* on arn:aws:ecr-public::.*:repository/(${repo}|.* \\[cut: see the function log\\]$)`,
      's',
    );
  if (!expected.answer) {
    return expected.status === 'SUCCESS' && !expected.rolledBackFailure
      ? new RegExp(`^repository "${repo}" .* does not exist: nothing left to delete`)
      : new RegExp(`${rollback}repository "${repo}" .* does not exist \\(RepositoryNotFoundException\\)`);
  }
  const blocking = expected.answer.failures.filter((f) => f.failureCode !== 'ImageNotFound').length;
  if (expected.status === 'FAILED' || expected.rolledBackFailure)
    return new RegExp(`${rollback}${blocking} image IDs could not be deleted from repository "${repo}"`);
  return new RegExp(
    `^deleted ${expected.answer.imageIds.length} image IDs from repository "${repo}" .*; ${expected.answer.failures.length} failures`,
  );
}

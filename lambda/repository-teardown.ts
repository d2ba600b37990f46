/**
 * Whether CloudFormation is deleting the repository itself, from the stack's
 * state: the one question a Delete must answer before a selection of
 * allImages() runs, because CloudFormation also sends Delete when only the
 * deletion resource leaves the stack (removed, renamed, moved), when a
 * rollback removes a newly added one, and for the old physical ID of a
 * deletion that an Update replaced (plan.ts: an emptier whose repository was
 * replaced answers its Update with a new physical ID, so that the old
 * repository gets this Delete at cleanup time). Pure: the state is read
 * elsewhere (stack-state.ts), and `stackReadsFor` says what to read.
 *
 * Fail safe: an unknown answer keeps every image. Where CloudFormation's
 * behaviour is not documented (which template GetTemplate returns, and which
 * physical ID ListStackResources shows, during a cleanup or a rollback; which
 * policy applies when a rollback deletes a replacement), the reading that
 * keeps images is taken: docs/teardown.md lists each.
 */
import type { StackResource, StackState, TemplateResource } from './stack-state';

/** What the guard knows of the repository (from the resource's properties, as synthesized). */
export interface RepositoryInStack {
  /** The repository's name: its physical ID in the stack. */
  readonly name: string;
  /** Its logical ID in this stack; absent when the deletion was given a name only. */
  readonly logicalId?: string;
  /** Its DeletionPolicy in the template the deletion came from; absent means Delete. */
  readonly deletionPolicy?: string;
  /** Its UpdateReplacePolicy in the template the deletion came from; absent: not known (older versions did not pass it). */
  readonly updateReplacePolicy?: string;
}

/** The deletion resource the Delete is for. */
export interface DeletionInStack {
  /** Its logical ID (the event's LogicalResourceId). */
  readonly logicalId?: string;
}

export interface TeardownDecision {
  /** True when the repository is being deleted by CloudFormation, so emptying it is what was asked. */
  readonly empties: boolean;
  /**
   * Whether the deletion's declared image IDs may still go when the
   * repository is not emptied: false when this Delete is for a replaced
   * physical ID of the deletion (it stays in the template) or the state is
   * unknown, so that a Delete for an old physical ID never deletes declared
   * images from a repository that stays.
   */
  readonly declaredIdsGo: boolean;
  /** Why, in words for the reason and the log. */
  readonly why: string;
}

/** Stack statuses during which CloudFormation rolls back; no event may fail then. */
export const ROLLBACK_STATUSES: readonly string[] = [
  'ROLLBACK_IN_PROGRESS',
  'UPDATE_ROLLBACK_IN_PROGRESS',
  'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
  'IMPORT_ROLLBACK_IN_PROGRESS',
];

/** Statuses in which an update (or its rollback) deletes what its template no longer holds, and the old instances of what it replaced. */
const TEMPLATE_CLEANUP_STATUSES: readonly string[] = [
  'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_ROLLBACK_IN_PROGRESS',
  'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
];

const REPOSITORY_TYPE = 'AWS::ECR::PublicRepository';

/**
 * What the decision needs read beyond the status: the template and the
 * resources, only while an update or a rollback cleans up, and only for a
 * repository of this stack. A stack being deleted is decided from its status
 * alone: no GetTemplate that could fail and keep every image.
 */
export function stackReadsFor(status: string, repository: RepositoryInStack): { readonly details: boolean } {
  return { details: repository.logicalId !== undefined && TEMPLATE_CLEANUP_STATUSES.includes(status) };
}

/** Whether CloudFormation deletes a resource with this DeletionPolicy when it leaves the stack in this status. */
function deletedByPolicy(deletionPolicy: unknown, status: string): boolean {
  const policy = deletionPolicy ?? 'Delete';
  // RetainExceptOnCreate deletes a resource only when a rollback undoes its creation.
  return policy === 'Delete' || (policy === 'RetainExceptOnCreate' && ROLLBACK_STATUSES.includes(status));
}

/** The policies that keep a resource, of those given (absent ones say nothing), in words; empty when every one lets it go. */
function keptBy(name: string, values: ReadonlyArray<unknown>, deletes: (value: unknown) => boolean): string[] {
  return values
    .filter((value) => value !== undefined && !deletes(value))
    .map((value) => `${name} ${typeof value === 'string' ? value : JSON.stringify(value)}`);
}

const kept = (why: string, declaredIdsGo: boolean): TeardownDecision => ({ empties: false, declaredIdsGo, why });

export function repositoryTeardown(
  state: StackState | { readonly unreadable: string },
  repository: RepositoryInStack,
  deletion: DeletionInStack = {},
): TeardownDecision {
  if ('unreadable' in state) {
    return kept(`the stack's state could not be read (${state.unreadable}), so the repository is not known to be deleted`, false);
  }
  const { status } = state;
  if (repository.logicalId === undefined) {
    // Not the stack's repository: CloudFormation never deletes it. Emptying goes with the stack's own deletion only.
    return status === 'DELETE_IN_PROGRESS'
      ? { empties: true, declaredIdsGo: true, why: 'the stack is being deleted (DELETE_IN_PROGRESS)' }
      : kept(
          `the stack is ${status}, not being deleted, and the repository is not a resource of this stack: only the deletion resource leaves`,
          true,
        );
  }
  const which = `repository ${repository.logicalId} ("${repository.name}")`;
  if (status === 'DELETE_IN_PROGRESS' || status === 'ROLLBACK_IN_PROGRESS') {
    const policy = repository.deletionPolicy ?? 'Delete';
    return deletedByPolicy(policy, status)
      ? { empties: true, declaredIdsGo: true, why: `the stack is being deleted (${status}) and ${which} with it` }
      : kept(`the stack is being deleted (${status}), but ${which} has DeletionPolicy ${policy}: it stays`, true);
  }
  if (!TEMPLATE_CLEANUP_STATUSES.includes(status)) {
    return kept(`the stack is ${status}: CloudFormation deletes no repository then`, true);
  }
  return duringCleanup(state, repository as RepositoryInStack & { logicalId: string }, deletion, which);
}

/** An update's or a rollback's cleanup: the repository goes if it left the template or was replaced, and its policy lets it go. */
function duringCleanup(
  state: StackState,
  repository: RepositoryInStack & { logicalId: string },
  deletion: DeletionInStack,
  which: string,
): TeardownDecision {
  const { status, template, resources } = state;
  if (template === undefined) {
    return kept(`the stack's template could not be read (${state.templateProblem ?? 'not read'}), so ${which} is not known to leave`, false);
  }
  // A resource that stays in the template gets a Delete only for an old physical ID: this one was replaced.
  const replacedInstance = deletion.logicalId !== undefined && template.has(deletion.logicalId);
  const declaredIdsGo = !replacedInstance;
  const declared = replacedInstance
    ? ` (this Delete is for an old physical ID of ${deletion.logicalId}, which stays: its declared image IDs are kept)`
    : '';
  if (resources === undefined) {
    return kept(
      `the stack's resources could not be listed (${state.resourcesProblem ?? 'not read'}), so ${which} is not known to leave${declared}`,
      declaredIdsGo,
    );
  }
  const alive = resources.find((r) => r.physicalId === repository.name && r.type === REPOSITORY_TYPE && template.has(r.logicalId));
  if (alive) {
    return kept(
      `${which} stays in the stack (as ${alive.logicalId}, ${status}): only the deletion resource leaves (removed, renamed or moved)${declared}`,
      declaredIdsGo,
    );
  }
  const inTemplate = template.get(repository.logicalId);
  if (inTemplate === undefined) {
    return deletedByPolicy(repository.deletionPolicy, status)
      ? { empties: true, declaredIdsGo, why: `${which} has left the stack's template and CloudFormation deletes it (${status})${declared}` }
      : kept(
          `${which} has left the stack's template (${status}), but its DeletionPolicy ${repository.deletionPolicy} keeps it${declared}`,
          declaredIdsGo,
        );
  }
  return replaced(state, repository, inTemplate, resources, which, declared, declaredIdsGo);
}

/**
 * The repository's logical ID stays in the template under another physical
 * ID: CloudFormation replaced it, and deletes the old one unless its
 * UpdateReplacePolicy keeps it. When a rollback deletes the replacement
 * that the failed update created, CloudFormation does not document which
 * policy applies: it is emptied only if neither its UpdateReplacePolicy nor
 * its DeletionPolicy would keep it.
 */
function replaced(
  state: StackState,
  repository: RepositoryInStack & { logicalId: string },
  inTemplate: TemplateResource,
  resources: readonly StackResource[],
  which: string,
  declared: string,
  declaredIdsGo: boolean,
): TeardownDecision {
  const { status } = state;
  const current = resources.find((r) => r.logicalId === repository.logicalId)?.physicalId;
  if (current === undefined || current === repository.name) {
    return kept(
      `${which} stays in the stack's template, and the stack does not show another physical ID for it (${status})${declared}`,
      declaredIdsGo,
    );
  }
  const keeping = keptBy('UpdateReplacePolicy', [repository.updateReplacePolicy, inTemplate.updateReplacePolicy ?? 'Delete'], (p) => p === 'Delete');
  if (ROLLBACK_STATUSES.includes(status)) {
    keeping.push(...keptBy('DeletionPolicy', [repository.deletionPolicy, inTemplate.deletionPolicy ?? 'Delete'], (p) => deletedByPolicy(p, status)));
  }
  const replacement = `${which} was replaced by "${current}"`;
  return keeping.length === 0
    ? { empties: true, declaredIdsGo, why: `${replacement} and CloudFormation deletes it (${status})${declared}` }
    : kept(`${replacement} (${status}), but its ${[...new Set(keeping)].join(' and ')} keeps it${declared}`, declaredIdsGo);
}

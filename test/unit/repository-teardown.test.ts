/**
 * The teardown guard's decision, on every stack status, template and resource
 * listing a Delete can meet: a Delete of allImages() empties the repository
 * only when CloudFormation is deleting the repository itself (the stack is
 * deleted, the repository left the template, or it was replaced), and only
 * when the policy that applies (DeletionPolicy or UpdateReplacePolicy) lets
 * it go; a Delete for an old physical ID of a deletion never lets its
 * declared image IDs go.
 */
import * as fc from 'fast-check';
import { ROLLBACK_STATUSES, repositoryTeardown, stackReadsFor } from '../../lambda/repository-teardown';
import { StackResource, StackState, TemplateResource, templateResources } from '../../lambda/stack-state';

const REPO_TYPE = 'AWS::ECR::PublicRepository';
const inStack = { name: 'app', logicalId: 'Repo' };
const nameOnly = { name: 'app' };
const emptier = { logicalId: 'Emptier' };

/** The stack's state: its template (logical ID → policies) and its resources (logical ID → physical ID). */
function state(status: string, template: Record<string, TemplateResource>, physical: Record<string, string> = {}): StackState {
  const resources: StackResource[] = Object.entries(physical).map(([logicalId, physicalId]) => ({ logicalId, physicalId, type: REPO_TYPE }));
  return { status, template: new Map(Object.entries(template)), resources };
}
const repo = (policies: TemplateResource = {}): TemplateResource => ({ type: REPO_TYPE, ...policies });

describe('when the repository is a resource of the stack', () => {
  test.each([
    // status, template holds the repository, DeletionPolicy, empties
    ['DELETE_IN_PROGRESS', true, undefined, true],
    ['DELETE_IN_PROGRESS', true, 'Delete', true],
    ['DELETE_IN_PROGRESS', true, 'Retain', false],
    ['DELETE_IN_PROGRESS', true, 'RetainExceptOnCreate', false],
    ['DELETE_IN_PROGRESS', true, 'Snapshot', false],
    ['ROLLBACK_IN_PROGRESS', true, undefined, true],
    ['ROLLBACK_IN_PROGRESS', true, 'RetainExceptOnCreate', true],
    ['ROLLBACK_IN_PROGRESS', true, 'Retain', false],
    // An update removed or renamed the deletion resource; the repository stays.
    ['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', true, undefined, false],
    // An update removed the repository (and its emptier) from the template.
    ['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', false, undefined, true],
    ['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', false, 'Retain', false],
    ['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', false, 'RetainExceptOnCreate', false],
    // A rollback removes a newly added emptier of a repository that was there before.
    ['UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', true, undefined, false],
    ['UPDATE_ROLLBACK_IN_PROGRESS', true, undefined, false],
    // A rollback removes a repository the failed update created.
    ['UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', false, undefined, true],
    ['UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', false, 'RetainExceptOnCreate', true],
    // No repository is deleted in these.
    ['UPDATE_IN_PROGRESS', false, undefined, false],
    ['CREATE_IN_PROGRESS', false, undefined, false],
    ['UPDATE_COMPLETE', false, undefined, false],
    ['IMPORT_IN_PROGRESS', false, undefined, false],
  ])('%s, repository in the template: %s, DeletionPolicy %s: empties %s', (status, present, deletionPolicy, empties) => {
    // In the stack under its own name while it is in the template; listed (about to go) but out of the template otherwise.
    const stackState = present ? state(status, { Repo: repo(), Other: {} }, { Repo: 'app' }) : state(status, { Other: {} }, { Repo: 'app' });
    const decision = repositoryTeardown(stackState, { ...inStack, deletionPolicy }, emptier);
    expect(decision.empties).toBe(empties);
    expect(decision.why).toContain(status);
  });

  test('a template that could not be read keeps the images, and says why', () => {
    const decision = repositoryTeardown(
      { status: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', templateProblem: 'the template is not JSON' },
      inStack,
      emptier,
    );
    expect(decision).toEqual({ empties: false, declaredIdsGo: false, why: expect.stringContaining('the template is not JSON') });
  });

  test('resources that could not be listed keep the images, and say why', () => {
    const decision = repositoryTeardown(
      { status: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', template: new Map(), resourcesProblem: 'the stack lists more than 10 pages of resources' },
      inStack,
      emptier,
    );
    expect(decision.empties).toBe(false);
    expect(decision.why).toContain('more than 10 pages');
  });

  test('a repository that left the template under one logical ID but is in the stack under another (a refactored stack) stays', () => {
    const decision = repositoryTeardown(
      state('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', { Repo2: repo() }, { Repo: 'app', Repo2: 'app' }),
      inStack,
      emptier,
    );
    expect(decision).toEqual({ empties: false, declaredIdsGo: true, why: expect.stringContaining('stays in the stack (as Repo2') });
  });
});

describe('when the repository was replaced (a new name: the logical ID stays, the physical ID changes)', () => {
  const forward = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
  const back = 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS';

  test.each([
    // status, UpdateReplacePolicy (properties, template), DeletionPolicy (properties, template), empties
    [forward, undefined, undefined, undefined, undefined, true],
    [forward, 'Delete', 'Delete', 'Delete', 'Delete', true],
    // A forward replacement follows UpdateReplacePolicy alone.
    [forward, 'Delete', 'Delete', 'Retain', 'Retain', true],
    [forward, 'Retain', 'Retain', 'Delete', 'Delete', false],
    [forward, 'Snapshot', 'Snapshot', 'Delete', 'Delete', false],
    // Either template keeping it keeps it (the update may have changed the policy).
    [forward, 'Retain', undefined, undefined, undefined, false],
    [forward, 'Delete', 'Retain', undefined, undefined, false],
    // Written by a version that did not pass UpdateReplacePolicy: the template decides.
    [forward, undefined, 'Retain', undefined, undefined, false],
    // A rollback deletes the replacement the failed update created: kept if either policy would keep it (undocumented).
    [back, 'Delete', 'Delete', 'Delete', 'Delete', true],
    [back, 'Delete', 'Delete', 'RetainExceptOnCreate', 'RetainExceptOnCreate', true],
    [back, 'Delete', 'Delete', 'Retain', 'Delete', false],
    [back, 'Retain', 'Retain', 'RetainExceptOnCreate', 'RetainExceptOnCreate', false],
  ])(
    '%s, UpdateReplacePolicy %s/%s, DeletionPolicy %s/%s: empties %s',
    (status, replaceProps, replaceTemplate, deleteProps, deleteTemplate, empties) => {
      const template = { Repo: repo({ updateReplacePolicy: replaceTemplate, deletionPolicy: deleteTemplate }), Emptier: {} };
      const decision = repositoryTeardown(
        state(status, template, { Repo: 'app-renamed' }),
        { ...inStack, updateReplacePolicy: replaceProps, deletionPolicy: deleteProps },
        emptier,
      );
      expect(decision.empties).toBe(empties);
      expect(decision.why).toContain('was replaced by "app-renamed"');
      // The emptier stays in the template: this Delete is for its old physical ID.
      expect(decision.declaredIdsGo).toBe(false);
    },
  );

  // In a rollback's cleanup, also when the listing still shows the replacement the Delete names (undocumented: the
  // reading taken is that it shows the old repository again): kept, and its own deletion fails, nothing lost.
  test.each([forward, back])('%s: the repository under its own name in the stack stays, whatever the policies', (status) => {
    const decision = repositoryTeardown(state(status, { Repo: repo(), Emptier: {} }, { Repo: 'app' }), inStack, emptier);
    expect(decision.empties).toBe(false);
    expect(decision.why).toContain('stays in the stack (as Repo');
  });

  test('no physical ID listed for the repository: not known to be replaced, kept', () => {
    const decision = repositoryTeardown(state(forward, { Repo: repo(), Emptier: {} }, {}), inStack, emptier);
    expect(decision.empties).toBe(false);
  });
});

describe('declared image IDs of a Delete that the guard holds back', () => {
  test('a deletion that stays in the template: the Delete is for an old physical ID, its declared IDs stay', () => {
    const decision = repositoryTeardown(
      state('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', { Repo: repo(), Emptier: {} }, { Repo: 'app' }),
      inStack,
      emptier,
    );
    expect(decision).toMatchObject({ empties: false, declaredIdsGo: false });
    expect(decision.why).toContain('old physical ID of Emptier');
  });

  test('a deletion that left the template (removed, renamed, moved): its declared IDs go', () => {
    const decision = repositoryTeardown(state('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', { Repo: repo() }, { Repo: 'app' }), inStack, emptier);
    expect(decision).toMatchObject({ empties: false, declaredIdsGo: true });
  });

  test('a stack state that cannot be read keeps every image, declared ones included', () => {
    for (const repository of [inStack, nameOnly]) {
      const decision = repositoryTeardown({ unreadable: 'AccessDenied: not authorized to perform cloudformation:DescribeStacks' }, repository);
      expect(decision).toMatchObject({ empties: false, declaredIdsGo: false });
      expect(decision.why).toContain('cloudformation:DescribeStacks');
    }
  });
});

describe('when the deletion was given a repository name only', () => {
  test.each([
    ['DELETE_IN_PROGRESS', true],
    ['ROLLBACK_IN_PROGRESS', false],
    ['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', false],
    ['UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', false],
    ['UPDATE_IN_PROGRESS', false],
  ])('%s: empties %s (CloudFormation never deletes a repository it does not hold)', (status, empties) => {
    expect(repositoryTeardown(state(status, {}), nameOnly).empties).toBe(empties);
    expect(stackReadsFor(status, nameOnly).details).toBe(false);
  });
});

describe('what is read: only what the decision needs', () => {
  test.each([
    ['DELETE_IN_PROGRESS', false],
    ['ROLLBACK_IN_PROGRESS', false],
    ['UPDATE_IN_PROGRESS', false],
    ['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', true],
    ['UPDATE_ROLLBACK_IN_PROGRESS', true],
    ['UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', true],
  ])('%s: template and resources read: %s', (status, details) => {
    expect(stackReadsFor(status, inStack).details).toBe(details);
  });

  test('whenever the details are not read, the decision does not depend on them', () => {
    const statuses = [...ROLLBACK_STATUSES, 'DELETE_IN_PROGRESS', 'UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'CREATE_IN_PROGRESS'];
    fc.assert(
      fc.property(
        fc.constantFrom(...statuses),
        fc.constantFrom(inStack, nameOnly),
        fc.constantFrom(undefined, 'Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot'),
        fc.boolean(),
        (status, repository, deletionPolicy, present) => {
          fc.pre(!stackReadsFor(status, repository).details);
          const withPolicy = { ...repository, deletionPolicy };
          const bare = repositoryTeardown({ status }, withPolicy, emptier);
          const full = repositoryTeardown(state(status, present ? { Repo: repo(), Emptier: {} } : {}, { Repo: 'other' }), withPolicy, emptier);
          expect(full).toEqual(bare);
        },
      ),
    );
  });
});

describe('never empties a repository that a policy keeps, nor one it does not know to go (property)', () => {
  const policies = fc.constantFrom(undefined, 'Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot', { Ref: 'Param' });
  test('empties only when every policy that applies lets the repository go, and the stack shows it going', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS'),
        fc.record({ props: policies, template: policies }),
        fc.record({ props: policies, template: policies }),
        fc.constantFrom('app', 'app-renamed', undefined),
        fc.boolean(),
        (status, replacePolicy, deletionPolicy, current, inTemplate) => {
          const template: Record<string, TemplateResource> = inTemplate
            ? { Repo: repo({ updateReplacePolicy: replacePolicy.template, deletionPolicy: deletionPolicy.template }) }
            : {};
          const decision = repositoryTeardown(
            state(status, template, current === undefined ? {} : { Repo: current }),
            {
              ...inStack,
              updateReplacePolicy: replacePolicy.props as string | undefined,
              deletionPolicy: deletionPolicy.props as string | undefined,
            },
            emptier,
          );
          if (!decision.empties) return;
          // It goes: out of the template, or replaced (another physical ID in the stack).
          expect(!inTemplate || (current !== undefined && current !== 'app')).toBe(true);
          const lets = (p: unknown) => p === undefined || p === 'Delete' || (p === 'RetainExceptOnCreate' && status.includes('ROLLBACK'));
          if (!inTemplate) expect(lets(deletionPolicy.props)).toBe(true);
          else {
            for (const p of [replacePolicy.props, replacePolicy.template]) expect(p === undefined || p === 'Delete').toBe(true);
            if (status.includes('ROLLBACK')) for (const p of [deletionPolicy.props, deletionPolicy.template]) expect(lets(p)).toBe(true);
          }
        },
      ),
    );
  });
});

test('the rollback statuses are the ones CloudFormation rolls back in', () => {
  expect([...ROLLBACK_STATUSES].sort()).toEqual([
    'IMPORT_ROLLBACK_IN_PROGRESS',
    'ROLLBACK_IN_PROGRESS',
    'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
    'UPDATE_ROLLBACK_IN_PROGRESS',
  ]);
});

describe('reading a template', () => {
  test('the resources under Resources, with their type and removal policies as written', () => {
    const body = JSON.stringify({
      Resources: { Repo: { Type: REPO_TYPE, DeletionPolicy: 'Retain', UpdateReplacePolicy: { Ref: 'P' } }, Fn: { Type: 'AWS::Lambda::Function' } },
    });
    expect(templateResources(body)).toEqual({
      resources: new Map<string, TemplateResource>([
        ['Repo', { type: REPO_TYPE, deletionPolicy: 'Retain', updateReplacePolicy: { Ref: 'P' } }],
        ['Fn', { type: 'AWS::Lambda::Function' }],
      ]),
    });
  });
  test.each([['Resources:\n  Repo:\n    Type: AWS::ECR::PublicRepository'], ['{}'], ['null'], [undefined]])(
    '%s is not read (unknown keeps the images)',
    (body) => {
      const read = templateResources(body);
      expect(read.resources).toBeUndefined();
      expect(read.problem).toEqual(expect.any(String));
    },
  );
});

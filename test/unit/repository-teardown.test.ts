/**
 * The teardown guard's decision, on every stack status and template a Delete
 * can meet: a Delete of allImages() empties the repository only when
 * CloudFormation is deleting the repository itself.
 */
import { ROLLBACK_STATUSES, repositoryTeardown } from '../../lambda/repository-teardown';
import { templateResourceIds } from '../../lambda/stack-state';

const inStack = { logicalId: 'Repo' };
const template = (...ids: string[]) => ({ templateResources: new Set(ids) });

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
    const decision = repositoryTeardown({ status, ...template(...(present ? ['Repo', 'Other'] : ['Other'])) }, { ...inStack, deletionPolicy });
    expect(decision.empties).toBe(empties);
    expect(decision.why).toContain(status);
  });

  test('a template that could not be read keeps the images, and says why', () => {
    const decision = repositoryTeardown({ status: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', templateProblem: 'the template is not JSON' }, inStack);
    expect(decision).toEqual({ empties: false, why: expect.stringContaining('the template is not JSON') });
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
    expect(repositoryTeardown({ status, ...template() }, {}).empties).toBe(empties);
  });
});

test('a stack state that cannot be read keeps every image', () => {
  for (const repository of [inStack, {}]) {
    const decision = repositoryTeardown({ unreadable: 'AccessDenied: not authorized to perform cloudformation:DescribeStacks' }, repository);
    expect(decision.empties).toBe(false);
    expect(decision.why).toContain('cloudformation:DescribeStacks');
  }
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
  test('the logical IDs under Resources', () => {
    expect(templateResourceIds(JSON.stringify({ Resources: { Repo: {}, Fn: {} } }))).toEqual({ ids: new Set(['Repo', 'Fn']) });
  });
  test.each([['Resources:\n  Repo:\n    Type: AWS::ECR::PublicRepository'], ['{}'], ['null'], [undefined]])(
    '%s is not read (unknown keeps the images)',
    (body) => {
      const read = templateResourceIds(body);
      expect(read.ids).toBeUndefined();
      expect(read.problem).toEqual(expect.any(String));
    },
  );
});

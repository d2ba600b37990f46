/**
 * What the construct tells the handler's teardown guard, and the permissions
 * it leaves in place for it: the repository's removal policies as
 * CloudFormation will apply them (escape hatches included, whenever set), a
 * logical ID only for a repository of the same stack, and a policy per
 * repository name, so that a renamed repository's old policy outlives the
 * Delete that empties it.
 */
import { App, CfnDeletionPolicy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { EcrPublicImageDeletion } from '../lib';

const newStack = (app = new App(), id = 'Teardown') => new Stack(app, id, { env: { region: 'us-east-1', account: '123456789012' } });
const emptierProperties = (stack: Stack) =>
  Object.values(Template.fromStack(stack).findResources('Custom::EcrPublicImageDeletion'))[0].Properties as Record<string, unknown>;
const retainedWarnings = (stack: Stack) =>
  Annotations.fromStack(stack)
    .findWarning('*', Match.stringLikeRegexp('deletesFromRetainedRepository'))
    .map((w) => String(w.entry.data));

describe("the repository's removal policies, as CloudFormation will apply them", () => {
  test.each<[string, (repo: ecr.CfnPublicRepository) => void, string, string]>([
    ['RemovalPolicy.RETAIN, applied after the deletion', (repo) => repo.applyRemovalPolicy(RemovalPolicy.RETAIN), 'Retain', 'Retain'],
    ['addOverride of DeletionPolicy (an escape hatch)', (repo) => repo.addOverride('DeletionPolicy', 'Retain'), 'Retain', 'Delete'],
    ['addOverride of UpdateReplacePolicy', (repo) => repo.addOverride('UpdateReplacePolicy', 'Retain'), 'Delete', 'Retain'],
    ['cfnOptions set after the deletion is built', (repo) => (repo.cfnOptions.deletionPolicy = CfnDeletionPolicy.RETAIN), 'Retain', 'Delete'],
    [
      'an override that wins over cfnOptions',
      (repo) => {
        repo.cfnOptions.deletionPolicy = CfnDeletionPolicy.RETAIN;
        repo.addOverride('DeletionPolicy', 'Delete');
      },
      'Delete',
      'Delete',
    ],
    ['nothing set (CloudFormation deletes it)', () => undefined, 'Delete', 'Delete'],
  ])('%s', (_what, set, deletionPolicy, updateReplacePolicy) => {
    const stack = newStack();
    const repo = new ecr.CfnPublicRepository(stack, 'Repo', { repositoryName: 'web' });
    EcrPublicImageDeletion.emptyOnDelete(stack, 'Empty', repo);
    set(repo);
    const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, { DeletionPolicy?: string; UpdateReplacePolicy?: string }> };
    // What the handler is told is what the template holds for the repository.
    expect(template.Resources.Repo.DeletionPolicy ?? 'Delete').toBe(deletionPolicy);
    expect(template.Resources.Repo.UpdateReplacePolicy ?? 'Delete').toBe(updateReplacePolicy);
    expect(emptierProperties(stack)).toMatchObject({
      RepositoryLogicalId: 'Repo',
      RepositoryDeletionPolicy: deletionPolicy,
      RepositoryUpdateReplacePolicy: updateReplacePolicy,
    });
    // And the synth warning sees the same DeletionPolicy.
    expect(retainedWarnings(stack)).toHaveLength(deletionPolicy === 'Delete' ? 0 : 1);
  });

  test("regression (issue 17 bug 3): repo.addOverride('DeletionPolicy', 'Retain') is what the handler is told, and the warning sees it", () => {
    const stack = newStack();
    const repo = new ecr.CfnPublicRepository(stack, 'Repo', { repositoryName: 'web' });
    EcrPublicImageDeletion.emptyOnDelete(stack, 'Empty', repo);
    repo.addOverride('DeletionPolicy', 'Retain');
    expect(emptierProperties(stack).RepositoryDeletionPolicy).toBe('Retain');
    expect(retainedWarnings(stack)).toHaveLength(1);
  });

  test('the warning names the DeletionPolicy that keeps the repository', () => {
    const stack = newStack();
    const repo = new ecr.CfnPublicRepository(stack, 'Repo', { repositoryName: 'web' });
    EcrPublicImageDeletion.emptyOnDelete(stack, 'Empty', repo);
    repo.addOverride('DeletionPolicy', 'Snapshot');
    expect(retainedWarnings(stack)).toEqual([expect.stringContaining("its repository 'Teardown/Repo' is kept (DeletionPolicy Snapshot)")]);
  });
});

describe('a logical ID only for a repository of the same stack', () => {
  test('a repository from another stack never gets a logical ID passed to the handler', () => {
    const app = new App();
    const owner = newStack(app, 'Owner');
    const repo = new ecr.CfnPublicRepository(owner, 'Repo', { repositoryName: 'shared' });
    const user = newStack(app, 'User');
    EcrPublicImageDeletion.emptyOnDelete(user, 'Empty', repo);
    const properties = emptierProperties(user);
    // A cross-stack reference: the name comes from the other stack's export, and is a name only here.
    expect(properties.RepositoryName).toEqual({ 'Fn::ImportValue': expect.stringContaining('Owner') });
    expect(properties.RepositoryLogicalId).toBeUndefined();
    expect(properties.RepositoryDeletionPolicy).toBeUndefined();
    expect(properties.RepositoryUpdateReplacePolicy).toBeUndefined();
  });
});

describe("a renamed repository's permissions last until its cleanup (aws-cdk #26711)", () => {
  /** The logical IDs of the handler's policies, and the ones the emptier depends on, for a repository of that name. */
  function policiesFor(repositoryName: string) {
    const stack = newStack();
    const repo = new ecr.CfnPublicRepository(stack, 'Repo', { repositoryName });
    EcrPublicImageDeletion.emptyOnDelete(stack, 'Empty', repo);
    const template = Template.fromStack(stack);
    const policies = Object.keys(template.findResources('AWS::IAM::Policy'));
    const emptier = Object.values(template.findResources('Custom::EcrPublicImageDeletion'))[0] as { DependsOn: string[] };
    const repositoryPolicy = policies.filter((id) => !id.includes('DefaultPolicy') && !id.includes('RegistryAuthentication'));
    expect(repositoryPolicy).toHaveLength(1);
    expect(emptier.DependsOn).toContain(repositoryPolicy[0]);
    return { repositoryPolicy: repositoryPolicy[0], defaultPolicy: policies.find((id) => id.includes('DefaultPolicy')) };
  }

  test('a new name gives the repository a new policy (created in the update), and the old one is removed at cleanup', () => {
    const before = policiesFor('web');
    const after = policiesFor('web-v2');
    expect(after.repositoryPolicy).not.toBe(before.repositoryPolicy);
    // The stack-state reads sit in the role's default policy, which no rename touches.
    expect(after.defaultPolicy).toBe(before.defaultPolicy);
  });

  test('the same name keeps the same policy from one synth to the next', () => {
    expect(policiesFor('web').repositoryPolicy).toBe(policiesFor('web').repositoryPolicy);
  });
});

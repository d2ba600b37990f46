import { App, CfnOutput, CfnParameter, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { DeletionEvent, EcrPublicImageDeletion, EcrPublicImageDeletionProps } from '../lib';
import { ATTRIBUTES } from '../lib/contract';

const DIGEST = `sha256:${'c'.repeat(64)}`;

function stackWith(...deletions: EcrPublicImageDeletionProps[]): { stack: Stack; template: Template; constructs: EcrPublicImageDeletion[] } {
  const stack = new Stack(new App(), 'TestStack', { env: { account: '111111111111', region: 'eu-west-1' } });
  const constructs = deletions.map((props, i) => new EcrPublicImageDeletion(stack, `Deletion${i}`, props));
  return { stack, template: Template.fromStack(stack), constructs };
}

const policyResources = (template: Template) =>
  Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
    policy.Properties.PolicyDocument.Statement.map((s: { Action: unknown; Resource: unknown }) => ({ Action: s.Action, Resource: s.Resource })),
  );

describe('EcrPublicImageDeletion', () => {
  test('declares a custom resource with the declared images and documented defaults', () => {
    const { template } = stackWith({ repositoryName: 'my-app', imageIds: [{ imageTag: 'pr-42' }, { imageDigest: DIGEST }] });
    template.resourceCountIs('Custom::EcrPublicImageDeletion', 1);
    template.hasResourceProperties('Custom::EcrPublicImageDeletion', {
      ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('EcrPublicImageDeletionProvider'), 'Arn'] },
      RepositoryName: 'my-app',
      RegistryId: Match.absent(),
      ImageIds: [{ imageTag: 'pr-42' }, { imageDigest: DIGEST }],
      DeleteOn: ['Create', 'Update', 'Delete'],
      FailOnImageFailure: 'true',
      ApiRegion: 'us-east-1',
    });
    template.hasResource('Custom::EcrPublicImageDeletion', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  });

  test('passes the options through', () => {
    const { template } = stackWith({
      repositoryName: 'my-app',
      registryId: '222222222222',
      imageIds: [{ imageTag: 'v1', imageDigest: DIGEST }],
      deleteOn: [DeletionEvent.DELETE, DeletionEvent.DELETE],
      failOnImageFailure: false,
      apiRegion: 'us-west-2',
    });
    template.hasResourceProperties('Custom::EcrPublicImageDeletion', {
      RegistryId: '222222222222',
      ImageIds: [{ imageTag: 'v1', imageDigest: DIGEST }],
      DeleteOn: ['Delete'],
      FailOnImageFailure: 'false',
      ApiRegion: 'us-west-2',
    });
  });

  test('runs on a supported Node.js runtime, arm64, with a timeout and a log group with retention', () => {
    const { template } = stackWith({ repositoryName: 'my-app', imageIds: [{ imageTag: 'a' }] });
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 300,
      MemorySize: 256,
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('LogGroup') } },
    });
    template.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 }, DeletionPolicy: 'Delete' });
    // The code is the pre-built bundle shipped in the package: an asset, nothing bundled at synth.
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0];
    expect(fn.Properties.Code.S3Key).toMatch(/^[0-9a-f]{64}\.zip$/);
  });

  test('three deletions in a stack share one function, each granted its own repository', () => {
    const { template } = stackWith(
      { repositoryName: 'repo-a', imageIds: [{ imageTag: 'a' }] },
      { repositoryName: 'team/repo-b', imageIds: [{ imageTag: 'b' }] },
      { repositoryName: 'repo-c', registryId: '333333333333', imageIds: [{ imageTag: 'c' }] },
    );
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.resourceCountIs('Custom::EcrPublicImageDeletion', 3);
    const arn = (account: unknown, name: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr-public::', account, `:repository/${name}`]],
    });
    const statements = policyResources(template).filter((s) => s.Action === 'ecr-public:BatchDeleteImage');
    expect(statements.map((s) => s.Resource)).toEqual([
      arn({ Ref: 'AWS::AccountId' }, 'repo-a'),
      arn({ Ref: 'AWS::AccountId' }, 'team/repo-b'),
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr-public::333333333333:repository/repo-c']] },
    ]);
  });

  test('grants nothing on a wildcard resource, and no AWS managed policy', () => {
    const { template } = stackWith({ repositoryName: 'repo-a', imageIds: [{ imageTag: 'a' }] });
    for (const statement of policyResources(template)) {
      expect(JSON.stringify(statement.Resource)).not.toMatch(/"\*"|:\*"/);
      expect(JSON.stringify(statement.Action)).not.toContain('*');
    }
    const roles = Object.values(template.findResources('AWS::IAM::Role'));
    expect(roles).toHaveLength(1);
    expect(roles[0].Properties.ManagedPolicyArns).toBeUndefined();
    expect(policyResources(template)).toContainEqual({
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/LogGroup/), 'Arn'] },
    });
  });

  test('is deleted before a CfnPublicRepository it references, and before its permission', () => {
    const stack = new Stack(new App(), 'RepoStack', { env: { region: 'us-east-1' } });
    const repo = new ecr.CfnPublicRepository(stack, 'Repo', { repositoryName: 'my-app' });
    new EcrPublicImageDeletion(stack, 'PrImages', { repositoryName: repo.ref, imageIds: [{ imageTag: 'pr-1' }] });
    const template = Template.fromStack(stack);
    const [logicalId, resource] = Object.entries(template.findResources('Custom::EcrPublicImageDeletion'))[0];
    const repoId = stack.getLogicalId(repo);
    // A Ref makes CloudFormation create the repository first and delete it last.
    expect(resource.Properties.RepositoryName).toEqual({ Ref: repoId });
    const policyId = Object.keys(template.findResources('AWS::IAM::Policy'))[0];
    expect(resource.DependsOn).toEqual(expect.arrayContaining([policyId]));
    expect(logicalId).toMatch(/^PrImages/);
  });

  test('each deletion depends on a policy of its repository alone, so removing it keeps the permission until its Delete ran', () => {
    const { template } = stackWith(
      { repositoryName: 'repo-a', imageIds: [{ imageTag: 'a' }] },
      { repositoryName: 'repo-b', imageIds: [{ imageTag: 'b' }] },
      { repositoryName: 'repo-a', imageIds: [{ imageTag: 'c' }] },
    );
    const policies = template.findResources('AWS::IAM::Policy');
    const grants = (name: string) =>
      Object.keys(policies).filter((id) => JSON.stringify(policies[id].Properties.PolicyDocument).includes(`:repository/${name}"`));
    // Two repositories, two policies; the two deletions in repo-a share one.
    const [policyA, policyB] = [grants('repo-a'), grants('repo-b')];
    expect(policyA).toHaveLength(1);
    expect(policyB).toHaveLength(1);
    const dependsOn = Object.entries(template.findResources('Custom::EcrPublicImageDeletion')).map(([id, r]) => [
      id.replace(/[0-9A-F]{8}$/, ''),
      r.DependsOn,
    ]);
    expect(dependsOn).toEqual([
      ['Deletion0', expect.arrayContaining([policyA[0]])],
      ['Deletion1', expect.arrayContaining([policyB[0]])],
      ['Deletion2', expect.arrayContaining([policyA[0]])],
    ]);
    expect(dependsOn[1][1]).not.toContain(policyA[0]);
    expect(dependsOn[0][1]).not.toContain(policyB[0]);
  });

  test('names each repository policy briefly and uniquely within the role', () => {
    const { template } = stackWith(
      { repositoryName: 'repo-a', imageIds: [{ imageTag: 'a' }] },
      { repositoryName: 'repo-b', imageIds: [{ imageTag: 'b' }] },
    );
    const names = Object.values(template.findResources('AWS::IAM::Policy'))
      .map((p) => p.Properties.PolicyName as string)
      .filter((n) => n.startsWith('ecr-public-deletion-'));
    expect(names).toHaveLength(2);
    expect(new Set(names).size).toBe(2);
    expect(names.every((n) => /^ecr-public-deletion-[0-9a-f]{12}$/.test(n))).toBe(true);
  });

  test("bounds CloudFormation's wait to 15 minutes, not the default hour", () => {
    const { template } = stackWith({ repositoryName: 'my-app', imageIds: [{ imageTag: 'a' }] });
    template.hasResourceProperties('Custom::EcrPublicImageDeletion', { ServiceTimeout: '900' });
  });

  test('warns when the stack deletes in more than 40 repositories (IAM inline policy size)', () => {
    const stack = new Stack(new App(), 'Many');
    for (let i = 0; i < 41; i++) new EcrPublicImageDeletion(stack, `D${i}`, { repositoryName: `repo-${i}`, imageIds: [{ imageTag: 'x' }] });
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('more than 40 repositories'));
    const fewer = new Stack(new App(), 'Few');
    for (let i = 0; i < 40; i++) new EcrPublicImageDeletion(fewer, `D${i}`, { repositoryName: `repo-${i}`, imageIds: [{ imageTag: 'x' }] });
    Annotations.fromStack(fewer).hasNoWarning('*', Match.stringLikeRegexp('more than 40 repositories'));
  });

  test('exposes the attributes as tokens that resolve to Fn::GetAtt', () => {
    const stack = new Stack();
    const deletion = new EcrPublicImageDeletion(stack, 'D', { repositoryName: 'my-app', imageIds: [{ imageTag: 'a' }] });
    new CfnOutput(stack, 'Deleted', { value: deletion.deletedImageIdsJson });
    new CfnOutput(stack, 'Count', { value: `${deletion.deletedCount}` });
    const outputs = Template.fromStack(stack).toJSON().Outputs;
    const id = stack.getLogicalId(deletion.resource.node.defaultChild as never);
    expect(outputs.Deleted.Value).toEqual({ 'Fn::GetAtt': [id, 'ImageIds'] });
    expect(outputs.Count.Value).toEqual({ 'Fn::GetAtt': [id, 'DeletedCount'] });
    expect(stack.resolve(deletion.failuresJson)).toEqual({ 'Fn::GetAtt': [id, 'Failures'] });
    expect(stack.resolve(deletion.failureCount)).toEqual({ 'Fn::GetAtt': [id, 'FailureCount'] });
    expect(stack.resolve(deletion.truncated)).toEqual({ 'Fn::GetAtt': [id, 'Truncated'] });
    expect(stack.resolve(deletion.deletionRan)).toEqual({ 'Fn::GetAtt': [id, 'DeletionRan'] });
    expect(stack.resolve(deletion.dryRun)).toEqual({ 'Fn::GetAtt': [id, 'DryRun'] });
    expect(stack.resolve(deletion.notFoundCount)).toEqual({ 'Fn::GetAtt': [id, 'NotFoundCount'] });
    expect(stack.resolve(deletion.ruleCountsJson)).toEqual({ 'Fn::GetAtt': [id, 'RuleCounts'] });
  });

  test('has a getter for every attribute the handler returns', () => {
    const stack = new Stack();
    const deletion = new EcrPublicImageDeletion(stack, 'D', { repositoryName: 'my-app', imageIds: [{ imageTag: 'a' }] });
    const id = stack.getLogicalId(deletion.resource.node.defaultChild as never);
    const fromGetters = Object.values(deletion)
      .filter((value) => typeof value === 'string' || typeof value === 'number')
      .map((value) => stack.resolve(value))
      .filter((value) => value && value['Fn::GetAtt']?.[0] === id)
      .map((value) => value['Fn::GetAtt'][1])
      .sort();
    expect(fromGetters).toEqual(Object.values(ATTRIBUTES).sort());
  });

  test('sends exact repeats once, with a warning that names them', () => {
    const { stack, template } = stackWith({
      repositoryName: 'my-app',
      imageIds: [{ imageTag: 'a' }, { imageTag: 'b' }, { imageTag: 'a' }, { imageTag: 'a', imageDigest: DIGEST }],
    });
    template.hasResourceProperties('Custom::EcrPublicImageDeletion', {
      ImageIds: [{ imageTag: 'a' }, { imageTag: 'b' }, { imageTag: 'a', imageDigest: DIGEST }],
    });
    Annotations.fromStack(stack).hasWarning(
      '/TestStack/Deletion0',
      Match.stringLikeRegexp('imageIds\\[2\\] repeats imageIds\\[0\\]; it is sent once'),
    );
  });

  test('lets tokens through to the handler check', () => {
    const stack = new Stack();
    const tag = new CfnParameter(stack, 'Tag');
    const registry = new CfnParameter(stack, 'Registry');
    expect(
      () =>
        new EcrPublicImageDeletion(stack, 'D', {
          repositoryName: tag.valueAsString,
          registryId: registry.valueAsString,
          imageIds: [{ imageDigest: tag.valueAsString }],
        }),
    ).not.toThrow();
  });

  describe('rejects bad input at synth time, naming the property, the value and what is allowed', () => {
    test.each<[string, Partial<EcrPublicImageDeletionProps>, string]>([
      ['a too-short repository name', { repositoryName: 'a' }, 'repositoryName "a" has 1 characters (expected 2 to 205)'],
      ['an invalid repository name', { repositoryName: 'My_Repo' }, 'repositoryName "My_Repo" is not a valid ECR Public repository name'],
      ['a registry ID that is not 12 digits', { registryId: '1234' }, 'registryId "1234" is not an AWS account ID (expected 12 digits)'],
      ['empty imageIds', { imageIds: [] }, 'imageIds is empty (expected at least one image ID'],
      [
        'an entry with neither tag nor digest',
        { imageIds: [{ imageTag: 'ok' }, {}] },
        'imageIds[1] has neither imageTag nor imageDigest (expected at least one)',
      ],
      ['an over-long tag', { imageIds: [{ imageTag: 'x'.repeat(301) }] }, 'imageIds[0]: imageTag "xxxxx'],
      [
        'a bad digest',
        { imageIds: [{ imageDigest: 'sha256:abc' }] },
        'imageIds[0]: imageDigest "sha256:abc" is not a sha256 digest (expected sha256: followed by 64 lowercase hex characters)',
      ],
      [
        'an unknown deleteOn value',
        { deleteOn: ['Rollback' as DeletionEvent] },
        'deleteOn has an unknown event "Rollback" (allowed: Create, Update, Delete)',
      ],
      ['an empty deleteOn', { deleteOn: [] }, 'deleteOn is empty: nothing would ever be deleted'],
      [
        'a region without the API',
        { apiRegion: 'eu-west-1' },
        'apiRegion "eu-west-1" does not serve the ECR Public API (allowed: us-east-1, us-west-2)',
      ],
    ])('%s', (_name, change, message) => {
      const make = () =>
        new EcrPublicImageDeletion(new Stack(new App(), 'Bad'), 'PrImages', { repositoryName: 'my-app', imageIds: [{ imageTag: 'a' }], ...change });
      expect(make).toThrow(message);
      expect(make).toThrow("EcrPublicImageDeletion 'Bad/PrImages' has invalid properties:");
    });

    test('every problem at once', () => {
      const stack = new Stack();
      expect(() => new EcrPublicImageDeletion(stack, 'D', { repositoryName: 'X', imageIds: [{ imageDigest: 'md5:1' }, {}] })).toThrow(
        /repositoryName "X".*\n.*imageIds\[0\]: imageDigest "md5:1".*\n.*imageIds\[1\] has neither/,
      );
    });
  });
});

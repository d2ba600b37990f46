/**
 * A selection that reads the registry, deployed by the local CloudFormation
 * from the construct's synthesized template (local-stack-engine.ts), every
 * call of the handler judged against the stack's IAM of that moment: the
 * grants the construct adds for the reads (ecr-public:GetAuthorizationToken
 * with sts:GetServiceBearerToken on "*", BatchGetItem and BatchWriteItem on
 * the stack's reference cache table only) are sufficient, from the Create to
 * the Delete of the stack; without the token grants, the reads go anonymous
 * and the selection still decides the same.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template as Synthesized } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { EcrPublicImageDeletion, ImageSelection } from '../../lib';
import { buildxIndex, singleImage } from '../../local/ecr-public';
import { useLocalRig } from '../support/local-rig';
import { EngineTemplate, LocalStackEngine } from '../support/local-stack-engine';

const DAY = 86_400_000;
const now = Date.now();

describe("a selection's registry reads under the stack's IAM, from Create to the stack's deletion", () => {
  const rig = useLocalRig();
  let stacks = 0;

  /** A repository of the stack, emptied with it, and an untaggedImages() deletion in it, with a trigger to send Updates. */
  function synthesized(repositoryName: string, trigger: string): EngineTemplate {
    const stack = new Stack(new App(), 'Reads', { env: { account: '123456789012', region: 'eu-west-1' } });
    const repo = new ecr.CfnPublicRepository(stack, 'Repo', { repositoryName });
    new EcrPublicImageDeletion(stack, 'Untagged', { repositoryName: repo.ref, select: ImageSelection.untaggedImages(), updateTrigger: trigger });
    EcrPublicImageDeletion.emptyOnDelete(stack, 'Emptier', repo);
    return Synthesized.fromStack(stack).toJSON() as EngineTemplate;
  }

  /** A release (a tagged buildx index with four children) and a stray untagged image, pushed when the repository is created. */
  function newEngine() {
    const repository = `iam/reads-${++stacks}`;
    const release = buildxIndex(`${repository}-release`, { tags: ['v1'], pushedAt: now - 2 * DAY });
    const stray = singleImage(`${repository}-stray`, { pushedAt: now - DAY });
    const engine = new LocalStackEngine(rig(), {
      stackName: `reads-${stacks}`,
      onRepositoryCreated: async (name) => void rig().emulator.seed(name, [...release.images, stray]),
    });
    return { engine, repository, release, stray };
  }
  const actionsOf = (engine: LocalStackEngine) => new Set(engine.calls.map((call) => call.action));
  /** The digests the repository holds. */
  const digestsIn = (repository: string) =>
    new Set(
      rig()
        .emulator.images(repository)
        .map((image) => image.digest),
    );

  test('every call is allowed; the reads are authenticated and go through the cache, which goes with the stack', async () => {
    const { engine, repository, release, stray } = newEngine();
    expect(await engine.deploy(synthesized(repository, 'one'))).toBe('CREATE_COMPLETE');
    // The Create read the release's index, stored it, and deleted the stray image only.
    const left = digestsIn(repository);
    expect(left).toEqual(new Set(release.images.map((image) => image.digest)));
    expect(left.has(stray.digest)).toBe(false);
    expect(engine.events.find((e) => e.logicalId.startsWith('Untagged'))?.response).toMatchObject({
      Status: 'SUCCESS',
      Reason: expect.stringContaining('authenticated registry reads'),
    });
    // An Update (a new trigger) finds the index in the cache.
    expect(await engine.deploy(synthesized(repository, 'two'))).toBe('UPDATE_COMPLETE');
    expect(engine.events.filter((e) => e.logicalId.startsWith('Untagged'))[1].response.Reason).toMatch(/[1-9]\d* manifests from the reference cache/);
    expect(await engine.destroy()).toBe('DELETE_COMPLETE');
    expect(engine.calls.filter((call) => !call.allowed)).toEqual([]);
    for (const action of [
      'ecr-public:GetAuthorizationToken',
      'sts:GetServiceBearerToken',
      'ecr-public:DescribeRepositories',
      'dynamodb:BatchGetItem',
      'dynamodb:BatchWriteItem',
    ]) {
      expect(actionsOf(engine)).toContain(action);
    }
    // The DynamoDB calls name the stack's table only; the token actions, "*".
    const tableArn = /^arn:aws:dynamodb:eu-west-1:123456789012:table\/reads-\d+-\w*ReferenceCache\w*-[0-9a-f]{8}$/;
    expect(engine.calls.filter((call) => call.action.startsWith('dynamodb:')).every((call) => tableArn.test(call.resource))).toBe(true);
    expect(
      engine.calls.filter((call) => /GetAuthorizationToken|GetServiceBearerToken/.test(call.action)).every((call) => call.resource === '*'),
    ).toBe(true);
    // The table went with the stack.
    expect([...rig().dynamo.store.tables.keys()].filter((name) => name.startsWith(`reads-${stacks}-`))).toEqual([]);
  });

  test('without the token grants (the policy left out), the reads go anonymous, and the decision is the same', async () => {
    const { engine, repository, release } = newEngine();
    const template = synthesized(repository, 'one') as { Resources: Record<string, EngineTemplate['Resources'][string]> };
    const authentication = Object.keys(template.Resources).find((id) => id.includes('RegistryAuthentication'))!;
    delete template.Resources[authentication];
    for (const resource of Object.values(template.Resources)) {
      if (Array.isArray(resource.DependsOn)) (resource as { DependsOn: string[] }).DependsOn = resource.DependsOn.filter((d) => d !== authentication);
    }
    expect(await engine.deploy(template)).toBe('CREATE_COMPLETE');
    expect(engine.events.find((e) => e.logicalId.startsWith('Untagged'))?.response).toMatchObject({
      Status: 'SUCCESS',
      Reason: expect.stringContaining('anonymous registry reads: GetAuthorizationToken failed: AccessDeniedException'),
    });
    expect(digestsIn(repository)).toEqual(new Set(release.images.map((image) => image.digest)));
    expect(engine.calls.filter((call) => !call.allowed).map((call) => call.action)).toEqual(['ecr-public:GetAuthorizationToken']);
  });

  test.each<[string, string, string]>([
    [
      'sts:GetServiceBearerToken left out',
      'sts:GetServiceBearerToken',
      'anonymous registry reads: GetAuthorizationToken failed: AccessDeniedException',
    ],
    ["the cache table's grants left out", 'dynamodb:BatchGetItem', 'manifests from the reference cache (off: see the log)'],
  ])('%s: that call is refused, the reads cost more, and the decision is the same', async (_what, action, said) => {
    const { engine, repository, release } = newEngine();
    const template = synthesized(repository, 'one') as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
    // The action out of every statement that grants it (with its sibling: GetAuthorizationToken's, or BatchWriteItem).
    const dropped = action.startsWith('sts:') ? [action] : ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'];
    for (const resource of Object.values(template.Resources).filter((r) => r.Type === 'AWS::IAM::Policy')) {
      const document = resource.Properties!.PolicyDocument as { Statement: Array<{ Action: string | string[] }> };
      for (const statement of document.Statement) {
        if (Array.isArray(statement.Action)) statement.Action = statement.Action.filter((a) => !dropped.includes(a));
      }
      document.Statement = document.Statement.filter((statement) => statement.Action.length > 0);
    }
    expect(await engine.deploy(template as EngineTemplate)).toBe('CREATE_COMPLETE');
    expect(engine.events.find((e) => e.logicalId.startsWith('Untagged'))?.response).toMatchObject({
      Status: 'SUCCESS',
      Reason: expect.stringContaining(said),
    });
    expect(digestsIn(repository)).toEqual(new Set(release.images.map((image) => image.digest)));
    expect(new Set(engine.calls.filter((call) => !call.allowed).map((call) => call.action))).toEqual(new Set([action]));
  });
});

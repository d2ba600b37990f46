/**
 * Least privilege, from the synthesized template: the handler's role may call
 * BatchDeleteImage on the declared repositories, write to its own log group,
 * and read its own stack's state (DescribeStacks, GetTemplate, ListStackResources on AWS::StackId);
 * with a selection, also list its repository, read and write the stack's
 * reference cache (BatchGetItem, BatchWriteItem on that table), and get a
 * registry token (GetAuthorizationToken, GetServiceBearerToken); nothing else.
 * No policy statement names '*' in an action or a resource, whatever the
 * number of repositories, registries or stacks, except the two token actions,
 * which take no resource ARN, in a policy of their own.
 *
 * The template names the log group by Fn::GetAtt LogGroup.Arn, which
 * CloudFormation resolves to `arn:…:log-group:<name>:*`: the streams of that
 * one group, whose names Lambda picks. That is the narrowest grant that lets
 * the function log; the template itself holds no '*'.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { EcrPublicImageDeletion, ImageSelection } from '../../lib';

interface Statement {
  Effect: string;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Principal?: unknown;
  Condition?: unknown;
}

/** The ARN the construct must grant for a repository, as CloudFormation will join it. */
function repositoryArn(registry: unknown, repositoryName: unknown) {
  const parts: unknown[] = ['arn:', { Ref: 'AWS::Partition' }, ':ecr-public::', registry, ':repository/', repositoryName];
  // CDK merges adjacent literals: join the strings that end up next to each other.
  const merged: unknown[] = [];
  for (const part of parts) {
    const last = merged[merged.length - 1];
    if (typeof part === 'string' && typeof last === 'string') merged[merged.length - 1] = last + part;
    else merged.push(part);
  }
  return { 'Fn::Join': ['', merged] };
}
const ACCOUNT = { Ref: 'AWS::AccountId' };
/** Reading its own stack's state (a rollback, a repository being deleted): this stack's ID, no other. */
const STACK_STATE = ['cloudformation:DescribeStacks', 'cloudformation:GetTemplate', 'cloudformation:ListStackResources'].map((action) => ({
  action,
  resource: { Ref: 'AWS::StackId' },
}));
/** A selection's registry reads: the stack's reference cache, and the registry token (actions that take no resource ARN). */
const TOKEN_ACTIONS = ['ecr-public:GetAuthorizationToken', 'sts:GetServiceBearerToken'];
function selectionReads(template: Template) {
  const tables = Object.keys(template.findResources('AWS::DynamoDB::Table'));
  expect(tables).toHaveLength(1);
  return [
    ...['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'].map((action) => ({ action, resource: { 'Fn::GetAtt': [tables[0], 'Arn'] } })),
    ...TOKEN_ACTIONS.map((action) => ({ action, resource: '*' })),
  ];
}

const asList = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Every policy statement of the template: managed and inline policies, role policies and trust policies. */
function allStatements(template: Template): Array<{ where: string; statement: Statement }> {
  const found: Array<{ where: string; statement: Statement }> = [];
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  const fromDocument = (where: string, document: unknown) => {
    for (const statement of asList((document as { Statement?: unknown } | undefined)?.Statement)) {
      found.push({ where, statement: statement as Statement });
    }
  };
  for (const [id, resource] of Object.entries(resources)) {
    const props = resource.Properties ?? {};
    if (props.PolicyDocument) fromDocument(`${id}.PolicyDocument`, props.PolicyDocument);
    if (props.AssumeRolePolicyDocument) fromDocument(`${id}.AssumeRolePolicyDocument`, props.AssumeRolePolicyDocument);
    for (const policy of asList(props.Policies)) fromDocument(`${id}.Policies`, (policy as { PolicyDocument?: unknown }).PolicyDocument);
  }
  return found;
}

/** Every string inside a value, Fn::Join parts and other intrinsics included. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

/** The permission statements of the handler's role, as (action, resource) pairs: merging or splitting statements does not matter. */
function grants(template: Template): Array<{ action: string; resource: unknown }> {
  return allStatements(template)
    .filter(({ where }) => !where.endsWith('AssumeRolePolicyDocument'))
    .flatMap(({ statement }) => {
      expect(statement.Effect).toBe('Allow');
      expect(statement.NotAction).toBeUndefined();
      expect(statement.NotResource).toBeUndefined();
      return asList(statement.Action).flatMap((action) => asList(statement.Resource).map((resource) => ({ action: action as string, resource })));
    });
}

function logGroupOf(template: Template) {
  const ids = Object.keys(template.findResources('AWS::Logs::LogGroup'));
  expect(ids).toHaveLength(1);
  return { 'Fn::GetAtt': [ids[0], 'Arn'] };
}

/** The statement of the token actions, alone in the registry authentication policy: its Resource '*' is the one allowed. */
function isTokenStatement(where: string, statement: Statement, template: Template): boolean {
  const id = where.split('.')[0];
  const policy = template.toJSON().Resources[id] as { Properties?: { PolicyName?: string } };
  return (
    policy?.Properties?.PolicyName === 'ecr-public-registry-authentication' &&
    JSON.stringify([...asList(statement.Action)].sort()) === JSON.stringify(TOKEN_ACTIONS) &&
    statement.Resource === '*' &&
    statement.Condition === undefined
  );
}

function expectNoWildcard(template: Template) {
  const statements = allStatements(template);
  expect(statements.length).toBeGreaterThan(0);
  for (const { where, statement } of statements) {
    if (isTokenStatement(where, statement, template)) continue;
    for (const key of ['Action', 'NotAction', 'Resource', 'NotResource'] as const) {
      const wildcards = stringsIn(statement[key]).filter((text) => text.includes('*'));
      expect({ where, key, wildcards }).toEqual({ where, key, wildcards: [] });
    }
  }
}

const sortGrants = (list: Array<{ action: string; resource: unknown }>) => [...list].map((g) => JSON.stringify(g)).sort();

const minimizeSettings = [
  { label: 'default policy settings', context: {} },
  { label: '@aws-cdk/aws-iam:minimizePolicies', context: { '@aws-cdk/aws-iam:minimizePolicies': true } },
];

describe.each(minimizeSettings)('least privilege ($label)', ({ context }) => {
  test('one repository: BatchDeleteImage on it, log writes on the own log group, nothing else', () => {
    const stack = new Stack(new App({ context }), 'One');
    new EcrPublicImageDeletion(stack, 'PrImages', { repositoryName: 'my-app', imageIds: [{ imageTag: 'pr-1' }] });
    const template = Template.fromStack(stack);

    expect(sortGrants(grants(template))).toEqual(
      sortGrants([
        { action: 'ecr-public:BatchDeleteImage', resource: repositoryArn(ACCOUNT, 'my-app') },
        { action: 'logs:CreateLogStream', resource: logGroupOf(template) },
        { action: 'logs:PutLogEvents', resource: logGroupOf(template) },
        ...STACK_STATE,
      ]),
    );
    expectNoWildcard(template);
  });

  test('a selection adds only what reading its own repository needs: DescribeImages and DescribeRepositories on it, the cache, a registry token', () => {
    const stack = new Stack(new App({ context }), 'Selecting');
    new EcrPublicImageDeletion(stack, 'Hygiene', { repositoryName: 'my-app', select: ImageSelection.untaggedImages() });
    new EcrPublicImageDeletion(stack, 'Releases', { repositoryName: 'my-app', select: ImageSelection.tagsMatching('v*').keepNewest(3) });
    const template = Template.fromStack(stack);

    expect([...new Set(sortGrants(grants(template)))]).toEqual(
      sortGrants([
        { action: 'ecr-public:BatchDeleteImage', resource: repositoryArn(ACCOUNT, 'my-app') },
        { action: 'ecr-public:DescribeImages', resource: repositoryArn(ACCOUNT, 'my-app') },
        { action: 'ecr-public:DescribeRepositories', resource: repositoryArn(ACCOUNT, 'my-app') },
        { action: 'logs:CreateLogStream', resource: logGroupOf(template) },
        { action: 'logs:PutLogEvents', resource: logGroupOf(template) },
        ...STACK_STATE,
        ...selectionReads(template),
      ]),
    );
    expectNoWildcard(template);
  });

  test('declared image IDs alone get neither the cache nor the registry token', () => {
    const stack = new Stack(new App({ context }), 'Declared');
    new EcrPublicImageDeletion(stack, 'PrImages', { repositoryName: 'my-app', imageIds: [{ imageTag: 'pr-1' }] });
    const template = Template.fromStack(stack);
    expect(grants(template).filter((g) => g.action.startsWith('dynamodb:') || TOKEN_ACTIONS.includes(g.action))).toEqual([]);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
  });

  test('several repositories, one in another registry, one by reference: each granted, none more', () => {
    const stack = new Stack(new App({ context }), 'Several', { env: { account: '111111111111', region: 'eu-west-1' } });
    const repo = new ecr.CfnPublicRepository(stack, 'Repo', { repositoryName: 'web' });
    new EcrPublicImageDeletion(stack, 'ByRef', { repositoryName: repo.ref, imageIds: [{ imageTag: 'pr-1' }] });
    new EcrPublicImageDeletion(stack, 'Namespaced', { repositoryName: 'team/api', imageIds: [{ imageTag: 'pr-1' }] });
    new EcrPublicImageDeletion(stack, 'OtherRegistry', {
      repositoryName: 'shared/base',
      registryId: '222222222222',
      imageIds: [{ imageDigest: `sha256:${'a'.repeat(64)}` }],
    });
    // A second deletion on the same repository adds no new permission.
    new EcrPublicImageDeletion(stack, 'SameRepoAgain', { repositoryName: 'team/api', imageIds: [{ imageTag: 'pr-2' }] });
    const template = Template.fromStack(stack);

    const expected = [
      { action: 'ecr-public:BatchDeleteImage', resource: repositoryArn(ACCOUNT, { Ref: 'Repo' }) },
      { action: 'ecr-public:BatchDeleteImage', resource: repositoryArn(ACCOUNT, 'team/api') },
      { action: 'ecr-public:BatchDeleteImage', resource: repositoryArn('222222222222', 'shared/base') },
      { action: 'logs:CreateLogStream', resource: logGroupOf(template) },
      { action: 'logs:PutLogEvents', resource: logGroupOf(template) },
      ...STACK_STATE,
    ];
    // Identical statements may appear once or twice; the set of grants is exact.
    expect([...new Set(sortGrants(grants(template)))]).toEqual(sortGrants(expected));
    expectNoWildcard(template);

    // One role, trusted by Lambda only, with no managed or inline policy besides the one above.
    const roles = Object.values(template.findResources('AWS::IAM::Role'));
    expect(roles).toHaveLength(1);
    expect(roles[0].Properties.ManagedPolicyArns).toBeUndefined();
    expect(roles[0].Properties.Policies).toBeUndefined();
    expect(roles[0].Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
    ]);
    expect(Object.keys(template.findResources('AWS::IAM::ManagedPolicy'))).toEqual([]);
    expect(Object.keys(template.findResources('AWS::IAM::Policy')).length).toBeGreaterThanOrEqual(1);
  });

  test('two stacks: each role is granted only the repositories of its own stack', () => {
    const app = new App({ context });
    const first = new Stack(app, 'First');
    const second = new Stack(app, 'Second');
    new EcrPublicImageDeletion(first, 'A', { repositoryName: 'first-repo', imageIds: [{ imageTag: 'x' }] });
    new EcrPublicImageDeletion(second, 'B', { repositoryName: 'second-repo', registryId: '333333333333', imageIds: [{ imageTag: 'x' }] });
    const ecrGrants = (stack: Stack) => grants(Template.fromStack(stack)).filter((g) => g.action.startsWith('ecr-public:'));

    expect(ecrGrants(first)).toEqual([{ action: 'ecr-public:BatchDeleteImage', resource: repositoryArn(ACCOUNT, 'first-repo') }]);
    expect(ecrGrants(second)).toEqual([{ action: 'ecr-public:BatchDeleteImage', resource: repositoryArn('333333333333', 'second-repo') }]);
    expectNoWildcard(Template.fromStack(first));
    expectNoWildcard(Template.fromStack(second));
  });
});

test('the wildcard check lets the token actions through only alone, in their own policy: a "*" beside them is found', () => {
  const stack = new Stack(new App(), 'WildSelection');
  new EcrPublicImageDeletion(stack, 'A', { repositoryName: 'my-app', select: ImageSelection.untaggedImages() });
  const json = Template.fromStack(stack).toJSON();
  const resources = json.Resources as Record<
    string,
    { Type: string; Properties: { PolicyName?: string; PolicyDocument: { Statement: Statement[] } } }
  >;
  expect(() => expectNoWildcard(Template.fromJSON(json))).not.toThrow();
  const authentication = Object.values(resources).find((r) => r.Properties.PolicyName === 'ecr-public-registry-authentication')!;
  (authentication.Properties.PolicyDocument.Statement[0].Action as string[]).push('ecr-public:BatchDeleteImage');
  expect(() => expectNoWildcard(Template.fromJSON(json))).toThrow();
});

test('the wildcard check itself finds a "*" hidden in an Fn::Join', () => {
  // A check that never fails proves nothing: feed it a statement it must reject.
  const stack = new Stack(new App(), 'Wild');
  new EcrPublicImageDeletion(stack, 'A', { repositoryName: 'my-app', imageIds: [{ imageTag: 'x' }] });
  const json = Template.fromStack(stack).toJSON();
  const policy = Object.values(json.Resources as Record<string, { Type: string; Properties: { PolicyDocument: { Statement: Statement[] } } }>).find(
    (r) => r.Type === 'AWS::IAM::Policy',
  )!;
  policy.Properties.PolicyDocument.Statement.push({
    Effect: 'Allow',
    Action: 'ecr-public:BatchDeleteImage',
    Resource: { 'Fn::Join': ['', ['arn:aws:ecr-public::', ACCOUNT, ':repository/*']] },
  });
  expect(() => expectNoWildcard(Template.fromJSON(json))).toThrow();
});

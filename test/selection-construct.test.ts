import { App, CfnParameter, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { DeletionEvent, EcrPublicImageDeletion, ImageSelection } from '../lib';

const newStack = () => new Stack(new App(), 'Hygiene', { env: { region: 'us-east-1' } });
const actionsOf = (template: Template) =>
  Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) =>
    p.Properties.PolicyDocument.Statement.map((s: { Action: string | string[] }) => s.Action).flat(),
  );

describe('EcrPublicImageDeletion with a selection', () => {
  test('writes the selection, every condition, for the handler', () => {
    const stack = newStack();
    new EcrPublicImageDeletion(stack, 'PrImages', {
      repositoryName: 'app',
      select: ImageSelection.tagsMatching('pr-*', 'preview-?').olderThan(Duration.days(7)).keepNewest(5).protectTags('latest').protectTags('v*'),
      dryRun: true,
    });
    Template.fromStack(stack).hasResourceProperties('Custom::EcrPublicImageDeletion', {
      ImageIds: Match.absent(),
      Select: { Match: 'tagged', TagPatterns: ['pr-*', 'preview-?'], OlderThanSeconds: '604800', KeepNewest: '5', ProtectTags: ['latest', 'v*'] },
      DryRun: 'true',
    });
  });

  test('a selection is immutable: each method returns a new one', () => {
    const base = ImageSelection.allImages();
    const narrowed = base.keepNewest(3);
    expect(base._toWire()).toEqual({ Match: 'all' });
    expect(narrowed._toWire()).toEqual({ Match: 'all', KeepNewest: '3' });
  });

  test('grants DescribeImages and DescribeRepositories only to deletions that select, on their repository only', () => {
    const stack = newStack();
    new EcrPublicImageDeletion(stack, 'Literal', { repositoryName: 'literal-repo', imageIds: [{ imageTag: 'x' }] });
    new EcrPublicImageDeletion(stack, 'Rule', { repositoryName: 'rule-repo', select: ImageSelection.untaggedImages() });
    const template = Template.fromStack(stack);
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).map((p) => JSON.stringify(p.Properties.PolicyDocument));
    const literal = policies.find((p) => p.includes('repository/literal-repo'))!;
    const rule = policies.find((p) => p.includes('repository/rule-repo'))!;
    expect(literal).not.toContain('DescribeImages');
    expect(literal).not.toContain('DescribeRepositories');
    expect(rule).toContain('"ecr-public:DescribeImages"');
    expect(rule).toContain('"ecr-public:DescribeRepositories"');
    expect(actionsOf(template).filter((a) => a === 'ecr-public:DescribeImages')).toHaveLength(1);
  });

  test('emptyOnDelete empties the repository on Delete only, before CloudFormation deletes it', () => {
    const stack = newStack();
    const repo = new ecr.CfnPublicRepository(stack, 'Repo', { repositoryName: 'ephemeral' });
    const emptying = EcrPublicImageDeletion.emptyOnDelete(stack, 'Empty', repo);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('Custom::EcrPublicImageDeletion', {
      RepositoryName: { Ref: stack.getLogicalId(repo) },
      Select: { Match: 'all' },
      DeleteOn: [DeletionEvent.DELETE],
      DryRun: 'false',
    });
    // The Ref above orders the teardown: the custom resource (and the emptying) goes before the repository.
    expect(stack.resolve(emptying.resource.ref)).toEqual({ Ref: expect.stringMatching(/^Empty/) });
    expect(actionsOf(template)).toEqual(expect.arrayContaining(['ecr-public:BatchDeleteImage', 'ecr-public:DescribeImages']));
  });

  test("emptyOnDelete tells the handler the repository's logical ID and DeletionPolicy, as set when the app is synthesized", () => {
    const stack = newStack();
    const repo = new ecr.CfnPublicRepository(stack, 'Repo', { repositoryName: 'ephemeral' });
    EcrPublicImageDeletion.emptyOnDelete(stack, 'Empty', repo);
    // Set after the deletion was declared: the property follows it.
    repo.applyRemovalPolicy(RemovalPolicy.RETAIN);
    repo.overrideLogicalId('RenamedRepo');
    Template.fromStack(stack).hasResourceProperties('Custom::EcrPublicImageDeletion', {
      RepositoryName: { Ref: 'RenamedRepo' },
      RepositoryLogicalId: 'RenamedRepo',
      RepositoryDeletionPolicy: 'Retain',
    });
    const plain = newStack();
    EcrPublicImageDeletion.emptyOnDelete(plain, 'Empty', new ecr.CfnPublicRepository(plain, 'Repo', { repositoryName: 'ephemeral' }));
    Template.fromStack(plain).hasResourceProperties('Custom::EcrPublicImageDeletion', {
      RepositoryLogicalId: 'Repo',
      RepositoryDeletionPolicy: 'Delete',
    });
  });

  test.each<[string, (stack: Stack) => string, ImageSelection]>([
    ['a repository name', () => 'by-name', ImageSelection.allImages()],
    ['a Ref to a parameter', (stack) => new CfnParameter(stack, 'RepoName').valueAsString, ImageSelection.allImages()],
    ['a selection other than allImages()', (stack) => new ecr.CfnPublicRepository(stack, 'Repo', {}).ref, ImageSelection.untaggedImages()],
  ])('no repository logical ID for %s', (_what, repositoryName, select) => {
    const stack = newStack();
    new EcrPublicImageDeletion(stack, 'D', { repositoryName: repositoryName(stack), select, deleteOn: [DeletionEvent.DELETE] });
    const props = Object.values(Template.fromStack(stack).findResources('Custom::EcrPublicImageDeletion'))[0].Properties;
    expect(props.RepositoryLogicalId).toBeUndefined();
    expect(props.RepositoryDeletionPolicy).toBeUndefined();
  });

  test('numbers that are tokens go through to the handler check', () => {
    const stack = newStack();
    const keep = new CfnParameter(stack, 'Keep', { type: 'Number' });
    expect(
      () => new EcrPublicImageDeletion(stack, 'D', { repositoryName: 'app', select: ImageSelection.allImages().keepNewest(keep.valueAsNumber) }),
    ).not.toThrow();
    const props = Object.values(Template.fromStack(stack).findResources('Custom::EcrPublicImageDeletion'))[0].Properties;
    expect(props.Select.KeepNewest).toEqual({ Ref: 'Keep' });
  });

  test.each<[string, () => ImageSelection, string]>([
    [
      'keepNewest(0)',
      () => ImageSelection.allImages().keepNewest(0),
      'select.keepNewest must be a whole number of at least 1 (images kept), got "0"',
    ],
    ['an empty pattern', () => ImageSelection.tagsMatching(''), 'select.tagsMatching[0] "" is not a tag pattern'],
    ['no pattern at all', () => ImageSelection.tagsMatching(), 'select.tagsMatching must be a non-empty list of tag patterns'],
    ['a tab in a pattern', () => ImageSelection.tagsMatching('pr-\t*'), 'select.tagsMatching[0] "pr-\\t*" has U+0009 at index 3'],
    ['a space in a protected tag', () => ImageSelection.allImages().protectTags('v 1'), 'select.protectTags[0] "v 1" has U+0020 at index 1'],
    [
      'protecting every tag',
      () => ImageSelection.tagsMatching('pr-*').protectTags('*'),
      'protects every tag: tagsMatching(...) could never delete anything',
    ],
  ])('rejects %s at synth time', (_name, selection, message) => {
    expect(() => new EcrPublicImageDeletion(newStack(), 'D', { repositoryName: 'app', select: selection() })).toThrow(message);
  });

  test('rejects a deletion with neither imageIds nor select', () => {
    expect(() => new EcrPublicImageDeletion(newStack(), 'D', { repositoryName: 'app' })).toThrow('neither imageIds nor select is given');
  });

  test('an age under one second is refused by our rule, naming olderThan', () => {
    expect(
      () => new EcrPublicImageDeletion(newStack(), 'D', { repositoryName: 'app', select: ImageSelection.allImages().olderThan(Duration.seconds(0)) }),
    ).toThrow(
      'select.olderThan must be a whole number of at least 1 (seconds since the push: Duration.seconds(1) or longer, in whole seconds), got "0"',
    );
  });
});

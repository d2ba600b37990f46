import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import { DeletionEvent, EcrPublicImageDeletion, EcrPublicImageDeletionProps, ImageSelection } from '../lib';

const DIGEST = `sha256:${'d'.repeat(64)}`;
const newStack = () => new Stack(new App(), 'Hygiene', { env: { account: '111111111111', region: 'us-east-1' } });
const daily = events.Schedule.rate(Duration.days(1));

const only = (template: Template, type: string) => {
  const found = Object.entries(template.findResources(type));
  expect(found).toHaveLength(1);
  return { id: found[0][0], resource: found[0][1] };
};
const functionId = (template: Template) => only(template, 'AWS::Lambda::Function').id;

describe('EcrPublicImageDeletion on a schedule', () => {
  test("a rule with the schedule sends the custom resource's properties, imageIds aside, to the shared function", () => {
    const stack = newStack();
    new EcrPublicImageDeletion(stack, 'Releases', {
      repositoryName: 'app',
      imageIds: [{ imageDigest: DIGEST }],
      select: ImageSelection.tagsMatching('v*').keepNewest(10).protectTags('latest'),
      dryRun: true,
      failOnImageFailure: false,
      deleteOn: [DeletionEvent.UPDATE],
      schedule: daily,
    });
    const template = Template.fromStack(stack);
    const custom = only(template, 'Custom::EcrPublicImageDeletion');
    const rule = only(template, 'AWS::Events::Rule').resource;
    expect(rule.Properties).toMatchObject({ ScheduleExpression: 'rate(1 day)', State: 'ENABLED' });
    expect(rule.Properties.Targets).toHaveLength(1);
    const [target] = rule.Properties.Targets;
    expect(target.Arn).toEqual({ 'Fn::GetAtt': [functionId(template), 'Arn'] });

    const { ServiceToken: _token, ServiceTimeout: _timeout, ImageIds: imageIds, ...selectionProperties } = custom.resource.Properties;
    expect(imageIds).toEqual([{ imageDigest: DIGEST }]);
    expect(JSON.parse(target.Input)).toEqual({
      Source: 'cdk-ecr-public-image-deletion.schedule',
      LogicalResourceId: custom.id,
      ResourceProperties: selectionProperties,
    });
    expect(selectionProperties).toMatchObject({ Select: { Match: 'tagged' }, DryRun: 'true', FailOnImageFailure: 'false' });
  });

  test("only its rule may invoke the function: one permission per rule, for EventBridge, scoped to the rule's ARN", () => {
    const stack = newStack();
    const a = new EcrPublicImageDeletion(stack, 'A', { repositoryName: 'repo-a', select: ImageSelection.untaggedImages(), schedule: daily });
    const b = new EcrPublicImageDeletion(stack, 'B', {
      repositoryName: 'repo-b',
      select: ImageSelection.allImages().olderThan(Duration.days(90)),
      schedule: events.Schedule.cron({ minute: '0', hour: '3' }),
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::Function', 1);
    const ruleIds = [a, b].map((deletion) => stack.resolve((deletion.scheduleRule as events.Rule).ruleArn)['Fn::GetAtt'][0]);
    expect(template.findResources('AWS::Events::Rule')[ruleIds[1]].Properties.ScheduleExpression).toBe('cron(0 3 * * ? *)');
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).map((p) => p.Properties);
    expect(permissions).toEqual(
      ruleIds.map((ruleId) => ({
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [functionId(template), 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
      })),
    );
  });

  test('off by default: no rule, no invoke permission', () => {
    const stack = newStack();
    const deletion = new EcrPublicImageDeletion(stack, 'D', { repositoryName: 'app', select: ImageSelection.untaggedImages() });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Events::Rule', 0);
    template.resourceCountIs('AWS::Lambda::Permission', 0);
    expect(deletion.scheduleRule).toBeUndefined();
  });

  test('a schedule adds no IAM: the role keeps DescribeImages and BatchDeleteImage on the repository', () => {
    const policies = (props: Partial<EcrPublicImageDeletionProps>) => {
      const stack = newStack();
      new EcrPublicImageDeletion(stack, 'D', { repositoryName: 'app', select: ImageSelection.untaggedImages(), ...props });
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::IAM::Role', 1);
      return Object.values(template.findResources('AWS::IAM::Policy')).map((p) => p.Properties.PolicyDocument);
    };
    const scheduled = policies({ schedule: daily });
    expect(scheduled).toEqual(policies({}));
    expect(JSON.stringify(scheduled)).toContain('"ecr-public:DescribeImages"');
  });

  test("the rule is created after the repository's permissions and deleted before them", () => {
    const stack = newStack();
    new EcrPublicImageDeletion(stack, 'D', { repositoryName: 'app', select: ImageSelection.untaggedImages(), schedule: daily });
    const template = Template.fromStack(stack);
    const policyId = Object.keys(
      template.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^ecr-public-deletion-') } }),
    )[0];
    expect(policyId).toBeDefined();
    expect(only(template, 'AWS::Events::Rule').resource.DependsOn).toEqual(expect.arrayContaining([policyId]));
  });

  test("a repository given by Ref reaches the rule's input as the same Ref", () => {
    const stack = newStack();
    const repo = new ecr.CfnPublicRepository(stack, 'Repo', { repositoryName: 'app' });
    new EcrPublicImageDeletion(stack, 'D', { repositoryName: repo.ref, select: ImageSelection.untaggedImages(), schedule: daily });
    const template = Template.fromStack(stack);
    const input = only(template, 'AWS::Events::Rule').resource.Properties.Targets[0].Input;
    expect(JSON.stringify(input)).toContain(JSON.stringify({ Ref: stack.getLogicalId(repo) }));
  });

  test("warns past 30 schedules in a stack: each adds a statement to the function's 20 KB resource-based policy", () => {
    const scheduled = (count: number) => {
      const stack = newStack();
      for (let i = 0; i < count; i++) {
        new EcrPublicImageDeletion(stack, `D${i}`, { repositoryName: 'app', select: ImageSelection.untaggedImages(), schedule: daily });
      }
      return Annotations.fromStack(stack);
    };
    scheduled(31).hasWarning('*', Match.stringLikeRegexp('more than 30 deletions on a schedule'));
    scheduled(30).hasNoWarning('*', Match.stringLikeRegexp('deletions on a schedule'));
  });

  test('rejects a schedule without select at synth time, naming the property', () => {
    const make = () =>
      new EcrPublicImageDeletion(newStack(), 'PrImages', { repositoryName: 'app', imageIds: [{ imageTag: 'pr-1' }], schedule: daily });
    expect(make).toThrow("EcrPublicImageDeletion 'Hygiene/PrImages' has invalid properties:");
    expect(make).toThrow('schedule is given without select');
  });
});

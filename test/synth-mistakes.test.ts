/**
 * Mistakes a user can make that synth catches, each as an error or a warning
 * in the construct's own words (which property, what was given, what is
 * allowed), and the handler's function and log group as a user reaches them.
 */
import { App, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import { DeletionEvent, EcrPublicImageDeletion, EcrPublicImageDeletionProps, ImageSelection } from '../lib';

const newStack = () => new Stack(new App(), 'TestStack', { env: { region: 'us-east-1' } });
const warningsOf = (stack: Stack) =>
  Annotations.fromStack(stack)
    .findWarning('*', Match.anyValue())
    .map((w) => `${w.id}: ${w.entry.data}`);

describe('an ARN given as repositoryName', () => {
  test("is an error naming the repository's construct and the fix (repo.ref)", () => {
    const stack = newStack();
    const repo = new ecr.CfnPublicRepository(stack, 'Repository', { repositoryName: 'my-app' });
    expect(() => new EcrPublicImageDeletion(stack, 'PrImages', { repositoryName: repo.attrArn, imageIds: [{ imageTag: 'pr-42' }] })).toThrow(
      "EcrPublicImageDeletion 'TestStack/PrImages' has invalid properties:\n" +
        "  - repositoryName is the Arn attribute of 'TestStack/Repository' (attrArn): an ARN is not a repository name (give repositoryName: repository.ref, which is its name)",
    );
  });

  test('is an error inside a longer string too, and for the Arn attribute of another resource', () => {
    const stack = newStack();
    const repo = new ecr.CfnPublicRepository(stack, 'Repository', { repositoryName: 'my-app' });
    const other = new ecr.Repository(stack, 'Private');
    expect(() => new EcrPublicImageDeletion(stack, 'A', { repositoryName: `x/${repo.attrArn}`, imageIds: [{ imageTag: 'a' }] })).toThrow(
      'an ARN is not a repository name',
    );
    expect(() => new EcrPublicImageDeletion(stack, 'B', { repositoryName: other.repositoryArn, imageIds: [{ imageTag: 'a' }] })).toThrow(
      /repositoryName is the Arn attribute of 'TestStack\/Private\/Resource': an ARN is not a repository name/,
    );
  });

  test('repo.ref and a literal name are no error', () => {
    const stack = newStack();
    const repo = new ecr.CfnPublicRepository(stack, 'Repository', { repositoryName: 'my-app' });
    expect(() => new EcrPublicImageDeletion(stack, 'A', { repositoryName: repo.ref, imageIds: [{ imageTag: 'a' }] })).not.toThrow();
    expect(() => new EcrPublicImageDeletion(stack, 'B', { repositoryName: 'other-app', imageIds: [{ imageTag: 'a' }] })).not.toThrow();
  });
});

describe('a literal repositoryName that is the name of a CfnPublicRepository of the same stack', () => {
  test('warns, naming the repository and the fix, whichever is declared first', () => {
    const stack = newStack();
    new EcrPublicImageDeletion(stack, 'Early', { repositoryName: 'my-app', imageIds: [{ imageTag: 'pr-42' }] });
    new ecr.CfnPublicRepository(stack, 'Repository', { repositoryName: 'my-app' });
    new EcrPublicImageDeletion(stack, 'Late', { repositoryName: 'my-app', select: ImageSelection.allImages(), deleteOn: [DeletionEvent.DELETE] });
    const warnings = warningsOf(stack);
    expect(warnings).toHaveLength(2);
    for (const [i, path] of ['Early', 'Late'].entries()) {
      expect(warnings[i]).toContain(
        `/TestStack/${path}: repositoryName "my-app" is the name of 'TestStack/Repository', a CfnPublicRepository of this stack, given as text`,
      );
      expect(warnings[i]).toContain('Give repositoryName: repository.ref instead.');
      expect(warnings[i]).toContain('[ack: cdk-ecr-public-image-deletion:repositoryNameNotRef]');
    }
  });

  test('does not warn for repo.ref, another name, or a repository of another stack', () => {
    const app = new App();
    const other = new Stack(app, 'Other');
    new ecr.CfnPublicRepository(other, 'Repository', { repositoryName: 'shared' });
    const stack = new Stack(app, 'TestStack');
    const repo = new ecr.CfnPublicRepository(stack, 'Repository', { repositoryName: 'my-app' });
    new EcrPublicImageDeletion(stack, 'ByRef', { repositoryName: repo.ref, imageIds: [{ imageTag: 'a' }] });
    new EcrPublicImageDeletion(stack, 'Elsewhere', { repositoryName: 'shared', imageIds: [{ imageTag: 'a' }] });
    new EcrPublicImageDeletion(stack, 'Unrelated', { repositoryName: 'unrelated', imageIds: [{ imageTag: 'a' }] });
    expect(warningsOf(stack)).toEqual([]);
  });
});

describe('olderThan with a fraction of a second', () => {
  test.each([
    ['Duration.millis(500)', Duration.millis(500), '"0.5"'],
    ['Duration.millis(1500)', Duration.millis(1500), '"1.5"'],
  ])("%s is the construct's error, not aws-cdk-lib's", (_name, age, given) => {
    const make = () =>
      new EcrPublicImageDeletion(newStack(), 'Old', { repositoryName: 'my-app', select: ImageSelection.untaggedImages().olderThan(age) });
    expect(make).toThrow(
      "EcrPublicImageDeletion 'TestStack/Old' has invalid properties:\n" +
        `  - select.olderThan must be a whole number of at least 1 (seconds since the push: Duration.seconds(1) or longer, in whole seconds), got ${given}`,
    );
  });

  test('whole seconds in any unit are accepted', () => {
    for (const age of [Duration.seconds(1), Duration.millis(2000), Duration.days(7)]) {
      expect(
        () => new EcrPublicImageDeletion(newStack(), 'Old', { repositoryName: 'my-app', select: ImageSelection.untaggedImages().olderThan(age) }),
      ).not.toThrow();
    }
  });
});

test('a tag over 300 characters says what the 128-character grammar allows', () => {
  const make = () => new EcrPublicImageDeletion(newStack(), 'Long', { repositoryName: 'my-app', imageIds: [{ imageTag: 'x'.repeat(301) }] });
  expect(make).toThrow(
    /imageIds\[0\]: imageTag "x+\.\.\. has 301 characters \(expected 1 to 300; a tag that can exist is 1 to 128 characters: a letter, digit or _, then letters, digits, _ \. or -\)/,
  );
  const pattern = () =>
    new EcrPublicImageDeletion(newStack(), 'Long', { repositoryName: 'my-app', select: ImageSelection.tagsMatching('x'.repeat(301)) });
  expect(pattern).toThrow(
    /select\.tagsMatching\[0\] "x+\.\.\. is not a tag pattern \(expected 1 to 300 characters; a tag that can exist is 1 to 128 characters/,
  );
});

describe('updateTrigger', () => {
  const props: EcrPublicImageDeletionProps = {
    repositoryName: 'my-app',
    select: ImageSelection.untaggedImages(),
    deleteOn: [DeletionEvent.CREATE, DeletionEvent.UPDATE],
  };
  const templateWith = (updateTrigger?: string) => {
    const stack = newStack();
    new EcrPublicImageDeletion(stack, 'Untagged', { ...props, updateTrigger, schedule: events.Schedule.rate(Duration.days(1)) });
    return Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  };
  const deletionProperties = (template: ReturnType<typeof templateWith>) =>
    Object.values(template.Resources).find((r) => r.Type === 'Custom::EcrPublicImageDeletion')!.Properties;

  test("a new value changes the resource's properties (an Update), and nothing else of the template", () => {
    const [a, b] = [templateWith('build-41'), templateWith('build-42')];
    expect(deletionProperties(a).UpdateTrigger).toBe('build-41');
    expect(deletionProperties(b).UpdateTrigger).toBe('build-42');
    const withoutTrigger = (t: ReturnType<typeof templateWith>) => JSON.stringify(t).replace(/build-4[12]/g, '');
    expect(withoutTrigger(a)).toEqual(withoutTrigger(b));
  });

  test('the same value, or none, synthesizes the same template: a redeploy sends no event', () => {
    expect(templateWith('build-42')).toEqual(templateWith('build-42'));
    expect(templateWith()).toEqual(templateWith());
    expect(deletionProperties(templateWith())).not.toHaveProperty('UpdateTrigger');
  });

  test('is not part of the scheduled event: the rule does not change with it', () => {
    const rules = (t: ReturnType<typeof templateWith>) => Object.values(t.Resources).filter((r) => r.Type === 'AWS::Events::Rule');
    expect(rules(templateWith('build-41'))).toEqual(rules(templateWith('build-42')));
  });

  test('without Update in deleteOn is an error: the Update it sends would do nothing', () => {
    expect(() => new EcrPublicImageDeletion(newStack(), 'D', { ...props, deleteOn: [DeletionEvent.DELETE], updateTrigger: 'build-42' })).toThrow(
      'updateTrigger is given, but deleteOn ["Delete"] has no Update: a new value sends an Update, which this deletion ignores (add DeletionEvent.UPDATE to deleteOn, or remove updateTrigger)',
    );
  });

  test('an empty value is an error', () => {
    expect(() => new EcrPublicImageDeletion(newStack(), 'D', { ...props, updateTrigger: '' })).toThrow(
      'updateTrigger must be text of 1 to 256 characters, got ""',
    );
  });
});

describe("the stack's handler function and log group", () => {
  test('every deletion of a stack exposes the same function and log group; the log group keeps a month by default', () => {
    const stack = newStack();
    const a = new EcrPublicImageDeletion(stack, 'A', { repositoryName: 'my-app', imageIds: [{ imageTag: 'a' }] });
    const b = new EcrPublicImageDeletion(stack, 'B', { repositoryName: 'other', imageIds: [{ imageTag: 'b' }] });
    expect(a.handlerFunction).toBe(b.handlerFunction);
    expect(a.logGroup).toBe(b.logGroup);
    new CfnOutput(stack, 'LogGroupName', { value: a.logGroup.logGroupName });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('LogGroup') } } });
  });

  test('logRetention sets the retention, whichever deletion gives it; the same value twice is fine', () => {
    const stack = newStack();
    new EcrPublicImageDeletion(stack, 'A', { repositoryName: 'my-app', imageIds: [{ imageTag: 'a' }] });
    new EcrPublicImageDeletion(stack, 'B', { repositoryName: 'my-app', imageIds: [{ imageTag: 'b' }], logRetention: logs.RetentionDays.ONE_YEAR });
    new EcrPublicImageDeletion(stack, 'C', { repositoryName: 'my-app', imageIds: [{ imageTag: 'c' }], logRetention: logs.RetentionDays.ONE_YEAR });
    Template.fromStack(stack).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  test('two deletions of a stack with different retentions: an error naming both', () => {
    const stack = newStack();
    new EcrPublicImageDeletion(stack, 'A', { repositoryName: 'my-app', imageIds: [{ imageTag: 'a' }], logRetention: logs.RetentionDays.ONE_WEEK });
    expect(
      () =>
        new EcrPublicImageDeletion(stack, 'B', {
          repositoryName: 'my-app',
          imageIds: [{ imageTag: 'b' }],
          logRetention: logs.RetentionDays.ONE_YEAR,
        }),
    ).toThrow(
      "EcrPublicImageDeletion 'TestStack/B' has invalid properties:\n" +
        "  - logRetention 365 days differs from the 7 days that 'TestStack/A' gives: every deletion of a stack writes to the stack's one log group (give both the same logRetention, or give it once)",
    );
  });

  test('deletions of two stacks have two functions, each with its own retention', () => {
    const app = new App();
    const [one, two] = [new Stack(app, 'One'), new Stack(app, 'Two')];
    new EcrPublicImageDeletion(one, 'A', { repositoryName: 'my-app', imageIds: [{ imageTag: 'a' }], logRetention: logs.RetentionDays.ONE_WEEK });
    new EcrPublicImageDeletion(two, 'A', { repositoryName: 'my-app', imageIds: [{ imageTag: 'a' }], logRetention: logs.RetentionDays.ONE_YEAR });
    Template.fromStack(one).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    Template.fromStack(two).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });
});

describe("the handler function's timeout (functionTimeout)", () => {
  const timeoutOf = (stack: Stack) => Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0].Properties.Timeout;

  test('five minutes unless a deletion gives one; whichever deletion gives it sets it, and the same value twice is fine', () => {
    const plain = newStack();
    new EcrPublicImageDeletion(plain, 'A', { repositoryName: 'my-app', imageIds: [{ imageTag: 'a' }] });
    expect(timeoutOf(plain)).toBe(300);
    const stack = newStack();
    new EcrPublicImageDeletion(stack, 'A', { repositoryName: 'my-app', imageIds: [{ imageTag: 'a' }] });
    new EcrPublicImageDeletion(stack, 'B', {
      repositoryName: 'my-app',
      select: ImageSelection.untaggedImages(),
      functionTimeout: Duration.minutes(15),
    });
    new EcrPublicImageDeletion(stack, 'C', {
      repositoryName: 'other',
      select: ImageSelection.untaggedImages(),
      functionTimeout: Duration.seconds(900),
    });
    expect(timeoutOf(stack)).toBe(900);
  });

  test.each([
    [Duration.seconds(59), '59 seconds'],
    [Duration.minutes(16), '960 seconds'],
    [Duration.millis(90_500), '90.5 seconds'],
  ])('%s is an error that says what is allowed', (timeout, shown) => {
    expect(
      () => new EcrPublicImageDeletion(newStack(), 'A', { repositoryName: 'my-app', imageIds: [{ imageTag: 'a' }], functionTimeout: timeout }),
    ).toThrow(
      "EcrPublicImageDeletion 'TestStack/A' has invalid properties:\n" +
        `  - functionTimeout ${shown} is not a Lambda timeout this handler takes (expected whole seconds from 60 to 900: 1 to 15 minutes)`,
    );
  });

  test('two deletions of a stack with different timeouts: an error naming both', () => {
    const stack = newStack();
    new EcrPublicImageDeletion(stack, 'A', { repositoryName: 'my-app', imageIds: [{ imageTag: 'a' }], functionTimeout: Duration.minutes(10) });
    expect(
      () =>
        new EcrPublicImageDeletion(stack, 'B', { repositoryName: 'my-app', imageIds: [{ imageTag: 'b' }], functionTimeout: Duration.minutes(15) }),
    ).toThrow(
      "EcrPublicImageDeletion 'TestStack/B' has invalid properties:\n" +
        "  - functionTimeout 900 seconds differs from the 600 seconds that 'TestStack/A' gives: every deletion of a stack runs in the stack's one handler function (give both the same functionTimeout, or give it once)",
    );
  });
});

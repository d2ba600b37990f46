/**
 * cdk-nag's AwsSolutions rules on the example app (example/app.ts): the stack a
 * user gets from the README must pass them with nothing to acknowledge.
 *
 * cdk-nag 3 is a validation plugin (`Validations.of(app).addPlugins(...)`), but
 * aws-cdk-lib 2.257 does not hand plugins the construct tree, so the test calls
 * the pack's `validateScope` on the synthesized app, as cdk-nag documents for
 * tests. A finding that is right for the library is fixed in lib/; one that is
 * right only for a given app is acknowledged in that app with
 * `Validations.of(construct).acknowledge({ id, reason })`, next to the code that
 * causes it, and the README's cdk-nag section says so.
 */
import { App, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../example/app';
import { EcrPublicImageDeletion, ImageSelection } from '../lib';

function findings(app: App): string[] {
  app.synth();
  const report = new AwsSolutionsChecks(app).validateScope(app);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}: ${v.description}`));
}

test('the example stack has no unacknowledged AwsSolutions finding', () => {
  expect(findings(buildApp())).toEqual([]);
});

test('a deletion on a schedule adds no finding either', () => {
  const app = new App();
  new EcrPublicImageDeletion(new Stack(app, 'Scheduled', { env: { region: 'us-east-1' } }), 'Untagged', {
    repositoryName: 'app',
    select: ImageSelection.untaggedImages().olderThan(Duration.days(7)),
    schedule: events.Schedule.rate(Duration.days(1)),
  });
  expect(findings(app)).toEqual([]);
});

/** A stack with a Lambda function on an outdated runtime, which AwsSolutions-L1 reports. */
function outdatedRuntimeApp(acknowledge: boolean): App {
  const app = new App();
  const fn = new lambda.Function(new Stack(app, 'Probe'), 'Old', {
    runtime: lambda.Runtime.NODEJS_18_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {};'),
  });
  if (acknowledge) {
    Validations.of(fn).acknowledge({ id: 'AwsSolutions-L1', reason: 'a probe of the test itself' });
  }
  return app;
}

test('the checks do look at the stack: a finding is reported, and an acknowledgment with a reason silences it', () => {
  expect(findings(outdatedRuntimeApp(false))).toContainEqual(expect.stringMatching(/^AwsSolutions-L1 at Probe\/Old\/Resource: /));
  expect(findings(outdatedRuntimeApp(true))).not.toContainEqual(expect.stringMatching(/^AwsSolutions-L1 /));
});

test("a selection's reference cache and registry token policy are acknowledged in the library, each with its reason; unacknowledged, both are reported", () => {
  const app = new App();
  new EcrPublicImageDeletion(new Stack(app, 'Reads'), 'Untagged', { repositoryName: 'app', select: ImageSelection.untaggedImages() });
  expect(findings(app)).toEqual([]);

  // The same two resources, made the same way without the acknowledgments: the rules do fire on them.
  const probe = new App();
  const stack = new Stack(probe, 'Unacknowledged');
  new dynamodb.Table(stack, 'Cache', {
    partitionKey: { name: 'Digest', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  new iam.Policy(stack, 'Token', {
    roles: [role],
    statements: [new iam.PolicyStatement({ actions: ['ecr-public:GetAuthorizationToken', 'sts:GetServiceBearerToken'], resources: ['*'] })],
  });
  const reported = findings(probe);
  expect(reported).toContainEqual(expect.stringMatching(/^AwsSolutions-DDB3 at Unacknowledged\/Cache\/Resource: /));
  expect(reported).toContainEqual(expect.stringMatching(/^AwsSolutions-IAM5\[Resource::\*\] at Unacknowledged\/Token\/Resource: /));
});

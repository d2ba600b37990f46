/**
 * Integration test for a real AWS account, run by integ-runner (@aws-cdk/integ-tests-alpha).
 *
 *   npm run integ:deploy     # deploys to us-east-1, runs the assertions, destroys, updates the snapshot
 *   npm run integ            # offline (part of npm test): the committed snapshot matches this app
 *
 * It deploys a new ECR Public repository and deletions in it, and checks against
 * the real API what the handler answered. jsii compiles this file to
 * integ.image-deletion.js next to it; integ-runner runs that with node.
 *
 * Why no image is pushed: a deletion of a real image needs the image in the
 * repository before the custom resource's Create. ECR Public has no API that
 * copies or imports an image; pushing one means uploading a config blob and a
 * layer with InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload and then
 * PutImage with a manifest whose digests match byte for byte: a container client's
 * job (docker, crane), which integ-runner does not run, and a chain of custom
 * resources that could not be checked without an account. So this test keeps to
 * what holds for any repository, and proves the parts that only a real account
 * can: the handler is deployed and called by CloudFormation, its IAM policy lets
 * it call BatchDeleteImage on the repository (AccessDenied would fail the Create),
 * the API answers from us-east-1, ImageNotFound counts as success, the attributes
 * come back, an event left out of `deleteOn` calls nothing, the repository is kept,
 * a selection may list it (DescribeImages), a schedule's rule and invoke permission
 * deploy, and the teardown (the Delete event, before the repository goes) succeeds.
 * Deleting existing images, batching and per-image failures are covered by the
 * tests against the local ECR Public (test/integration, npm run demo).
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { ActualResult, ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { DeletionEvent, EcrPublicImageDeletion, ImageSelection } from '../../lib';

const REPOSITORY_NAME = 'cdk-ecr-public-image-deletion-integ';

// No stack traces in the metadata: the snapshot holds no paths of the machine that wrote it.
const app = new App({ stackTraces: false, context: { [cxapi.DISABLE_CREATION_STACK_TRACES]: true } });
// Environment-agnostic, so that the assertion stack can read the custom resources'
// attributes; integ.config.json deploys it to us-east-1, the only region with
// AWS::ECR::PublicRepository.
const stack = new Stack(app, 'EcrPublicImageDeletionInteg');

// A new, empty repository; CloudFormation deletes it at the end (it stays empty).
const repo = new ecr.CfnPublicRepository(stack, 'Repository', { repositoryName: REPOSITORY_NAME });

// Runs on Create: neither image exists, so both come back as ImageNotFound, a success.
const absent = new EcrPublicImageDeletion(stack, 'AbsentImages', {
  repositoryName: repo.ref,
  imageIds: [{ imageTag: 'integ-absent' }, { imageDigest: `sha256:${'0'.repeat(64)}` }],
});

// Runs only on Delete: on Create it calls nothing; at teardown it runs before the repository goes.
const onDelete = new EcrPublicImageDeletion(stack, 'OnDeleteOnly', {
  repositoryName: repo.ref,
  imageIds: [{ imageTag: 'integ-preview' }],
  deleteOn: [DeletionEvent.DELETE],
});

// A dry-run selection, also on a daily schedule. Its Create lists the repository
// (DescribeImages allowed, nothing deleted); deploying it proves that CloudFormation
// and EventBridge accept the rule, its input and its invoke permission. No tick is
// awaited: the test is over long before the first one.
const daily = new EcrPublicImageDeletion(stack, 'DailyDryRun', {
  repositoryName: repo.ref,
  select: ImageSelection.untaggedImages().olderThan(Duration.days(7)),
  schedule: events.Schedule.rate(Duration.days(1)),
  dryRun: true,
});

const integ = new IntegTest(app, 'ImageDeletion', {
  testCases: [stack],
  regions: ['us-east-1'],
  // The Update event is not part of this test: a new snapshot is deployed as a Create.
  stackUpdateWorkflow: false,
});

const attribute = (deletion: EcrPublicImageDeletion, name: string) => ActualResult.fromCustomResource(deletion.resource, name);

integ.assertions.expect('AbsentImagesRan', ExpectedResult.exact('true'), attribute(absent, 'DeletionRan'));
integ.assertions.expect('AbsentImagesDeletedNothing', ExpectedResult.exact('0'), attribute(absent, 'DeletedCount'));
integ.assertions.expect('AbsentImagesBothNotFound', ExpectedResult.exact('2'), attribute(absent, 'FailureCount'));
integ.assertions.expect(
  'AbsentImagesFailuresListed',
  ExpectedResult.stringLikeRegexp('"failureCode":"ImageNotFound".*"failureCode":"ImageNotFound"'),
  attribute(absent, 'Failures'),
);
integ.assertions.expect('AbsentImagesNotTruncated', ExpectedResult.exact('false'), attribute(absent, 'Truncated'));
integ.assertions.expect('OnDeleteOnlyDidNotRun', ExpectedResult.exact('false'), attribute(onDelete, 'DeletionRan'));
integ.assertions.expect('DailyDryRunRanDry', ExpectedResult.exact('true'), attribute(daily, 'DryRun'));
integ.assertions.expect('DailyDryRunDeletedNothing', ExpectedResult.exact('0'), attribute(daily, 'DeletedCount'));

// The deletions delete images, never the repository.
integ.assertions
  .awsApiCall('ECRPUBLIC', 'DescribeRepositories', { repositoryNames: [REPOSITORY_NAME] })
  .expect(ExpectedResult.objectLike({ repositories: Match.arrayWith([Match.objectLike({ repositoryName: REPOSITORY_NAME })]) }));

// Nothing was pushed, and nothing appeared.
integ.assertions
  .awsApiCall('ECRPUBLIC', 'DescribeImages', { repositoryName: REPOSITORY_NAME })
  .expect(ExpectedResult.objectLike({ imageDetails: [] }));

app.synth();

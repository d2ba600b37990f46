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
 * It also pushes two buildx-shaped images (an OCI index with two platform
 * manifests and an attestation, the children untagged) through ECR Public's own
 * upload operations (InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload,
 * PutImage), from a small function of this test (PushBuildxImage), then runs
 * `untaggedImages()` on the repository: the assertions check that it deleted
 * nothing and kept the three children of each index as referenced, reading the
 * manifests from the real public registry, and that every manifest of the first
 * index is still there. Then a probe answers the open question of what ECR Public
 * does: a declared deletion (CLI semantics, sent as given) of a platform image of
 * the second index. The output ServiceRefusedChildDeletion records the answer:
 * its Failures list holds ImageReferencedByManifestList if the service refused,
 * and its DeletedCount is 1 if it deleted the child (the second index is then
 * broken, which is why the probe uses its own). The repository is emptied on
 * Delete (emptyOnDelete), so CloudFormation can delete it. A second probe
 * records what a { imageTag, imageDigest } pair does to an image that has
 * another tag (TagDigestPairAnswer, and an assertion that the image remains).
 *
 * Only a real account proves these parts: the handler is deployed and called by
 * CloudFormation, its IAM policy lets it call BatchDeleteImage,
 * DescribeImages and DescribeRepositories (AccessDenied would fail the Create),
 * the function reaches public.ecr.aws, the API answers from us-east-1,
 * ImageNotFound counts as success, the attributes come back, an event left out
 * of `deleteOn` calls nothing, a schedule's rule and invoke permission deploy,
 * and the teardown succeeds. Batching and per-image failures at scale are
 * covered by the tests against the local backends (test/integration, npm run demo).
 */
import { App, CfnOutput, CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cr from 'aws-cdk-lib/custom-resources';
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

// A new repository; emptied on Delete so that CloudFormation can delete it.
const repo = new ecr.CfnPublicRepository(stack, 'Repository', { repositoryName: REPOSITORY_NAME });
EcrPublicImageDeletion.emptyOnDelete(stack, 'EmptyOnDelete', repo);

/**
 * Pushes one buildx-shaped image on Create, as `docker buildx build --push`
 * leaves it: a config blob and a layer per platform, two platform manifests
 * and an in-toto attestation manifest, all untagged, then the tagged OCI index.
 * Returns the digests as attributes. Node 24's runtime ships the AWS SDK v3.
 */
const PUSH_CODE = `
const crypto = require('node:crypto');
const zlib = require('node:zlib');
const ecr = require('@aws-sdk/client-ecr-public');
const client = new ecr.ECRPUBLICClient({ region: 'us-east-1' });
const sha = (bytes) => 'sha256:' + crypto.createHash('sha256').update(bytes).digest('hex');
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
async function blob(repositoryName, bytes) {
  const { uploadId } = await client.send(new ecr.InitiateLayerUploadCommand({ repositoryName }));
  await client.send(new ecr.UploadLayerPartCommand({ repositoryName, uploadId, partFirstByte: 0, partLastByte: bytes.length - 1, layerPartBlob: bytes }));
  try {
    await client.send(new ecr.CompleteLayerUploadCommand({ repositoryName, uploadId, layerDigests: [sha(bytes)] }));
  } catch (error) {
    if (error.name !== 'LayerAlreadyExistsException') throw error;
  }
  return { digest: sha(bytes), size: bytes.length };
}
async function manifest(repositoryName, mediaType, body, imageTag) {
  const text = JSON.stringify(body);
  await client.send(new ecr.PutImageCommand({ repositoryName, imageManifest: text, imageManifestMediaType: mediaType, imageDigest: sha(text), imageTag }));
  return { mediaType, digest: sha(text), size: Buffer.byteLength(text) };
}
async function image(repositoryName, seed, architecture, layerType, layerBytes) {
  const layer = await blob(repositoryName, layerBytes);
  const config = await blob(repositoryName, Buffer.from(JSON.stringify({ architecture, os: 'linux', config: { Labels: { seed } }, rootfs: { type: 'layers', diff_ids: [sha(layerBytes)] } })));
  return manifest(repositoryName, OCI_MANIFEST, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: layerType, ...layer }],
  });
}
exports.handler = async (event) => {
  const { RepositoryName: repositoryName, Tag: tag, ExtraTag: extraTag } = event.ResourceProperties;
  if (event.RequestType !== 'Create') return { PhysicalResourceId: event.PhysicalResourceId };
  const tar = zlib.gzipSync(Buffer.alloc(1024));
  const amd64 = await image(repositoryName, tag, 'amd64', 'application/vnd.oci.image.layer.v1.tar+gzip', tar);
  const arm64 = await image(repositoryName, tag, 'arm64', 'application/vnd.oci.image.layer.v1.tar+gzip', tar);
  const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', subject: [{ name: tag, digest: { sha256: amd64.digest.slice(7) } }] }));
  const attestation = await image(repositoryName, tag, 'unknown', 'application/vnd.in-toto+json', statement);
  const indexBody = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      { ...amd64, platform: { architecture: 'amd64', os: 'linux' } },
      { ...arm64, platform: { architecture: 'arm64', os: 'linux' } },
      { ...attestation, platform: { architecture: 'unknown', os: 'unknown' },
        annotations: { 'vnd.docker.reference.digest': amd64.digest, 'vnd.docker.reference.type': 'attestation-manifest' } },
    ],
  };
  const index = await manifest(repositoryName, OCI_INDEX, indexBody, tag);
  // The same index under a second tag (the same bytes: the same digest), when asked.
  if (extraTag) await manifest(repositoryName, OCI_INDEX, indexBody, extraTag);
  return { PhysicalResourceId: 'buildx-' + tag, Data: { Index: index.digest, Amd64: amd64.digest, Arm64: arm64.digest, Attestation: attestation.digest } };
};
`;
const pushFunction = new lambda.Function(stack, 'PushBuildxImage', {
  runtime: lambda.Runtime.NODEJS_24_X,
  handler: 'index.handler',
  code: lambda.Code.fromInline(PUSH_CODE),
  timeout: Duration.minutes(2),
});
pushFunction.addToRolePolicy(
  new iam.PolicyStatement({
    actions: ['ecr-public:InitiateLayerUpload', 'ecr-public:UploadLayerPart', 'ecr-public:CompleteLayerUpload', 'ecr-public:PutImage'],
    resources: [repo.attrArn],
  }),
);
const pushProvider = new cr.Provider(stack, 'PushProvider', { onEventHandler: pushFunction });
const push = (id: string, tag: string, extraTag?: string) => {
  const pushed = new CustomResource(stack, id, {
    serviceToken: pushProvider.serviceToken,
    properties: { RepositoryName: repo.ref, Tag: tag, ...(extraTag ? { ExtraTag: extraTag } : {}) },
  });
  return pushed;
};
const kept = push('PushKept', 'integ-v1');
const probed = push('PushProbed', 'integ-probe');
// An index with two tags, for the second probe: what a { imageTag, imageDigest } pair does to an image with other tags.
const paired = push('PushPaired', 'integ-pair-a', 'integ-pair-b');

// untaggedImages(): every untagged image is a child of a tagged index, so nothing may go.
const untagged = new EcrPublicImageDeletion(stack, 'UntaggedImages', {
  repositoryName: repo.ref,
  select: ImageSelection.untaggedImages(),
  deleteOn: [DeletionEvent.CREATE],
});
untagged.node.addDependency(kept, probed, paired);

// The probe: a declared deletion of a platform image of the second index, after the selection.
const probe = new EcrPublicImageDeletion(stack, 'ProbeChildDeletion', {
  repositoryName: repo.ref,
  imageIds: [{ imageDigest: probed.getAttString('Amd64') }],
  deleteOn: [DeletionEvent.CREATE],
  failOnImageFailure: false,
});
probe.node.addDependency(untagged);
new CfnOutput(stack, 'ServiceRefusedChildDeletion', {
  description:
    'What ECR Public did with a deletion of a platform image that a tagged index references: Failures (ImageReferencedByManifestList if refused) and DeletedCount (1 if deleted)',
  value: `deleted=${probe.deletedCount} failures=${probe.failuresJson}`,
});

// The second probe: a declared { imageTag, imageDigest } pair for one of the two tags of an index. ECR Public does
// not document what a pair does to an image that has other tags; the local ECR Public removes only the tag, moto
// deletes the image. The library sends a pair only when the image goes anyway (its every tag selected) and removes
// other tags by name, so either answer is safe for it; the assertion below records which one the service gives.
const pairProbe = new EcrPublicImageDeletion(stack, 'ProbeTagDigestPair', {
  repositoryName: repo.ref,
  imageIds: [{ imageTag: 'integ-pair-a', imageDigest: paired.getAttString('Index') }],
  deleteOn: [DeletionEvent.CREATE],
  failOnImageFailure: false,
});
pairProbe.node.addDependency(untagged);
new CfnOutput(stack, 'TagDigestPairAnswer', {
  description: 'What ECR Public answered to a { imageTag, imageDigest } pair naming one of the two tags of an image',
  value: `deleted=${pairProbe.deletedImageIdsJson} failures=${pairProbe.failuresJson}`,
});

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

// untaggedImages() read both indexes from the registry and kept their children without asking ECR Public.
integ.assertions.expect('UntaggedDeletedNothing', ExpectedResult.exact('0'), attribute(untagged, 'DeletedCount'));
integ.assertions.expect('UntaggedKeptTheChildren', ExpectedResult.exact('6'), attribute(untagged, 'KeptReferencedCount'));
integ.assertions.expect('UntaggedReadEveryIndex', ExpectedResult.exact('0'), attribute(untagged, 'KeptUnknownCount'));
integ.assertions.expect('UntaggedSentNoDeletion', ExpectedResult.exact('0'), attribute(untagged, 'FailureCount'));

// Every manifest the kept index references remains (DescribeImages fails on a missing one).
integ.assertions
  .awsApiCall('ECRPUBLIC', 'DescribeImages', {
    repositoryName: REPOSITORY_NAME,
    imageIds: ['Index', 'Amd64', 'Arm64', 'Attestation'].map((name) => ({ imageDigest: kept.getAttString(name) })),
  })
  .expect(ExpectedResult.objectLike({ imageDetails: Match.arrayWith([Match.objectLike({ imageTags: ['integ-v1'] })]) }));

// The pair removed only its tag: the image remains, with its other tag. Should this fail, ECR Public deletes the
// whole image for a pair, and tag removals from images that keep other tags must keep going by name alone (they do).
integ.assertions
  .awsApiCall('ECRPUBLIC', 'DescribeImages', { repositoryName: REPOSITORY_NAME, imageIds: [{ imageDigest: paired.getAttString('Index') }] })
  .expect(ExpectedResult.objectLike({ imageDetails: Match.arrayWith([Match.objectLike({ imageTags: ['integ-pair-b'] })]) }));

app.synth();

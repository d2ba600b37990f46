// CloudFormation Create events for the benchmarks, with the resource properties
// taken from synthesized templates: ours from EcrPublicImageDeletion (declared
// image IDs or a selection), the baseline's from aws-cdk-lib's AwsCustomResource.
// Needs `npm run build` (lib/*.js).
'use strict';
const { mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { App, Stack } = require('aws-cdk-lib');
const cr = require('aws-cdk-lib/custom-resources');
const { EcrPublicImageDeletion } = require('../lib');

const STACK_ID = 'arn:aws:cloudformation:eu-central-1:123456789012:stack/bench/4f5d2a10-0000-11ef-0000-0a0b0c0d0e0f';
const SERVICE_TOKEN = 'arn:aws:lambda:eu-central-1:123456789012:function:bench-handler';

/** `count` distinct tags: bench-0, bench-1, … */
function imageIds(count) {
  return Array.from({ length: count }, (_, i) => ({ imageTag: `bench-${i}` }));
}

/** The properties of the one resource of `type` in a stack built by `build`. */
function synthesizedProperties(type, build) {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'bench-events-'));
  try {
    const app = new App({ outdir });
    build(new Stack(app, 'Bench'));
    const template = app.synth().getStackByName('Bench').template;
    const found = Object.values(template.Resources).filter((r) => r.Type === type);
    if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
    return found[0].Properties;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** CloudFormation hands every scalar property to the handler as a string. */
function asCloudFormationSends(value) {
  if (Array.isArray(value)) return value.map(asCloudFormationSends);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asCloudFormationSends(v)]));
  }
  return typeof value === 'string' ? value : String(value);
}

function createEvent(resourceType, properties, responseUrl, requestId) {
  return {
    RequestType: 'Create',
    ServiceToken: SERVICE_TOKEN,
    ResponseURL: responseUrl,
    StackId: STACK_ID,
    RequestId: requestId,
    LogicalResourceId: 'BenchDeletion',
    ResourceType: resourceType,
    ResourceProperties: { ...asCloudFormationSends(properties), ServiceToken: SERVICE_TOKEN },
  };
}

/** Create event of an EcrPublicImageDeletion of `count` images. */
function oursCreateEvent(repositoryName, count, responseUrl, requestId) {
  const properties = synthesizedProperties(
    'Custom::EcrPublicImageDeletion',
    (stack) => new EcrPublicImageDeletion(stack, 'Deletion', { repositoryName, imageIds: imageIds(count) }),
  );
  return createEvent('Custom::EcrPublicImageDeletion', properties, responseUrl, requestId);
}

/** Create event of an EcrPublicImageDeletion with a selection (an ImageSelection from lib/) and no image IDs. */
function oursSelectionCreateEvent(repositoryName, select, responseUrl, requestId) {
  const properties = synthesizedProperties(
    'Custom::EcrPublicImageDeletion',
    (stack) => new EcrPublicImageDeletion(stack, 'Deletion', { repositoryName, select }),
  );
  return createEvent('Custom::EcrPublicImageDeletion', properties, responseUrl, requestId);
}

/**
 * Create event of an AwsCustomResource making the same call: one
 * BatchDeleteImage of `count` (at most 100) images on Create and on Delete.
 */
function awsCustomResourceCreateEvent(repositoryName, count, responseUrl, requestId) {
  const properties = synthesizedProperties('Custom::AWS', (stack) => {
    const call = {
      service: 'ecr-public',
      action: 'BatchDeleteImage',
      region: 'us-east-1',
      parameters: { repositoryName, imageIds: imageIds(count) },
      physicalResourceId: cr.PhysicalResourceId.of('bench-deletion'),
    };
    return new cr.AwsCustomResource(stack, 'Deletion', {
      onCreate: call,
      onDelete: call,
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
    });
  });
  return createEvent('Custom::AWS', properties, responseUrl, requestId);
}

module.exports = { imageIds, oursCreateEvent, oursSelectionCreateEvent, awsCustomResourceCreateEvent };

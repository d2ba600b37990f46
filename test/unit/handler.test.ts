/**
 * The whole handler (lambda/index.ts) with the SDK mocked: what CloudFormation
 * receives for each kind of outcome.
 */
import { BatchDeleteImageCommand, ECRPUBLICClient, ImageFailureCode, RepositoryNotFoundException } from '@aws-sdk/client-ecr-public';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { mockStackState } from '../support/stack-state-mock';
import { handler, readDeadlineOf, responseReserveMs } from '../../lambda/index';
import { FAILED_CREATE_PHYSICAL_ID } from '../../lambda/plan';
import { CfnEvents } from '../support/cfn-events';
import { RESPONSE_URL_SECRET, ResponseServer } from '../support/local-cloudformation';

const ecr = mockClient(ECRPUBLICClient);
// The stack's state, which the handler reads for a Delete of allImages() and for a FAILED verdict.
mockStackState('UPDATE_IN_PROGRESS');
let server: ResponseServer;
let logs: string[];

beforeAll(async () => {
  server = await ResponseServer.start();
});
afterAll(() => server.close());
beforeEach(() => {
  ecr.reset();
  logs = [];
  jest.spyOn(console, 'log').mockImplementation((line: string) => void logs.push(line));
});
afterEach(() => jest.restoreAllMocks());

const DIGEST = `sha256:${'b'.repeat(64)}`;
const properties = (change: object = {}) => ({
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:handler',
  RepositoryName: 'app',
  ImageIds: [{ imageTag: 'pr-1' }, { imageDigest: DIGEST }],
  DeleteOn: ['Create', 'Update', 'Delete'],
  FailOnImageFailure: 'true',
  ApiRegion: 'us-east-1',
  ...change,
});

function event(requestType: 'Create' | 'Update' | 'Delete', change: object = {}, physicalId = 'kept-physical-id'): CloudFormationCustomResourceEvent {
  const events = new CfnEvents(server, { stackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1', logicalResourceId: 'PrImages' });
  if (requestType === 'Create') return events.create(properties(change));
  if (requestType === 'Delete') return events.delete(physicalId, properties(change));
  return events.update(physicalId, properties(change), properties());
}

async function handle(e: CloudFormationCustomResourceEvent, remainingMs = 300_000) {
  await handler(e, { getRemainingTimeInMillis: () => remainingMs });
  return (await server.responseTo(e.RequestId)).body;
}

const deletesEverything = () => ecr.on(BatchDeleteImageCommand).callsFake((input) => ({ imageIds: input.imageIds, failures: [] }));

describe('the handler answers CloudFormation', () => {
  test('SUCCESS with the deleted IDs and exact counts as attributes', async () => {
    deletesEverything();
    const body = await handle(event('Create'));
    expect(body).toMatchObject({
      Status: 'SUCCESS',
      LogicalResourceId: 'PrImages',
      Data: { DeletedCount: '2', FailureCount: '0', Truncated: 'false', DeletionRan: 'true', Failures: '[]' },
    });
    expect(JSON.parse(body.Data!.ImageIds)).toEqual([{ imageTag: 'pr-1' }, { imageDigest: DIGEST }]);
  });

  test('the client is pinned to the API region, not the function region', async () => {
    deletesEverything();
    const functionRegion = process.env.AWS_REGION;
    process.env.AWS_REGION = 'ap-southeast-2';
    try {
      await handle(event('Create', { ApiRegion: 'us-west-2' }));
      await handle(event('Create'));
    } finally {
      if (functionRegion === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = functionRegion;
    }
    const regions = await Promise.all(ecr.commandCalls(BatchDeleteImageCommand).map((c) => c.thisValue.config.region()));
    expect(regions).toEqual(['us-west-2', 'us-east-1']);
  });

  test('ImageNotFound means the image is already gone: SUCCESS, failure still reported', async () => {
    ecr.on(BatchDeleteImageCommand).resolves({
      imageIds: [{ imageTag: 'pr-1' }],
      failures: [{ imageId: { imageDigest: DIGEST }, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' }],
    });
    const body = await handle(event('Update'));
    expect(body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '1', FailureCount: '1' } });
    expect(JSON.parse(body.Data!.Failures)[0]).toMatchObject({ failureCode: 'ImageNotFound' });
  });

  test('a declared tag that is not there (a typo) is counted in NotFoundCount and named in the log line', async () => {
    ecr.on(BatchDeleteImageCommand).resolves({
      imageIds: [],
      failures: [
        { imageId: { imageTag: 'pr-1' }, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' },
        { imageId: { imageDigest: DIGEST }, failureCode: 'ImageReferencedByManifestList', failureReason: 'referenced' },
      ],
    });
    const body = await handle(event('Create', { FailOnImageFailure: 'false' }));
    expect(body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '0', FailureCount: '2', NotFoundCount: '1' } });
    expect(JSON.parse(logs[0])).toMatchObject({ notFound: ['imageTag=pr-1'], notFoundCut: false });
  });

  test('NotFoundCount is 0 when everything declared was found', async () => {
    deletesEverything();
    const body = await handle(event('Create'));
    expect(body.Data).toMatchObject({ NotFoundCount: '0' });
    expect(JSON.parse(logs[0])).toMatchObject({ notFound: [] });
  });

  test.each([
    'ImageReferencedByManifestList',
    'ImageTagDoesNotMatchDigest',
    'InvalidImageDigest',
    'InvalidImageTag',
    'MissingDigestAndTag',
    'KmsError',
  ])('%s fails the event with a reason naming the image and the code', async (code) => {
    const failureCode = code as ImageFailureCode;
    ecr.on(BatchDeleteImageCommand).resolves({
      imageIds: [{ imageTag: 'pr-1' }],
      failures: [{ imageId: { imageDigest: DIGEST }, failureCode, failureReason: 'because' }],
    });
    const body = await handle(event('Create'));
    expect(body.Status).toBe('FAILED');
    expect(body.Reason).toContain(`imageDigest=${DIGEST}: ${failureCode} (because)`);
    expect(body.Reason).toContain('repository "app"');
    expect(body.Reason).toContain('failOnImageFailure: false');
    expect(body.PhysicalResourceId).toBe(FAILED_CREATE_PHYSICAL_ID);
  });

  test('with failOnImageFailure false, failures are reported and the event succeeds', async () => {
    ecr.on(BatchDeleteImageCommand).resolves({
      failures: [{ imageId: { imageTag: 'pr-1' }, failureCode: 'ImageReferencedByManifestList', failureReason: 'in use' }],
    });
    const body = await handle(event('Delete', { FailOnImageFailure: 'false' }));
    expect(body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '1', DeletedCount: '0' } });
    expect(JSON.parse(body.Data!.Failures)).toEqual([
      { imageId: { imageTag: 'pr-1' }, failureCode: 'ImageReferencedByManifestList', failureReason: 'in use' },
    ]);
  });

  test.each([
    ['Create', 'FAILED', FAILED_CREATE_PHYSICAL_ID],
    ['Update', 'FAILED', 'kept-physical-id'],
    ['Delete', 'SUCCESS', 'kept-physical-id'],
  ] as const)('a missing repository on %s: %s', async (type, status, physicalId) => {
    ecr.on(BatchDeleteImageCommand).rejects(new RepositoryNotFoundException({ message: 'not found', $metadata: {} }));
    const body = await handle(event(type));
    expect(body).toMatchObject({ Status: status, PhysicalResourceId: physicalId });
    expect(body.Reason).toContain('repository "app" in the account\'s registry (ECR Public, us-east-1) does not exist');
  });

  test('an event left out of deleteOn makes no call and still returns every attribute', async () => {
    deletesEverything();
    const body = await handle(event('Update', { DeleteOn: ['Delete'] }));
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
    expect(body).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'kept-physical-id',
      Data: { ImageIds: '[]', Failures: '[]', DeletedCount: '0', FailureCount: '0', Truncated: 'false', DeletionRan: 'false' },
    });
  });

  test('an Update keeps the physical ID, so CloudFormation never deletes "the old resource"', async () => {
    deletesEverything();
    const body = await handle(event('Update', { ImageIds: [{ imageTag: 'other' }] }, 'id-from-create'));
    expect(body.PhysicalResourceId).toBe('id-from-create');
  });

  test('the Delete after a failed Create makes no call and succeeds', async () => {
    deletesEverything();
    const body = await handle(event('Delete', { ImageIds: [] }, FAILED_CREATE_PHYSICAL_ID));
    expect(body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: FAILED_CREATE_PHYSICAL_ID });
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
  });

  test('invalid properties fail with the problem, before any call', async () => {
    deletesEverything();
    const body = await handle(event('Create', { RegistryId: 'abc', ImageIds: [{ imageTag: 'x'.repeat(301) }] }));
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
    expect(body.Status).toBe('FAILED');
    expect(body.Reason).toContain('registryId "abc" is not an AWS account ID (expected 12 digits)');
    expect(body.Reason).toContain('imageIds[0]: imageTag');
  });

  test('1,000 deletions fit in the 4,096-byte response: lists cut, counts exact, cut flagged', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => ({ imageDigest: `sha256:${i.toString(16).padStart(64, '0')}` }));
    ecr.on(BatchDeleteImageCommand).callsFake((input) => ({
      imageIds: input.imageIds!.map((id: { imageDigest?: string }) => ({ ...id, imageTag: `build-${id.imageDigest!.slice(-6)}` })),
      failures: [],
    }));
    const e = event('Create', { ImageIds: ids });
    await handler(e, { getRemainingTimeInMillis: () => 300_000 });
    const { body, bytes } = await server.responseTo(e.RequestId);
    expect(bytes).toBeLessThan(4096);
    expect(bytes).toBeGreaterThan(3500);
    expect(body.Data).toMatchObject({ DeletedCount: '1000', FailureCount: '0', Truncated: 'true' });
    const kept = JSON.parse(body.Data!.ImageIds);
    expect(kept.length).toBeGreaterThan(10);
    expect(kept[0]).toEqual({ imageDigest: ids[0].imageDigest, imageTag: `build-${ids[0].imageDigest.slice(-6)}` });
  });

  test('1,000 reported failures also fit, and so does a long FAILED reason', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => ({ imageTag: `t-${i}` }));
    ecr.on(BatchDeleteImageCommand).callsFake((input) => ({
      failures: input.imageIds!.map((imageId: object) => ({ imageId, failureCode: 'ImageReferencedByManifestList', failureReason: 'referenced' })),
    }));
    const tolerated = event('Create', { ImageIds: ids, FailOnImageFailure: 'false' });
    await handler(tolerated, { getRemainingTimeInMillis: () => 300_000 });
    const ok = await server.responseTo(tolerated.RequestId);
    expect(ok.bytes).toBeLessThan(4096);
    expect(ok.body.Data).toMatchObject({ FailureCount: '1000', Truncated: 'true' });

    const failing = event('Create', { ImageIds: ids });
    await handler(failing, { getRemainingTimeInMillis: () => 300_000 });
    const failed = await server.responseTo(failing.RequestId);
    expect(failed.bytes).toBeLessThan(4096);
    expect(failed.body.Status).toBe('FAILED');
    expect(failed.body.Reason).toMatch(/^1000 image IDs could not be deleted/);
    expect(failed.body.Reason).toContain('[cut: see the function log]');
  });

  test('a call that never returns: FAILED before the Lambda timeout, saying what timed out', async () => {
    ecr.on(BatchDeleteImageCommand).callsFake(() => new Promise(() => undefined));
    const started = Date.now();
    const body = await handle(event('Create'), 2_000);
    const elapsed = Date.now() - started;
    expect(body.Status).toBe('FAILED');
    expect(body.Reason).toMatch(/DeadlineExceededError: timed out after \d+ s waiting for ECR Public BatchDeleteImage: 0 of 1 batches answered/);
    expect(elapsed).toBeLessThan(2_000);
    expect(elapsed).toBeGreaterThanOrEqual(2_000 - responseReserveMs(2_000) - 50);
  });

  test('an unexpected error becomes FAILED with its name and message', async () => {
    ecr
      .on(BatchDeleteImageCommand)
      .rejects(Object.assign(new Error('User is not authorized to perform: ecr-public:BatchDeleteImage'), { name: 'AccessDeniedException' }));
    const body = await handle(event('Update'));
    expect(body).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'kept-physical-id' });
    expect(body.Reason).toContain('AccessDeniedException: User is not authorized');
  });

  test('one structured log line per event, without the ResponseURL', async () => {
    deletesEverything();
    await handle(event('Create', { ImageIds: [{ imageTag: 'a' }, { imageTag: 'a' }, { imageTag: 'b' }] }));
    expect(logs).toHaveLength(1);
    expect(logs[0]).not.toContain(RESPONSE_URL_SECRET);
    expect(logs[0]).not.toContain('/responses/');
    expect(JSON.parse(logs[0])).toMatchObject({
      requestType: 'Create',
      status: 'SUCCESS',
      repository: 'app',
      requested: 2,
      duplicatesCollapsed: 1,
      deleted: 2,
      failures: 0,
      calls: 1,
      durationMs: expect.any(Number),
    });
  });
});

describe('the time of an event', () => {
  test('manifest reads get the first half of the work time, the deletions keep the second half', () => {
    expect(readDeadlineOf(1_000_000 + 60_000, 1_000_000)).toBe(1_000_000 + 30_000);
    expect(readDeadlineOf(1_000_000 + 1, 1_000_000)).toBe(1_000_000);
    // A deadline already past gives the reads no time.
    expect(readDeadlineOf(1_000_000 - 5_000, 1_000_000)).toBe(1_000_000);
  });
});

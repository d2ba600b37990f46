/**
 * Selections through the whole handler, against an in-memory repository that
 * pages its listing and refuses to delete what a kept image index references,
 * as ECR Public does (moto does neither).
 */
import { BatchDeleteImageCommand, DescribeImagesCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { mockStackState } from '../support/stack-state-mock';
import { handler } from '../../lambda/index';
import { buildxPush, plainImage, OCI_INDEX } from '../support/buildx-fixtures';
import { FakeRegistry } from '../support/fake-registry';
import { ResponseServer } from '../support/local-cloudformation';

const ecr = mockClient(ECRPUBLICClient);
// The stack's state, which the handler reads for a Delete of allImages() and for a FAILED verdict.
mockStackState('DELETE_IN_PROGRESS');
let server: ResponseServer;
let requests = 0;
const DAY = 86_400_000;
const now = Date.now();

beforeAll(async () => {
  server = await ResponseServer.start();
});
afterAll(() => server.close());
beforeEach(() => {
  ecr.reset();
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

async function run(requestType: 'Create' | 'Update' | 'Delete', properties: object) {
  const requestId = `selection-${++requests}`;
  const base = {
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:handler',
    ResponseURL: server.urlFor(requestId),
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/s/1',
    RequestId: requestId,
    LogicalResourceId: 'Hygiene',
    ResourceType: 'Custom::EcrPublicImageDeletion',
    ResourceProperties: {
      ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:handler',
      RepositoryName: 'app',
      DeleteOn: ['Create', 'Update', 'Delete'],
      FailOnImageFailure: 'true',
      DryRun: 'false',
      ApiRegion: 'us-east-1',
      ...properties,
    },
  };
  const event: CloudFormationCustomResourceEvent =
    requestType === 'Create'
      ? { ...base, RequestType: 'Create' }
      : requestType === 'Delete'
        ? { ...base, RequestType: 'Delete', PhysicalResourceId: 'p' }
        : { ...base, RequestType: 'Update', PhysicalResourceId: 'p', OldResourceProperties: base.ResourceProperties };
  await handler(event, { getRemainingTimeInMillis: () => 300_000 });
  return (await server.responseTo(requestId)).body;
}

const deleteCalls = () => ecr.commandCalls(BatchDeleteImageCommand).map((call) => call.args[0].input.imageIds ?? []);

describe('a selection', () => {
  test('follows nextToken through every page, 1,000 images a page', async () => {
    const images = Array.from({ length: 2500 }, (_, i) => plainImage(`img${i.toString(16)}`, i % 2 === 0 ? [`t${i}`] : [], now - DAY));
    const registry = new FakeRegistry(images);
    registry.attach(ecr);
    const body = await run('Create', { Select: { Match: 'untagged' } });
    const pages = ecr.commandCalls(DescribeImagesCommand).map((call) => call.args[0].input);
    expect(pages.map((p) => [p.maxResults, p.nextToken])).toEqual([
      [1000, undefined],
      [1000, '1000'],
      [1000, '2000'],
    ]);
    expect(body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '1250', FailureCount: '0' } });
    expect([...registry.snapshot().values()].every((tags) => tags.length > 0)).toBe(true);
    expect(registry.images.size).toBe(1250);
  });

  test('untaggedImages keeps the children of kept multi-architecture images, and succeeds', async () => {
    const registry = new FakeRegistry([
      ...buildxPush('v1', ['v1'], now - 30 * DAY),
      ...buildxPush('v2', ['v2', 'latest'], now - DAY),
      plainImage('stray', [], now - 9 * DAY),
    ]);
    registry.attach(ecr);
    const body = await run('Update', { Select: { Match: 'untagged' } });
    expect(body.Status).toBe('SUCCESS');
    expect(body.Reason).toContain('8 still referenced by a manifest list');
    // Only the stray untagged image went; both indexes and their 8 children remain.
    expect(registry.images.size).toBe(10);
    expect(JSON.parse(body.Data!.ImageIds)).toEqual([{ imageDigest: plainImage('stray', [], 0).digest }]);
    expect(JSON.parse(body.Data!.Failures).every((f: { failureCode: string }) => f.failureCode === 'ImageReferencedByManifestList')).toBe(true);
    // Refused platform images belong to kept indexes: listing again could not free them.
    expect(registry.describeCalls).toBe(1);
  });

  test('an index of indexes empties too: a refused index is retried in a second round', async () => {
    const inner = buildxPush('inner', [], now - DAY);
    const innerIndex = inner[0];
    const outer = {
      digest: `sha256:${'9'.repeat(64)}`,
      tags: ['multi'],
      mediaType: OCI_INDEX,
      pushedAt: now - 2 * DAY,
      references: [innerIndex.digest],
    };
    const registry = new FakeRegistry([outer, ...inner]);
    registry.attach(ecr);
    const body = await run('Delete', { Select: { Match: 'all' } });
    // Newest first, the inner index is tried before the outer one and refused; the second round deletes it.
    expect(body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '0' } });
    expect(registry.images.size).toBe(0);
    expect(registry.describeCalls).toBe(2);
  });

  test('allImages empties a repository of multi-architecture images in one event, indexes first', async () => {
    const registry = new FakeRegistry([
      ...buildxPush('v1', ['v1'], now - 30 * DAY),
      ...buildxPush('v2', ['v2', 'latest'], now - DAY),
      plainImage('x', ['x'], now),
    ]);
    registry.attach(ecr);
    const body = await run('Delete', { Select: { Match: 'all' } });
    expect(body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '0' } });
    expect(registry.images.size).toBe(0);
    const [firstPass] = deleteCalls();
    const indexes = [...new FakeRegistry([...buildxPush('v1', [], 0), ...buildxPush('v2', [], 0)]).images.values()].filter(
      (i) => i.mediaType === OCI_INDEX,
    );
    expect(firstPass.map((id) => id.imageDigest).sort()).toEqual(indexes.map((i) => i.digest).sort());
    expect(registry.describeCalls).toBe(1);
  });

  test('protectTags keeps a release and everything its index references', async () => {
    const registry = new FakeRegistry([...buildxPush('v1', ['v1'], now - 30 * DAY), ...buildxPush('v2', ['v2', 'latest'], now - DAY)]);
    registry.attach(ecr);
    const body = await run('Delete', { Select: { Match: 'all', ProtectTags: ['latest'] } });
    expect(body.Status).toBe('SUCCESS');
    const kept = [...registry.images.values()];
    expect(kept).toHaveLength(5);
    expect(kept.find((i) => i.mediaType === OCI_INDEX)?.tags).toEqual(['v2', 'latest']);
  });

  test('tagsMatching deletes an index with its last tag, and leaves its now-orphaned children to a selection that covers them', async () => {
    const registry = new FakeRegistry([...buildxPush('a1', ['pr-1'], now - DAY), ...buildxPush('a2', ['main'], now)]);
    registry.attach(ecr);
    const tagged = await run('Create', { Select: { Match: 'tagged', TagPatterns: ['pr-*'] } });
    expect(tagged).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '1' } });
    expect(registry.images.size).toBe(9);
    const untagged = await run('Update', { Select: { Match: 'untagged' } });
    expect(untagged.Status).toBe('SUCCESS');
    // The orphans went; the children of the kept `main` index stayed.
    expect(registry.images.size).toBe(5);
  });

  test('olderThan and keepNewest combine: all conditions hold', async () => {
    const ages = [10, 9, 8, 3, 2, 1];
    const builds = ages.map((age, i) => plainImage(`b${i}`, [`build-${i}`], now - age * DAY));
    const registry = new FakeRegistry([...builds, plainImage('fresh', ['build-new'], now)]);
    registry.attach(ecr);
    const body = await run('Create', {
      Select: { Match: 'tagged', TagPatterns: ['build-*'], OlderThanSeconds: String(7 * 86_400), KeepNewest: '2' },
    });
    // Older than 7 days: build-0, -1, -2 (10, 9, 8 days old). Of those, the newest 2 are kept.
    expect(body.Status).toBe('SUCCESS');
    expect(JSON.parse(body.Data!.ImageIds).map((id: { imageTag: string }) => id.imageTag)).toEqual(['build-0']);
  });

  test('a dry run lists and reports, and deletes nothing', async () => {
    const registry = new FakeRegistry([plainImage('a', ['pr-1'], now - DAY), plainImage('b', ['main'], now)]);
    registry.attach(ecr);
    const body = await run('Create', { Select: { Match: 'tagged', TagPatterns: ['pr-*'] }, ImageIds: [{ imageTag: 'main' }], DryRun: 'true' });
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
    expect(registry.images.size).toBe(2);
    expect(body).toMatchObject({ Status: 'SUCCESS', Data: { DryRun: 'true', DeletedCount: '2' } });
    expect(JSON.parse(body.Data!.ImageIds)).toEqual([{ imageTag: 'main' }, { imageTag: 'pr-1' }]);
    expect(body.Reason).toContain('dry run: would delete 2 image IDs');
  });

  test('declared image IDs go first, then the selection reads what is left', async () => {
    const registry = new FakeRegistry([plainImage('a', ['pr-1'], now), plainImage('b', ['pr-2'], now)]);
    registry.attach(ecr);
    const body = await run('Create', { ImageIds: [{ imageTag: 'pr-1' }], Select: { Match: 'tagged', TagPatterns: ['pr-*'] } });
    expect(deleteCalls()).toEqual([[{ imageTag: 'pr-1' }], [{ imageTag: 'pr-2' }]]);
    expect(body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '2', FailureCount: '0' } });
  });

  test.each([
    ['Delete', 'SUCCESS'],
    ['Create', 'FAILED'],
  ] as const)('a repository that is gone when listed: %s %s', async (type, status) => {
    const { RepositoryNotFoundException } = await import('@aws-sdk/client-ecr-public');
    ecr.on(DescribeImagesCommand).rejects(new RepositoryNotFoundException({ message: 'gone', $metadata: {} }));
    const body = await run(type, { Select: { Match: 'all' } });
    expect(body.Status).toBe(status);
    expect(body.Reason).toContain('does not exist');
  });
});

import { BatchDeleteImageCommand, ECRPUBLICClient, RepositoryNotFoundException, ServerException } from '@aws-sdk/client-ecr-public';
import { mockClient } from 'aws-sdk-client-mock';
import { DeadlineExceededError, deleteImages, toBatches } from '../../lambda/execute';

const ecr = mockClient(ECRPUBLICClient);
const client = new ECRPUBLICClient({ region: 'us-east-1' });
const tags = (n: number) => Array.from({ length: n }, (_, i) => ({ imageTag: `t${i}` }));

beforeEach(() => ecr.reset());

describe('deleting in batches', () => {
  test('250 IDs go out as 3 calls of 100, 100 and 50, every ID once', async () => {
    ecr.on(BatchDeleteImageCommand).callsFake((input) => ({ imageIds: input.imageIds, failures: [] }));
    const outcome = await deleteImages(client, { repositoryName: 'app', registryId: '123456789012', imageIds: tags(250) });
    const calls = ecr.commandCalls(BatchDeleteImageCommand);
    expect(calls.map((c) => c.args[0].input.imageIds!.length)).toEqual([100, 100, 50]);
    expect(calls.every((c) => c.args[0].input.repositoryName === 'app' && c.args[0].input.registryId === '123456789012')).toBe(true);
    expect(calls.flatMap((c) => c.args[0].input.imageIds!.map((id) => id.imageTag))).toEqual(tags(250).map((t) => t.imageTag));
    expect(outcome).toMatchObject({ calls: 3, repositoryMissing: false, failures: [] });
    expect(outcome.deleted).toEqual(tags(250));
  });

  test('no more calls are in flight than the concurrency allows', async () => {
    let inFlight = 0;
    let peak = 0;
    ecr.on(BatchDeleteImageCommand).callsFake(async (input) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return { imageIds: input.imageIds, failures: [] };
    });
    await deleteImages(client, { repositoryName: 'app', imageIds: tags(2000) }, { concurrency: 3 });
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(20);
    expect(peak).toBe(3);
  });

  test('per-image failures are collected from every batch, not thrown', async () => {
    ecr.on(BatchDeleteImageCommand).callsFake((input) => ({
      imageIds: [],
      failures: input
        .imageIds!.slice(0, 1)
        .map((imageId: { imageTag?: string }) => ({ imageId, failureCode: 'ImageNotFound', failureReason: 'gone' })),
    }));
    const outcome = await deleteImages(client, { repositoryName: 'app', imageIds: tags(150) });
    expect(outcome.failures.map((f) => f.imageId?.imageTag)).toEqual(['t0', 't100']);
  });

  test('a missing repository stops the work and is reported, not thrown', async () => {
    ecr.on(BatchDeleteImageCommand).rejects(new RepositoryNotFoundException({ message: 'no repo', $metadata: {} }));
    const outcome = await deleteImages(client, { repositoryName: 'app', imageIds: tags(1000) }, { concurrency: 2 });
    expect(outcome).toMatchObject({ repositoryMissing: true, deleted: [], calls: 0 });
    expect(ecr.commandCalls(BatchDeleteImageCommand).length).toBeLessThanOrEqual(2);
  });

  test('another error stops new calls and is thrown once the calls in flight settle', async () => {
    ecr
      .on(BatchDeleteImageCommand)
      .rejectsOnce(new ServerException({ message: 'boom', $metadata: {} }))
      .callsFake((input) => ({ imageIds: input.imageIds, failures: [] }));
    await expect(deleteImages(client, { repositoryName: 'app', imageIds: tags(1000) }, { concurrency: 1 })).rejects.toThrow('boom');
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(1);
  });

  test('an aborted signal turns into a deadline error that says how far it got', async () => {
    const abort = new AbortController();
    let call = 0;
    ecr.on(BatchDeleteImageCommand).callsFake(async (input) => {
      if (++call === 1) return { imageIds: input.imageIds, failures: [] };
      abort.abort();
      throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    });
    const run = deleteImages(client, { repositoryName: 'app', imageIds: tags(300) }, { concurrency: 1, signal: abort.signal });
    await expect(run).rejects.toBeInstanceOf(DeadlineExceededError);
    await expect(run).rejects.toThrow(
      /timed out after \d+ s waiting for ECR Public BatchDeleteImage: 1 of 3 batches answered \(100 image IDs deleted\)/,
    );
  });

  test('toBatches keeps order and never exceeds the size', () => {
    expect(toBatches([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(toBatches([], 100)).toEqual([]);
  });
});

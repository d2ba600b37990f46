/**
 * A tick of a deletion's schedule through the whole handler, against the
 * in-memory repository: the selection runs as in an Update, nobody is
 * answered, and a failed run fails the invocation.
 */
import {
  BatchDeleteImageCommand,
  DescribeImagesCommand,
  ECRPUBLICClient,
  ImageFailureCode,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr-public';
import { mockClient } from 'aws-sdk-client-mock';
import { mockStackState } from '../support/stack-state-mock';
import { SCHEDULED_EVENT_SOURCE, ScheduledEvent } from '../../lib/contract';
import * as cfnResponse from '../../lambda/cfn-response';
import { handler, responseReserveMs } from '../../lambda/index';
import { plainImage } from '../support/buildx-fixtures';
import { FakeRegistry } from '../support/fake-registry';

const ecr = mockClient(ECRPUBLICClient);
// The stack's state, which the handler reads for a Delete of allImages() and for a FAILED verdict.
mockStackState('UPDATE_IN_PROGRESS');
const DAY = 86_400_000;
const now = Date.now();
let logs: string[];
let sendResponse: jest.SpyInstance;

beforeEach(() => {
  ecr.reset();
  logs = [];
  jest.spyOn(console, 'log').mockImplementation((line: string) => void logs.push(line));
  sendResponse = jest.spyOn(cfnResponse, 'sendResponse');
});
afterEach(() => {
  // A scheduled run is never answered: nobody waits, and there is no ResponseURL.
  expect(sendResponse).not.toHaveBeenCalled();
  jest.restoreAllMocks();
});

function tick(properties: object = {}): ScheduledEvent {
  return {
    Source: SCHEDULED_EVENT_SOURCE,
    LogicalResourceId: 'OldPreviews',
    ResourceProperties: {
      RepositoryName: 'app',
      Select: { Match: 'tagged', TagPatterns: ['pr-*'] },
      DeleteOn: ['Delete'],
      FailOnImageFailure: 'true',
      DryRun: 'false',
      ApiRegion: 'us-east-1',
      ...properties,
    } as ScheduledEvent['ResourceProperties'],
  };
}

const run = (event: ScheduledEvent, remainingMs = 300_000) => handler(event, { getRemainingTimeInMillis: () => remainingMs });
const logLine = () => {
  expect(logs).toHaveLength(1);
  return JSON.parse(logs[0]);
};

describe('a scheduled run', () => {
  test('deletes what the selection matches now, whatever deleteOn says, and logs one line', async () => {
    const registry = new FakeRegistry([
      plainImage('a', ['pr-1'], now - 3 * DAY),
      plainImage('b', ['pr-2', 'pr-2-debug'], now - DAY),
      plainImage('c', ['main'], now),
    ]);
    registry.attach(ecr);
    await expect(run(tick())).resolves.toBeUndefined();
    expect([...registry.snapshot().values()]).toEqual([['main']]);
    const line = logLine();
    expect(line).toMatchObject({
      requestType: 'Scheduled',
      logicalResourceId: 'OldPreviews',
      status: 'SUCCESS',
      action: 'delete',
      repository: 'app',
      dryRun: false,
      selection: { listed: 3, matched: 2 },
      deleted: 3,
      failures: 0,
      deletedImageIdsCut: false,
    });
    // The log is the only report of a scheduled run: it names what went.
    expect(line.deletedImageIds.map((id: { imageTag: string }) => id.imageTag).sort()).toEqual(['pr-1', 'pr-2', 'pr-2-debug']);
  });

  test('leaves declared image IDs to deployments', async () => {
    const registry = new FakeRegistry([plainImage('a', ['pr-1'], now), plainImage('c', ['main'], now)]);
    registry.attach(ecr);
    await run(tick({ ImageIds: [{ imageTag: 'main' }] }));
    expect(ecr.commandCalls(BatchDeleteImageCommand).map((call) => call.args[0].input.imageIds)).toEqual([[{ imageTag: 'pr-1' }]]);
    expect([...registry.snapshot().values()]).toEqual([['main']]);
  });

  test('a dry run lists, logs what would go, and deletes nothing', async () => {
    const registry = new FakeRegistry([plainImage('a', ['pr-1'], now), plainImage('c', ['main'], now)]);
    registry.attach(ecr);
    await run(tick({ DryRun: 'true' }));
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
    expect(registry.images.size).toBe(2);
    expect(logLine()).toMatchObject({
      status: 'SUCCESS',
      dryRun: true,
      deleted: 1,
      calls: 0,
      deletedImageIds: [{ imageTag: 'pr-1' }],
      reason: expect.stringContaining('dry run: would delete 1 image IDs'),
    });
  });

  test('a failure that fails the run throws, naming the image, so that the invocation counts as an error', async () => {
    new FakeRegistry([plainImage('a', ['pr-1'], now)]).attach(ecr);
    ecr.on(BatchDeleteImageCommand).resolves({
      failures: [{ imageId: { imageTag: 'pr-1' }, failureCode: ImageFailureCode.KmsError, failureReason: 'key disabled' }],
    });
    await expect(run(tick())).rejects.toThrow(
      'scheduled run of OldPreviews failed: 1 image IDs could not be deleted from repository "app" in the account\'s registry ' +
        '(ECR Public, us-east-1): imageTag=pr-1: KmsError (key disabled). ' +
        'Set failOnImageFailure: false to report failures without failing the scheduled run.',
    );
    expect(logLine()).toMatchObject({ requestType: 'Scheduled', status: 'FAILED', failures: 1 });
  });

  test('with failOnImageFailure false, the failure is logged and the run succeeds', async () => {
    new FakeRegistry([plainImage('a', ['pr-1'], now)]).attach(ecr);
    ecr.on(BatchDeleteImageCommand).resolves({
      failures: [{ imageId: { imageTag: 'pr-1' }, failureCode: ImageFailureCode.KmsError, failureReason: 'key disabled' }],
    });
    await expect(run(tick({ FailOnImageFailure: 'false' }))).resolves.toBeUndefined();
    expect(logLine()).toMatchObject({ status: 'SUCCESS', failures: 1 });
  });

  test('a repository that is gone fails the run', async () => {
    ecr.on(DescribeImagesCommand).rejects(new RepositoryNotFoundException({ message: 'gone', $metadata: {} }));
    await expect(run(tick())).rejects.toThrow(/^scheduled run of OldPreviews failed: repository "app" .* does not exist/);
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
  });

  test('invalid properties fail the run before any call, naming the property', async () => {
    await expect(run(tick({ RepositoryName: 'UPPER' }))).rejects.toThrow('InvalidPropertiesError: invalid properties: repositoryName "UPPER"');
    await expect(run(tick({ Select: undefined, ImageIds: [{ imageTag: 'v1' }] }))).rejects.toThrow('a scheduled run needs select');
    expect(ecr.calls()).toHaveLength(0);
    expect(logs.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ requestType: 'Scheduled', status: 'FAILED', action: 'invalid', repository: 'UPPER' }),
      expect.objectContaining({ requestType: 'Scheduled', status: 'FAILED', action: 'invalid', repository: 'app' }),
    ]);
  });

  test('a listing that never returns: the run stops before the Lambda timeout and throws, saying what timed out', async () => {
    ecr.on(DescribeImagesCommand).callsFake(() => new Promise(() => undefined));
    const started = Date.now();
    await expect(run(tick(), 2_000)).rejects.toThrow(
      /^scheduled run of OldPreviews failed: nothing deleted: DeadlineExceededError: timed out after \d+ s/,
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(2_000);
    expect(elapsed).toBeGreaterThanOrEqual(2_000 - responseReserveMs(2_000) - 50);
  });

  test('a long reason is cut in the error, and kept whole in the log line', async () => {
    const images = Array.from({ length: 200 }, (_, i) => plainImage(`i${i.toString(16)}`, [`pr-${i}`], now));
    new FakeRegistry(images).attach(ecr);
    ecr.on(BatchDeleteImageCommand).callsFake((input) => ({
      failures: input.imageIds!.map((imageId: object) => ({ imageId, failureCode: 'KmsError', failureReason: 'key disabled' })),
    }));
    const error: Error = await run(tick()).then(
      () => new Error('resolved'),
      (e: Error) => e,
    );
    expect(error.name).toBe('ScheduledRunFailedError');
    expect(Buffer.byteLength(error.message)).toBeLessThan(2_100);
    expect(error.message).toContain('[cut: see the function log]');
    expect(logLine().reason).toMatch(/^200 image IDs could not be deleted.*imageTag=pr-199: KmsError/);
  });
});

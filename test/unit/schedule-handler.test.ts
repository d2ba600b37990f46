/**
 * A tick of a deletion's schedule through the whole handler, in process,
 * against the local ECR Public (the emulator), or a mocked client where the
 * test needs an answer the service gives rarely (a KMS failure, a hung call):
 * the selection runs as in an Update, nobody is answered, and a failed run
 * fails the invocation.
 */
import { BatchDeleteImageCommand, DescribeImagesCommand, ECRPUBLICClient, ImageFailureCode } from '@aws-sdk/client-ecr-public';
import { AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { mockStackState } from '../support/stack-state-mock';
import { SCHEDULED_EVENT_SOURCE, ScheduledEvent } from '../../lib/contract';
import * as cfnResponse from '../../lambda/cfn-response';
import { handler, responseReserveMs } from '../../lambda/index';
import { SeedImage, singleImage } from '../../local/ecr-public';
import { useEmulatorForHandler } from '../support/in-process-emulator';

// The stack's state, which the handler reads for a FAILED verdict.
mockStackState('UPDATE_IN_PROGRESS');
const DAY = 86_400_000;
const now = Date.now();
let logs: string[];
let sendResponse: jest.SpyInstance;

beforeEach(() => {
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

const handle = (event: ScheduledEvent, remainingMs = 300_000) => handler(event, { getRemainingTimeInMillis: () => remainingMs });
const logLine = () => {
  expect(logs).toHaveLength(1);
  return JSON.parse(logs[0]);
};

const plain = (name: string, tags: string[], pushedAt: number) => singleImage(name, { tags, pushedAt });
/** A DescribeImages answer listing `images`, for the mocked client. */
const listing = (...images: SeedImage[]) => ({
  imageDetails: images.map((image) => ({
    imageDigest: image.digest,
    imageTags: [...image.tags],
    imagePushedAt: new Date(image.pushedAt ?? now),
    imageManifestMediaType: image.mediaType,
  })),
});

describe('a scheduled run against the local ECR Public', () => {
  const local = useEmulatorForHandler();
  const seed = (...images: SeedImage[]) => local.emulator.seed('app', images);
  const tagsLeft = () => [...local.emulator.snapshot('app').values()];

  test('deletes what the selection matches now, whatever deleteOn says, and logs one line', async () => {
    seed(plain('a', ['pr-1'], now - 3 * DAY), plain('b', ['pr-2', 'pr-2-debug'], now - DAY), plain('c', ['main'], now));
    await expect(handle(tick())).resolves.toBeUndefined();
    expect(tagsLeft()).toEqual([['main']]);
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

  test('names each image the selection covered but kept, with its reason, in the log line', async () => {
    const [old, newest, kept] = [plain('a', ['pr-1'], now - 3 * DAY), plain('b', ['pr-2'], now - DAY), plain('c', ['pr-keep'], now - 5 * DAY)];
    seed(old, newest, kept, plain('d', ['main'], now));
    await handle(tick({ Select: { Match: 'tagged', TagPatterns: ['pr-*'], KeepNewest: '1', ProtectTags: ['pr-keep'] } }));
    const line = logLine();
    expect(line.keptImages).toEqual(
      expect.arrayContaining([
        { imageDigest: newest.digest, imageTags: ['pr-2'], reason: 'newest' },
        { imageDigest: kept.digest, imageTags: ['pr-keep'], reason: 'protected' },
      ]),
    );
    expect(line.keptImages).toHaveLength(2);
    expect(line.keptImagesCut).toBe(false);
    // The counts of the reason and the names of the log line agree; counters that are zero are left out.
    expect(line.reason).toContain('(selection: 4 images listed, 2 matched, 1 kept as newest, 1 protected)');
    expect(line.selection).not.toHaveProperty('kept');
  });

  test('runs a lifecycle policy: each image its rules expire goes, and the log line names the rule of each, and the count per rule', async () => {
    const releases = [1, 2, 3].map((n) => plain(`r${n}`, [`v${n}`], now - (10 - n) * DAY));
    const [loose, fresh] = [plain('loose', [], now - 3 * DAY), plain('fresh', [], now - 3_600_000)];
    seed(...releases, loose, fresh, plain('main', ['main'], now - 30 * DAY));
    const policy = {
      rules: [
        {
          rulePriority: 1,
          description: 'Keep the 2 newest releases',
          selection: { tagStatus: 'tagged', tagPatternList: ['v*'], countType: 'imageCountMoreThan', countNumber: 2 },
          action: { type: 'expire' },
        },
        {
          rulePriority: 2,
          description: 'Untagged images go after a day',
          selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 },
          action: { type: 'expire' },
        },
      ],
    };
    await expect(handle(tick({ Select: { Match: 'lifecycle', LifecyclePolicyText: JSON.stringify(policy) } }))).resolves.toBeUndefined();
    expect(
      local.emulator
        .images('app')
        .map((image) => image.tags.join(',') || image.digest)
        .sort(),
    ).toEqual(['main', 'v2', 'v3', fresh.digest].sort());
    const line = logLine();
    expect(line.deletedImageIds).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ imageDigest: releases[0].digest, rule: 1 }),
        expect.objectContaining({ imageDigest: loose.digest, rule: 2 }),
      ]),
    );
    expect(line.selection.rules).toEqual([
      { priority: 1, description: 'Keep the 2 newest releases', selected: 3, expired: 1, keptNewest: 2, keptTooRecent: 0, keptProtected: 0 },
      { priority: 2, description: 'Untagged images go after a day', selected: 2, expired: 1, keptNewest: 0, keptTooRecent: 1, keptProtected: 0 },
    ]);
    expect(line.keptImages).toEqual(
      expect.arrayContaining([expect.objectContaining({ imageDigest: releases[1].digest, reason: 'newest', rule: 1 })]),
    );
    expect(line.reason).toContain('images expired per rule: rule 1: 1, rule 2: 1');
  });

  test('leaves declared image IDs to deployments', async () => {
    seed(plain('a', ['pr-1'], now), plain('c', ['main'], now));
    await handle(tick({ ImageIds: [{ imageTag: 'main' }] }));
    expect(local.calls('BatchDeleteImage').map((input) => input.imageIds)).toEqual([
      [{ imageTag: 'pr-1', imageDigest: plain('a', ['pr-1'], now).digest }],
    ]);
    expect(tagsLeft()).toEqual([['main']]);
  });

  test('a dry run lists, logs what would go, and deletes nothing', async () => {
    seed(plain('a', ['pr-1'], now), plain('c', ['main'], now));
    await handle(tick({ DryRun: 'true' }));
    expect(local.calls('BatchDeleteImage')).toHaveLength(0);
    expect(tagsLeft()).toHaveLength(2);
    expect(logLine()).toMatchObject({
      status: 'SUCCESS',
      dryRun: true,
      deleted: 1,
      calls: 0,
      deletedImageIds: [{ imageTag: 'pr-1' }],
      reason: expect.stringContaining('dry run: would delete 1 image IDs'),
    });
  });

  test('a repository that is gone fails the run', async () => {
    // Repository `app` was never created in the emulator.
    await expect(handle(tick())).rejects.toThrow(/^scheduled run of OldPreviews failed: repository "app" .* does not exist/);
    expect(local.calls('BatchDeleteImage')).toHaveLength(0);
  });
});

describe('a scheduled run with a mocked client', () => {
  let ecr: AwsClientStub<ECRPUBLICClient>;
  beforeAll(() => {
    ecr = mockClient(ECRPUBLICClient);
  });
  afterAll(() => ecr.restore());
  beforeEach(() => ecr.reset());

  test('a failure that fails the run throws, naming the image, so that the invocation counts as an error', async () => {
    ecr.on(DescribeImagesCommand).resolves(listing(plain('a', ['pr-1'], now)));
    ecr.on(BatchDeleteImageCommand).resolves({
      failures: [{ imageId: { imageTag: 'pr-1' }, failureCode: ImageFailureCode.KmsError, failureReason: 'key disabled' }],
    });
    await expect(handle(tick())).rejects.toThrow(
      'scheduled run of OldPreviews failed: 1 image IDs could not be deleted from repository "app" in the account\'s registry ' +
        '(ECR Public, us-east-1): imageTag=pr-1: KmsError (key disabled). ' +
        'Set failOnImageFailure: false to report failures without failing the scheduled run.',
    );
    expect(logLine()).toMatchObject({ requestType: 'Scheduled', status: 'FAILED', failures: 1 });
  });

  test('with failOnImageFailure false, the failure is logged and the run succeeds', async () => {
    ecr.on(DescribeImagesCommand).resolves(listing(plain('a', ['pr-1'], now)));
    ecr.on(BatchDeleteImageCommand).resolves({
      failures: [{ imageId: { imageTag: 'pr-1' }, failureCode: ImageFailureCode.KmsError, failureReason: 'key disabled' }],
    });
    await expect(handle(tick({ FailOnImageFailure: 'false' }))).resolves.toBeUndefined();
    expect(logLine()).toMatchObject({ status: 'SUCCESS', failures: 1 });
  });

  test('invalid properties fail the run before any call, naming the property', async () => {
    await expect(handle(tick({ RepositoryName: 'UPPER' }))).rejects.toThrow('InvalidPropertiesError: invalid properties: repositoryName "UPPER"');
    await expect(handle(tick({ Select: undefined, ImageIds: [{ imageTag: 'v1' }] }))).rejects.toThrow('a scheduled run needs select');
    expect(ecr.calls()).toHaveLength(0);
    expect(logs.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ requestType: 'Scheduled', status: 'FAILED', action: 'invalid', repository: 'UPPER' }),
      expect.objectContaining({ requestType: 'Scheduled', status: 'FAILED', action: 'invalid', repository: 'app' }),
    ]);
  });

  test('a listing that never returns: the run stops before the Lambda timeout and throws, saying what timed out', async () => {
    ecr.on(DescribeImagesCommand).callsFake(() => new Promise(() => undefined));
    const started = Date.now();
    await expect(handle(tick(), 2_000)).rejects.toThrow(
      /^scheduled run of OldPreviews failed: nothing deleted: DeadlineExceededError: timed out after \d+ s/,
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(2_000);
    expect(elapsed).toBeGreaterThanOrEqual(2_000 - responseReserveMs(2_000) - 50);
  });

  test('a long reason is cut in the error, and kept whole in the log line', async () => {
    ecr.on(DescribeImagesCommand).resolves(listing(...Array.from({ length: 200 }, (_, i) => plain(`i${i.toString(16)}`, [`pr-${i}`], now))));
    ecr.on(BatchDeleteImageCommand).callsFake((input) => ({
      failures: input.imageIds!.map((imageId: object) => ({ imageId, failureCode: 'KmsError', failureReason: 'key disabled' })),
    }));
    const error: Error = await handle(tick()).then(
      () => new Error('resolved'),
      (e: Error) => e,
    );
    expect(error.name).toBe('ScheduledRunFailedError');
    expect(Buffer.byteLength(error.message)).toBeLessThan(2_100);
    expect(error.message).toContain('[cut: see the function log]');
    expect(logLine().reason).toMatch(/^200 image IDs could not be deleted.*imageTag=pr-199,imageDigest=sha256:[0-9a-f]{64}: KmsError/);
  });
});

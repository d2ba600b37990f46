/**
 * Lifecycle safety through the whole handler, SDKs mocked: a Delete of
 * allImages() empties only a repository that CloudFormation is deleting; no
 * event fails during a rollback; what was deleted survives a failure; the
 * SDK's exceptions come with what to do; images without a push time count as
 * the newest.
 */
import { DescribeStacksCommand, GetTemplateCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { BatchDeleteImageCommand, DescribeImagesCommand, ECRPUBLICClient, RepositoryNotFoundException } from '@aws-sdk/client-ecr-public';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../lambda/index';
import { CfnEvents, emptierProperties } from '../support/cfn-events';
import { ResponseServer } from '../support/local-cloudformation';
import { answerStackState, mockStackState } from '../support/stack-state-mock';

const ecr = mockClient(ECRPUBLICClient);
const cfn = mockStackState('UPDATE_IN_PROGRESS');
let server: ResponseServer;
let logs: string[];
const STACK_ID = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1';

beforeAll(async () => {
  server = await ResponseServer.start();
});
afterAll(() => server.close());
beforeEach(() => {
  ecr.reset();
  answerStackState(cfn, 'UPDATE_IN_PROGRESS');
  logs = [];
  jest.spyOn(console, 'log').mockImplementation((line: string) => void logs.push(line));
});
afterEach(() => jest.restoreAllMocks());

const d = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const emptier = (change: object = {}) => emptierProperties('app', change);

function event(requestType: 'Create' | 'Update' | 'Delete', properties: object): CloudFormationCustomResourceEvent {
  const events = new CfnEvents(server, { stackId: STACK_ID, logicalResourceId: 'Emptier' });
  if (requestType === 'Create') return events.create(properties);
  if (requestType === 'Delete') return events.delete('p', properties);
  return events.update('p', properties, properties);
}

async function handle(e: CloudFormationCustomResourceEvent, remainingMs = 300_000) {
  await handler(e, { getRemainingTimeInMillis: () => remainingMs });
  return (await server.responseTo(e.RequestId)).body;
}
const logLine = () => JSON.parse(logs[logs.length - 1]) as Record<string, unknown>;

/** A repository of three images, listed and deleted as ECR Public would. */
function repositoryOfThree() {
  const images = new Map([1, 2, 3].map((n) => [d(n), { imageDigest: d(n), imageTags: [`v${n}`], imagePushedAt: new Date(Date.UTC(2026, 0, n)) }]));
  ecr.on(DescribeImagesCommand).callsFake(() => ({ imageDetails: [...images.values()] }));
  ecr.on(BatchDeleteImageCommand).callsFake((input) => {
    const deleted = (input.imageIds ?? []).filter((id: { imageDigest?: string }) => images.delete(id.imageDigest ?? ''));
    return { imageIds: deleted, failures: [] };
  });
  return images;
}

describe('a Delete of allImages() empties only a repository that CloudFormation is deleting', () => {
  test.each([
    ['the stack is deleted', 'DELETE_IN_PROGRESS', ['Repo', 'Emptier'], 0],
    ['the repository left the template', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', ['Emptier2'], 0],
    ['the emptier was removed, renamed or moved; the repository stays', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', ['Repo', 'Emptier2'], 3],
    ['a rollback removes a newly added emptier', 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', ['Repo'], 3],
  ])('%s (%s, template %j): %i images left', async (_what, status, resources, left) => {
    const images = repositoryOfThree();
    answerStackState(cfn, status, resources, { Repo: 'app' });
    const body = await handle(event('Delete', emptier()));
    expect(body.Status).toBe('SUCCESS');
    expect(images.size).toBe(left);
    expect(body.Data?.DeletedCount).toBe(String(3 - left));
    expect(body.Data?.DeletionRan).toBe(left === 3 ? 'false' : 'true');
    expect(logLine().teardown).toEqual({ empties: left === 0, declaredIdsGo: true, why: expect.stringContaining(status) });
    // Its own stack, by ID: the role may read this stack only.
    expect(cfn.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input)).toEqual([{ StackName: STACK_ID }]);
    // The template and the resources only while an update or a rollback cleans up: a stack being deleted needs its status alone.
    const cleanup = status !== 'DELETE_IN_PROGRESS';
    expect(cfn.commandCalls(GetTemplateCommand).map((c) => c.args[0].input)).toEqual(
      cleanup ? [{ StackName: STACK_ID, TemplateStage: 'Processed' }] : [],
    );
    expect(cfn.commandCalls(ListStackResourcesCommand).map((c) => c.args[0].input)).toEqual(cleanup ? [{ StackName: STACK_ID }] : []);
  });

  test('a stack being deleted is emptied although GetTemplate is throttled: the template is not asked for', async () => {
    const images = repositoryOfThree();
    answerStackState(cfn, 'DELETE_IN_PROGRESS', ['Repo', 'Emptier'], { Repo: 'app' });
    cfn.on(GetTemplateCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    const body = await handle(event('Delete', emptier()));
    expect(body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '3', DeletionRan: 'true' } });
    expect(images.size).toBe(0);
    expect(cfn.commandCalls(GetTemplateCommand)).toHaveLength(0);
  });

  test('given a repository name only, it empties when the stack is deleted, and not when only the emptier leaves', async () => {
    const name = emptier({ RepositoryLogicalId: undefined, RepositoryDeletionPolicy: undefined });
    let images = repositoryOfThree();
    answerStackState(cfn, 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', []);
    await handle(event('Delete', name));
    expect(images.size).toBe(3);
    expect(cfn.commandCalls(GetTemplateCommand)).toHaveLength(0);
    ecr.reset();
    images = repositoryOfThree();
    answerStackState(cfn, 'DELETE_IN_PROGRESS');
    await handle(event('Delete', name));
    expect(images.size).toBe(0);
  });

  test('a stack state that cannot be read keeps every image, and the Delete says why', async () => {
    const images = repositoryOfThree();
    cfn.reset();
    cfn
      .on(DescribeStacksCommand)
      .rejects(Object.assign(new Error('not authorized to perform: cloudformation:DescribeStacks'), { name: 'AccessDenied' }));
    const body = await handle(event('Delete', emptier()));
    expect(images.size).toBe(3);
    expect(body.Status).toBe('SUCCESS');
    expect(body.Reason).toMatch(/^no deletion: selection not run: the stack's state could not be read \(AccessDenied: not authorized/);
    expect(ecr.commandCalls(DescribeImagesCommand)).toHaveLength(0);
  });

  test('declared image IDs still go when the selection is held back', async () => {
    const images = repositoryOfThree();
    answerStackState(cfn, 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', ['Repo'], { Repo: 'app' });
    const body = await handle(event('Delete', emptier({ ImageIds: [{ imageDigest: d(2) }] })));
    expect([...images.keys()]).toEqual([d(1), d(3)]);
    expect(body.Data).toMatchObject({ DeletedCount: '1', DeletionRan: 'true' });
    expect(body.Reason).toContain('selection not run');
  });

  test('other selections, and other events, do not ask CloudFormation', async () => {
    repositoryOfThree();
    await handle(event('Delete', emptier({ Select: { Match: 'untagged' } })));
    await handle(event('Update', emptier({ DeleteOn: ['Update'] })));
    expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });
});

describe('no event fails during a rollback', () => {
  const missingRepository = () =>
    ecr.on(BatchDeleteImageCommand).rejects(new RepositoryNotFoundException({ message: 'no repository', $metadata: {} }));
  const declared = {
    ...emptier({ Select: undefined, RepositoryLogicalId: undefined, RepositoryDeletionPolicy: undefined }),
    ImageIds: [{ imageTag: 'pr-1' }],
    DeleteOn: ['Create', 'Update', 'Delete'],
  };

  test.each(['UPDATE_ROLLBACK_IN_PROGRESS', 'ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', 'IMPORT_ROLLBACK_IN_PROGRESS'])(
    'an Update on a missing repository during %s is reported and succeeds',
    async (status) => {
      missingRepository();
      answerStackState(cfn, status);
      const body = await handle(event('Update', declared));
      expect(body.Status).toBe('SUCCESS');
      expect(body.Reason).toMatch(
        new RegExp(`^reported, not failed, because the stack is ${status} .*does not exist \\(RepositoryNotFoundException\\)`),
      );
      expect(logLine()).toMatchObject({ status: 'SUCCESS', stackStatus: status });
    },
  );

  test('outside a rollback the same Update fails, so the deployment stops and rolls back', async () => {
    missingRepository();
    const body = await handle(event('Update', declared));
    expect(body.Status).toBe('FAILED');
    expect(body.Reason).toContain('RepositoryNotFoundException');
  });

  test('invalid properties in a rollback (the old ones, under a stricter rule) are reported too', async () => {
    answerStackState(cfn, 'UPDATE_ROLLBACK_IN_PROGRESS');
    const body = await handle(event('Update', { ...declared, ImageIds: [{ imageTag: 'pr 1' }] }));
    expect(body.Status).toBe('SUCCESS');
    expect(body.Reason).toContain('imageTag "pr 1" has U+0020');
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
  });

  test('when the stack state cannot be read, a failure stands and says so', async () => {
    missingRepository();
    cfn.reset();
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    const body = await handle(event('Update', declared));
    expect(body.Status).toBe('FAILED');
    expect(body.Reason).toContain("(the stack's state could not be read to tell a rollback: Throttling: Rate exceeded)");
  });
});

describe('what was deleted survives a failure', () => {
  const ids = Array.from({ length: 250 }, (_, i) => ({ imageDigest: d(1000 + i) }));
  const properties = {
    ...emptier({ Select: undefined, RepositoryLogicalId: undefined, RepositoryDeletionPolicy: undefined }),
    ImageIds: ids,
    DeleteOn: ['Update'],
  };

  test('throttling after the last attempt: the count in the reason, the IDs in the log', async () => {
    ecr.on(BatchDeleteImageCommand).callsFake(async (input) => {
      if (input.imageIds[0].imageDigest === ids[100].imageDigest) {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { attempts: 8, httpStatusCode: 400 } });
      }
      return { imageIds: input.imageIds, failures: [] };
    });
    const body = await handle(event('Update', properties));
    expect(body.Status).toBe('FAILED');
    expect(body.Reason).toContain(
      'ThrottlingException: Rate exceeded. ECR Public kept throttling the requests on arn:aws:ecr-public::<this account>:repository/app after 8 attempts',
    );
    expect(body.Reason).toMatch(/^150 image IDs deleted before the failure \(the function log lists them\): ThrottlingException/);
    const logged = logLine();
    expect(logged.deleted).toBe(150);
    expect((logged.deletedImageIds as Array<{ imageDigest: string }>).map((id) => id.imageDigest).sort()).toEqual(
      [...ids.slice(0, 100), ...ids.slice(200)].map((id) => id.imageDigest).sort(),
    );
  });

  test('the deadline: what went before it is counted and logged', async () => {
    ecr
      .on(BatchDeleteImageCommand)
      .callsFake((input) =>
        input.imageIds[0].imageDigest === ids[0].imageDigest ? { imageIds: input.imageIds, failures: [] } : new Promise(() => undefined),
      );
    const body = await handle(event('Update', properties), 2_000);
    expect(body.Status).toBe('FAILED');
    expect(body.Reason).toMatch(
      /^100 image IDs deleted before the failure \(the function log lists them\): DeadlineExceededError: .*1 of 3 batches answered/,
    );
    expect(logLine().deletedImageIds).toEqual(ids.slice(0, 100));
  });

  test('a failure before any deletion says nothing was deleted', async () => {
    ecr.on(BatchDeleteImageCommand).rejects(Object.assign(new Error('boom'), { name: 'InternalError' }));
    const body = await handle(event('Update', properties));
    expect(body.Reason).toBe('nothing deleted: InternalError: boom');
  });
});

describe('the SDK exceptions say what to do', () => {
  test.each([
    [
      'UnsupportedCommandException',
      'is not supported in this region',
      'us-west-2',
      "ECR Public's API region us-west-2 does not serve this command: set apiRegion to us-east-1",
    ],
    [
      'InvalidParameterException',
      'Invalid parameter',
      'us-east-1',
      'ECR Public refused a parameter of the request on arn:aws:ecr-public::123456789012:repository/app',
    ],
    [
      'AccessDeniedException',
      'not authorized',
      'us-east-1',
      "The handler's role needs ecr-public:BatchDeleteImage on arn:aws:ecr-public::123456789012:repository/app; the construct grants them",
    ],
  ])('%s', async (name, message, apiRegion, advice) => {
    ecr.on(BatchDeleteImageCommand).rejects(Object.assign(new Error(message), { name }));
    const body = await handle(
      event('Update', {
        ...emptier({ Select: undefined, RepositoryLogicalId: undefined, RepositoryDeletionPolicy: undefined }),
        RegistryId: '123456789012',
        ApiRegion: apiRegion,
        ImageIds: [{ imageTag: 'pr-1' }],
        DeleteOn: ['Update'],
      }),
    );
    expect(body.Status).toBe('FAILED');
    expect(body.Reason).toContain(`${name}: ${message}. ${advice}`);
  });
});

const DOCKER_V2 = 'application/vnd.docker.distribution.manifest.v2+json';

describe('an image without a push time counts as the newest', () => {
  function listing() {
    const images = new Map([
      // Single-platform images (an image without a media type may be an index, whose manifest a selection reads).
      [d(1), { imageDigest: d(1), imageTags: ['old'], imagePushedAt: new Date(Date.UTC(2020, 0, 1)), imageManifestMediaType: DOCKER_V2 }],
      [d(2), { imageDigest: d(2), imageTags: ['older'], imagePushedAt: new Date(Date.UTC(2019, 0, 1)), imageManifestMediaType: DOCKER_V2 }],
      [d(3), { imageDigest: d(3), imageTags: ['unknown-age'], imageManifestMediaType: DOCKER_V2 }],
    ]);
    ecr.on(DescribeImagesCommand).callsFake(() => ({ imageDetails: [...images.values()] }));
    ecr.on(BatchDeleteImageCommand).callsFake((input) => ({
      imageIds: (input.imageIds ?? []).filter((id: { imageDigest?: string }) => images.delete(id.imageDigest ?? '')),
      failures: [],
    }));
    return images;
  }
  const selecting = (select: object) => ({
    ...emptier({ RepositoryLogicalId: undefined, RepositoryDeletionPolicy: undefined }),
    Select: select,
    DeleteOn: ['Update'],
  });

  test('olderThan never finds it old enough', async () => {
    const images = listing();
    await handle(event('Update', selecting({ Match: 'all', OlderThanSeconds: '86400' })));
    expect([...images.keys()]).toEqual([d(3)]);
  });

  test('keepNewest keeps it first', async () => {
    const images = listing();
    const body = await handle(event('Update', selecting({ Match: 'all', KeepNewest: '2' })));
    expect(body.Reason).toContain('3 images listed, 3 matched, 2 kept as newest');
    expect([...images.keys()].sort()).toEqual([d(1), d(3)]);
  });
});

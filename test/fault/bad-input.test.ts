/**
 * Bad input at run time: values that were tokens at synth time (or events no
 * construct would write) reach the handler. Each must give CloudFormation a
 * clear FAILED reason, with no call to ECR Public and no crash. A Create that
 * fails answers the marker physical ID, so that its rollback Delete does nothing.
 */
import { BatchDeleteImageCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { StackStateMock, mockStackState } from '../support/stack-state-mock';
import { handler } from '../../lambda/index';
import { CfnEvents } from '../support/cfn-events';
import { CREATE_FAILED_ID } from '../support/custom-resource-model';
import { EcrPublicEmulator, startEcrPublicEmulator } from '../../local/ecr-public';
import { BUNDLE, LocalStackState, RESPONSE_URL_SECRET, ResponseServer, invokeHandler } from '../support/local-cloudformation';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const valid = {
  RepositoryName: 'team/app',
  ImageIds: [{ imageTag: 'pr-1' }, { imageDigest: DIGEST }],
  DeleteOn: ['Create', 'Update', 'Delete'],
  FailOnImageFailure: 'true',
  ApiRegion: 'us-east-1',
};

interface BadInput {
  readonly what: string;
  /** Changes to the valid properties; `undefined` removes the property. */
  readonly change: Record<string, unknown>;
  /** Text the reason must contain: what is wrong, where, and what is allowed. */
  readonly reason: string | RegExp;
}

const hundredThousand = Array.from({ length: 100_000 }, (_, i) => ({ imageTag: `build-${i}` }));
const tenThousandBadDigests = Array.from({ length: 10_000 }, (_, i) => ({ imageDigest: `sha256:${i}` }));

const BAD_INPUTS: BadInput[] = [
  {
    what: 'a digest that is not sha256',
    change: { ImageIds: [{ imageDigest: 'sha256:abc' }] },
    reason: 'imageIds[0]: imageDigest "sha256:abc" is not a sha256 digest (expected sha256: followed by 64 lowercase hex characters)',
  },
  {
    what: 'a digest in upper case',
    change: { ImageIds: [{ imageTag: 'ok' }, { imageDigest: `sha256:${'C'.repeat(64)}` }] },
    reason: 'imageIds[1]: imageDigest "sha256:CCCC',
  },
  {
    what: 'a digest of another algorithm',
    change: { ImageIds: [{ imageDigest: `sha512:${'c'.repeat(128)}` }] },
    reason: 'imageIds[0]: imageDigest "sha512:',
  },
  { what: 'a tag of 301 characters', change: { ImageIds: [{ imageTag: 't'.repeat(301) }] }, reason: 'imageIds[0]: imageTag "tttt' },
  { what: 'an empty tag', change: { ImageIds: [{ imageTag: '' }] }, reason: 'imageIds[0]: imageTag "" has 0 characters (expected 1 to 300)' },
  { what: 'a tag that is not a string', change: { ImageIds: [{ imageTag: 42 }] }, reason: 'imageIds[0]: imageTag must be a string, got 42' },
  {
    what: 'an image ID with neither tag nor digest',
    change: { ImageIds: [{}] },
    reason: 'imageIds[0] has neither imageTag nor imageDigest (expected at least one)',
  },
  {
    what: 'an image ID with an unknown field',
    change: { ImageIds: [{ imageTag: 'a', tag: 'b' }] },
    reason: 'imageIds[0] has an unknown field "tag" (allowed: imageTag, imageDigest)',
  },
  {
    what: 'an image ID that is a string',
    change: { ImageIds: ['pr-1'] },
    reason: 'imageIds[0] must be an object with imageTag and/or imageDigest, got "pr-1"',
  },
  {
    what: 'an image ID that is null',
    change: { ImageIds: [null] },
    reason: 'imageIds[0] must be an object with imageTag and/or imageDigest, got null',
  },
  { what: 'an empty list of image IDs', change: { ImageIds: [] }, reason: 'imageIds is empty (expected at least one image ID' },
  { what: 'image IDs that are not a list (a string)', change: { ImageIds: 'pr-1' }, reason: 'imageIds must be a list of image IDs, got "pr-1"' },
  {
    what: 'image IDs that are not a list (one object)',
    change: { ImageIds: { imageTag: 'pr-1' } },
    reason: 'imageIds must be a list of image IDs, got {"imageTag":"pr-1"}',
  },
  {
    what: 'neither image IDs nor a selection',
    change: { ImageIds: undefined },
    reason: 'neither imageIds nor select is given (expected image IDs to delete, a selection, or both)',
  },
  {
    what: 'a list of 100,000 image IDs',
    change: { ImageIds: hundredThousand },
    reason: 'imageIds has 100000 entries (expected at most 10000; split the deletion over several resources)',
  },
  {
    what: '10,000 bad digests (the reason is cut, the response still fits)',
    change: { ImageIds: tenThousandBadDigests },
    reason:
      /^InvalidPropertiesError: invalid properties: imageIds\[0\]: imageDigest "sha256:0" is not a sha256 digest.*\[cut: see the function log\]$/,
  },
  { what: 'a registry ID of 5 digits', change: { RegistryId: '12345' }, reason: 'registryId "12345" is not an AWS account ID (expected 12 digits)' },
  {
    what: 'a registry ID that is an alias',
    change: { RegistryId: 'my-registry' },
    reason: 'registryId "my-registry" is not an AWS account ID (expected 12 digits)',
  },
  {
    what: 'an unknown event in deleteOn',
    change: { DeleteOn: ['Create', 'Destroy'] },
    reason: 'deleteOn has an unknown event "Destroy" (allowed: Create, Update, Delete)',
  },
  {
    what: 'deleteOn in lower case',
    change: { DeleteOn: ['delete'] },
    reason: 'deleteOn has an unknown event "delete" (allowed: Create, Update, Delete)',
  },
  { what: 'deleteOn that is not a list', change: { DeleteOn: 'Delete' }, reason: 'deleteOn must be a list of events, got "Delete"' },
  { what: 'an empty deleteOn', change: { DeleteOn: [] }, reason: 'deleteOn is empty: nothing would ever be deleted' },
  {
    what: 'failOnImageFailure that is not true or false',
    change: { FailOnImageFailure: 'yes' },
    reason: 'failOnImageFailure must be true or false, got "yes"',
  },
  {
    what: 'an API region without ECR Public',
    change: { ApiRegion: 'eu-west-1' },
    reason: 'apiRegion "eu-west-1" does not serve the ECR Public API (allowed: us-east-1, us-west-2)',
  },
  {
    what: 'a repository name in upper case',
    change: { RepositoryName: 'Team/App' },
    reason: 'repositoryName "Team/App" is not a valid ECR Public repository name',
  },
  { what: 'a missing repository name', change: { RepositoryName: undefined }, reason: 'repositoryName must be a string, got undefined' },
];

function withChange(change: Record<string, unknown>): Record<string, unknown> {
  const properties: Record<string, unknown> = { ...valid, ...change };
  for (const [key, value] of Object.entries(change)) if (value === undefined) delete properties[key];
  return properties;
}

const matches = (reason: string, expected: string | RegExp) => (typeof expected === 'string' ? reason.includes(expected) : expected.test(reason));

describe('bad input at run time, through the handler (SDK mocked)', () => {
  let ecr: ReturnType<typeof mockClient>;
  let cfn: StackStateMock;
  let server: ResponseServer;
  let events: CfnEvents;
  let logs: string[];

  beforeAll(async () => {
    ecr = mockClient(ECRPUBLICClient);
    cfn = mockStackState('UPDATE_IN_PROGRESS');
    ecr.on(BatchDeleteImageCommand).resolves({ imageIds: [], failures: [] });
    server = await ResponseServer.start();
    events = new CfnEvents(server, { logicalResourceId: 'BadInput' });
  });
  afterAll(async () => {
    ecr.restore();
    cfn.restore();
    await server.close();
  });
  beforeEach(() => {
    ecr.resetHistory();
    logs = [];
    jest.spyOn(console, 'log').mockImplementation((line: string) => void logs.push(line));
  });
  afterEach(() => jest.restoreAllMocks());

  async function handle(event: CloudFormationCustomResourceEvent) {
    await expect(handler(event, { getRemainingTimeInMillis: () => 300_000 })).resolves.toBeUndefined();
    return server.responseTo(event.RequestId);
  }

  describe.each(BAD_INPUTS)('$what', ({ change, reason }) => {
    test('Create: FAILED with the reason and the marker physical ID, no call', async () => {
      const response = await handle(events.create(withChange(change)));
      expect(response.body.Status).toBe('FAILED');
      expect(response.body.PhysicalResourceId).toBe(CREATE_FAILED_ID);
      expect({ reason: response.body.Reason, matches: matches(response.body.Reason, reason) }).toEqual({
        reason: response.body.Reason,
        matches: true,
      });
      expect(response.bytes).toBeLessThan(4096);
      expect(response.body.Data).toBeUndefined();
      expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
      // One log line, with the same reason, and without the ResponseURL.
      expect(logs).toHaveLength(1);
      expect(JSON.parse(logs[0])).toMatchObject({ status: 'FAILED', action: 'invalid', calls: 0 });
      expect(logs[0]).not.toContain(RESPONSE_URL_SECRET);
    });

    test('Update: FAILED with the reason, the physical ID kept, no call', async () => {
      const response = await handle(events.update('EcrPublicImageDeletion-BadInput-earlier', withChange(change), valid));
      expect(response.body).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'EcrPublicImageDeletion-BadInput-earlier' });
      expect(matches(response.body.Reason, reason)).toBe(true);
      expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
    });
  });

  test('the rollback Delete of a failed Create does nothing, whatever its properties', async () => {
    for (const { change } of BAD_INPUTS) {
      const response = await handle(events.delete(CREATE_FAILED_ID, withChange(change)));
      expect(response.body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: CREATE_FAILED_ID });
    }
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
  });

  test('an unknown RequestType: FAILED, saying which types exist, no call', async () => {
    const event = {
      ...events.update('EcrPublicImageDeletion-BadInput-earlier', valid, valid),
      RequestType: 'Rollback',
    } as unknown as CloudFormationCustomResourceEvent;
    const response = await handle(event);
    expect(response.body).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'EcrPublicImageDeletion-BadInput-earlier' });
    expect(response.body.Reason).toContain('RequestType "Rollback"');
    expect(response.body.Reason).toContain('Create, Update, Delete');
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
  });

  test('no ResourceProperties at all: FAILED, saying so, no call', async () => {
    const event = { ...events.create(valid), ResourceProperties: undefined } as unknown as CloudFormationCustomResourceEvent;
    const response = await handle(event);
    expect(response.body).toMatchObject({ Status: 'FAILED', PhysicalResourceId: CREATE_FAILED_ID });
    expect(response.body.Reason).toContain('resource properties must be an object, got undefined');
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
  });
});

describe('bad input at run time, through the shipped bundle', () => {
  let server: ResponseServer;
  let emulator: EcrPublicEmulator;
  let stack: LocalStackState;
  let events: CfnEvents;

  beforeAll(async () => {
    server = await ResponseServer.start();
    // Any call would reach the emulator (and fail: it holds no repository); none may.
    emulator = await startEcrPublicEmulator();
    // A FAILED verdict asks whether the stack is rolling back.
    stack = await LocalStackState.start();
    events = new CfnEvents(server, { logicalResourceId: 'BadInput' });
  });
  afterAll(async () => {
    await stack.close();
    await emulator.close();
    await server.close();
  });

  test.each(BAD_INPUTS.filter((b) => /100,000|not a list \(a string\)|sha256|Destroy|5 digits|301/.test(b.what)))(
    '$what: FAILED with the reason, no call, no crash',
    async ({ change, reason }) => {
      const result = await invokeHandler(server, events.create(withChange(change)), {
        bundle: BUNDLE,
        env: { AWS_ENDPOINT_URL_ECR_PUBLIC: emulator.endpoint, ECR_PUBLIC_REGISTRY_ENDPOINT: emulator.registryEndpoint, ...stack.env },
      });
      expect(result.exitCode).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.response?.body).toMatchObject({ Status: 'FAILED', PhysicalResourceId: CREATE_FAILED_ID });
      expect(matches(result.response!.body.Reason, reason)).toBe(true);
      expect(result.response!.bytes).toBeLessThan(4096);
      expect(emulator.requests()).toHaveLength(0);
      expect(result.stdout).not.toContain(RESPONSE_URL_SECRET);
    },
    30_000,
  );
});

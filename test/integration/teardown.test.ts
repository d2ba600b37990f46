/**
 * The scenarios of an emptier's life, as CloudFormation plays them: event
 * sequences sent to the shipped bundle (assets/handler/index.js) in its own
 * process, against the local ECR Public and a local CloudFormation that
 * answers the handler's stack-state calls with the stack's status and
 * template at the moment each event is sent.
 *
 * - Renaming, moving or removing an emptier, or a rollback that removes a
 *   newly added one, leaves the repository's images untouched.
 * - Deleting the stack, or removing the repository from it, empties it.
 * - No event fails during a rollback.
 * - Every event is answered, under 4,096 bytes, before its deadline, and its
 *   log line lists what was deleted.
 *
 * @jest-environment ./test/support/failure-aware-environment.ts
 */
import { randomUUID } from 'node:crypto';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { createRepository, listImages, seedImage } from '../support/local-ecr-public';
import { LocalStack, RESPONSE_URL_SECRET, invokeHandler } from '../support/local-cloudformation';
import { CfnEvents } from '../support/cfn-events';
import { useLocalRig } from '../support/local-rig';
import { printFiguresOnFailure } from '../support/figures';

/** The function's timeout as the tests give it: every answer must come before it. */
const REMAINING_MS = 60_000;

/** Figures of the scenarios played, printed only when a test failed. */
const figures = { sequences: 0, events: 0, emptied: 0, keptWhole: 0, rollbackEvents: 0, maxResponseBytes: 0, maxDurationMs: 0 };
printFiguresOnFailure('teardown scenarios', () => figures);

type Template = LocalStack['template'];
const REPO: Template['Resources'][string] = { Type: 'AWS::ECR::PublicRepository' };
const CR: Template['Resources'][string] = { Type: 'Custom::EcrPublicImageDeletion' };
const templateOf = (...ids: string[]): Template => ({ Resources: Object.fromEntries(ids.map((id) => [id, id.startsWith('Repo') ? REPO : CR])) });

describe('an emptier through its lifecycle, played by CloudFormation', () => {
  let repoCount = 0;

  const rig = useLocalRig();

  /** One stack: its ID, and its events sent at a given status and template. */
  class PlayedStack {
    readonly id = `arn:aws:cloudformation:eu-west-1:123456789012:stack/teardown-${figures.sequences}/${randomUUID()}`;
    private readonly physicalIds = new Map<string, string>();

    constructor(readonly repository: string) {
      figures.sequences++;
    }

    /** The properties emptyOnDelete writes for a repository of this stack (or, with `nameOnly`, of another). */
    emptier(options: { nameOnly?: boolean; deletionPolicy?: string } = {}): object {
      return {
        RepositoryName: this.repository,
        Select: { Match: 'all' },
        DeleteOn: ['Delete'],
        FailOnImageFailure: 'true',
        DryRun: 'false',
        ApiRegion: 'us-east-1',
        ...(options.nameOnly ? {} : { RepositoryLogicalId: 'Repo', RepositoryDeletionPolicy: options.deletionPolicy ?? 'Delete' }),
      };
    }

    /** Sends one event with the stack in `status` and `template`; checks what every answer must be, and returns it. */
    async send(
      requestType: 'Create' | 'Update' | 'Delete',
      logicalId: string,
      properties: object,
      status: string,
      template: Template,
      oldProperties?: object,
    ) {
      figures.events++;
      if (status.includes('ROLLBACK')) figures.rollbackEvents++;
      rig().stack.set(this.id, status, template);
      const events = new CfnEvents(rig().server, { stackId: this.id, logicalResourceId: logicalId });
      const physical = this.physicalIds.get(logicalId) ?? 'never-created';
      const event: CloudFormationCustomResourceEvent =
        requestType === 'Create'
          ? events.create(properties)
          : requestType === 'Delete'
            ? events.delete(physical, properties)
            : events.update(physical, properties, oldProperties ?? properties);
      const before = await listImages(rig().client, this.repository).catch(() => new Map<string, string[]>());
      const result = await invokeHandler(rig().server, event, { env: rig().env, remainingMs: REMAINING_MS });
      const context = `${requestType} ${logicalId} during ${status}`;

      // Answered, small enough, in time, with one log line that says what went.
      expect({ context, exitCode: result.exitCode, stderr: result.stderr }).toEqual({ context, exitCode: 0, stderr: '' });
      expect(result.response).toBeDefined();
      const { body, bytes } = result.response!;
      expect(bytes).toBeLessThan(4096);
      expect(result.durationMs).toBeLessThan(REMAINING_MS);
      figures.maxResponseBytes = Math.max(figures.maxResponseBytes, bytes);
      figures.maxDurationMs = Math.max(figures.maxDurationMs, result.durationMs);
      expect(result.stdout).not.toContain(RESPONSE_URL_SECRET);
      const lines = result.stdout.split('\n').filter((line) => line.startsWith('{'));
      expect(lines).toHaveLength(1);
      const log = JSON.parse(lines[0]) as { deleted: number; deletedImageIds: Array<{ imageDigest?: string }>; status: string };
      const after = await listImages(rig().client, this.repository).catch(() => new Map<string, string[]>());
      const gone = [...before.keys()].filter((digest) => !after.has(digest));
      expect(new Set(log.deletedImageIds.map((id) => id.imageDigest))).toEqual(new Set(gone));
      expect(log.status).toBe(body.Status);
      // No event fails during a rollback.
      if (status.includes('ROLLBACK')) expect({ context, status: body.Status }).toEqual({ context, status: 'SUCCESS' });
      if (body.Status === 'SUCCESS') this.physicalIds.set(logicalId, body.PhysicalResourceId);
      return { body, gone, log };
    }
  }

  async function newStack(images = 3): Promise<PlayedStack> {
    const repository = `teardown/repo-${++repoCount}`;
    await createRepository(rig().client, repository);
    for (let i = 0; i < images; i++) await seedImage(rig().client, repository, `${repository}#${i}`, [`v${i}`]);
    return new PlayedStack(repository);
  }

  const imagesOf = async (stack: PlayedStack) => (await listImages(rig().client, stack.repository)).size;
  const keptWhole = async (stack: PlayedStack, count = 3) => {
    expect(await imagesOf(stack)).toBe(count);
    figures.keptWhole++;
  };
  const emptied = async (stack: PlayedStack) => {
    expect(await imagesOf(stack)).toBe(0);
    figures.emptied++;
  };

  test('renaming an emptier (a new logical ID) leaves the images; deleting the stack then empties the repository', async () => {
    const stack = await newStack();
    await stack.send('Create', 'Emptier', stack.emptier(), 'CREATE_IN_PROGRESS', templateOf('Repo', 'Emptier'));
    // The renamed one is created during the update, the old one deleted in its cleanup.
    await stack.send('Create', 'EmptierRenamed', stack.emptier(), 'UPDATE_IN_PROGRESS', templateOf('Repo', 'EmptierRenamed'));
    const cleanup = await stack.send(
      'Delete',
      'Emptier',
      stack.emptier(),
      'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
      templateOf('Repo', 'EmptierRenamed'),
    );
    expect(cleanup.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletionRan: 'false', DeletedCount: '0' } });
    expect(cleanup.body.Reason).toContain('repository Repo stays in the stack');
    await keptWhole(stack);
    const deleted = await stack.send('Delete', 'EmptierRenamed', stack.emptier(), 'DELETE_IN_PROGRESS', templateOf('Repo', 'EmptierRenamed'));
    expect(deleted.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '3', DeletionRan: 'true' } });
    expect(deleted.log.deleted).toBe(3);
    await emptied(stack);
  });

  test('moving an emptier to another construct, or to another stack (where it has the name only), leaves the images', async () => {
    const stack = await newStack();
    await stack.send('Create', 'Emptier', stack.emptier(), 'CREATE_IN_PROGRESS', templateOf('Repo', 'Emptier'));
    await stack.send('Create', 'NestedEmptierB7C1', stack.emptier(), 'UPDATE_IN_PROGRESS', templateOf('Repo', 'NestedEmptierB7C1'));
    await stack.send('Delete', 'Emptier', stack.emptier(), 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', templateOf('Repo', 'NestedEmptierB7C1'));
    await keptWhole(stack);
    // Another stack takes it over, by name (a cross-stack reference): its own template has no repository.
    const other = new PlayedStack(stack.repository);
    await other.send('Create', 'Emptier', other.emptier({ nameOnly: true }), 'CREATE_IN_PROGRESS', templateOf('Emptier'));
    await stack.send('Delete', 'NestedEmptierB7C1', stack.emptier(), 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', templateOf('Repo'));
    await keptWhole(stack);
    // That other stack's emptier leaves it in an update: still no emptying.
    await other.send('Delete', 'Emptier', other.emptier({ nameOnly: true }), 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', templateOf());
    await keptWhole(stack);
  });

  test('removing an emptier from a stack that keeps the repository leaves the images', async () => {
    const stack = await newStack();
    await stack.send('Create', 'Emptier', stack.emptier(), 'CREATE_IN_PROGRESS', templateOf('Repo', 'Emptier'));
    const removed = await stack.send('Delete', 'Emptier', stack.emptier(), 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', templateOf('Repo'));
    expect(removed.body.Status).toBe('SUCCESS');
    expect(removed.log.deleted).toBe(0);
    await keptWhole(stack);
  });

  test('removing the repository (and its emptier) from the stack empties it, so CloudFormation can delete it', async () => {
    const stack = await newStack();
    await stack.send('Create', 'Emptier', stack.emptier(), 'CREATE_IN_PROGRESS', templateOf('Repo', 'Emptier'));
    const removed = await stack.send('Delete', 'Emptier', stack.emptier(), 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', templateOf('Other'));
    expect(removed.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '3' } });
    expect(removed.body.Reason).toContain('repository Repo has left the stack');
    await emptied(stack);
  });

  test('a repository with DeletionPolicy Retain is not emptied when the stack is deleted', async () => {
    const stack = await newStack();
    const props = stack.emptier({ deletionPolicy: 'Retain' });
    await stack.send('Create', 'Emptier', props, 'CREATE_IN_PROGRESS', templateOf('Repo', 'Emptier'));
    await stack.send('Delete', 'Emptier', props, 'DELETE_IN_PROGRESS', templateOf('Repo', 'Emptier'));
    await keptWhole(stack);
  });

  test('a rollback that removes a newly added emptier leaves the images', async () => {
    const stack = await newStack();
    // The update adds the emptier; another resource fails; the rollback removes the emptier in its cleanup.
    await stack.send('Create', 'Emptier', stack.emptier(), 'UPDATE_IN_PROGRESS', templateOf('Repo', 'Emptier', 'Broken'));
    const rolledBack = await stack.send('Delete', 'Emptier', stack.emptier(), 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', templateOf('Repo'));
    expect(rolledBack.body.Status).toBe('SUCCESS');
    await keptWhole(stack);
  });

  test('a stack whose creation fails is rolled back: its repository is emptied with it', async () => {
    const stack = await newStack();
    await stack.send('Create', 'Emptier', stack.emptier(), 'CREATE_IN_PROGRESS', templateOf('Repo', 'Emptier', 'Broken'));
    await stack.send('Delete', 'Emptier', stack.emptier(), 'ROLLBACK_IN_PROGRESS', templateOf('Repo', 'Emptier', 'Broken'));
    await emptied(stack);
  });

  test('an Update on a missing repository fails; its rollback, on the same missing repository, succeeds', async () => {
    const stack = await newStack(1);
    const declared = (repository: string) => ({
      RepositoryName: repository,
      ImageIds: [{ imageTag: 'v0' }],
      DeleteOn: ['Update'],
      FailOnImageFailure: 'true',
      ApiRegion: 'us-east-1',
    });
    const old = declared('teardown/never-created-old');
    await stack.send('Create', 'Declared', old, 'CREATE_IN_PROGRESS', templateOf('Declared'));
    const next = declared('teardown/never-created-new');
    const failed = await stack.send('Update', 'Declared', next, 'UPDATE_IN_PROGRESS', templateOf('Declared'), old);
    expect(failed.body.Status).toBe('FAILED');
    expect(failed.body.Reason).toContain('RepositoryNotFoundException');
    const rollback = await stack.send('Update', 'Declared', old, 'UPDATE_ROLLBACK_IN_PROGRESS', templateOf('Declared'), next);
    expect(rollback.body.Status).toBe('SUCCESS');
    expect(rollback.body.Reason).toMatch(/^reported, not failed, because the stack is UPDATE_ROLLBACK_IN_PROGRESS/);
    await keptWhole(stack, 1);
  });

  test('a stack state that cannot be read keeps every image, even when the stack is being deleted', async () => {
    const stack = await newStack();
    await stack.send('Create', 'Emptier', stack.emptier(), 'CREATE_IN_PROGRESS', templateOf('Repo', 'Emptier'));
    rig().stack.refuse = 10;
    try {
      const refused = await stack.send('Delete', 'Emptier', stack.emptier(), 'DELETE_IN_PROGRESS', templateOf('Repo', 'Emptier'));
      expect(refused.body.Status).toBe('SUCCESS');
      expect(refused.body.Reason).toContain("the stack's state could not be read (AccessDenied");
    } finally {
      rig().stack.refuse = 0;
    }
    await keptWhole(stack);
  });

  test('the handler asks about its own stack only', () => {
    const asked = new Set(rig().stack.requests.map((r) => r.stackName));
    expect([...asked].every((name) => name.startsWith('arn:aws:cloudformation:eu-west-1:123456789012:stack/teardown-'))).toBe(true);
    expect(new Set(rig().stack.requests.map((r) => r.action))).toEqual(new Set(['DescribeStacks', 'GetTemplate']));
  });
});

/**
 * The runner of the model-based lifecycles (model-lifecycles.test.ts): plays
 * one generated sequence through the shipped bundle against the local rig and,
 * side by side, against the reference model; every step throws (an expect
 * failure) at the first divergence.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { CfnEvents, STACK_ID } from '../support/cfn-events';
import {
  CREATE_FAILED_ID,
  ModelEvent,
  ModelOutcome,
  ModelProperties,
  applyEvent,
  deletesRepository,
  expectedReason,
} from '../support/custom-resource-model';
import { EcrPublicModel, ModelImageId, RegistrySnapshot, undeclaredLosses } from '../support/ecr-model';
import { printFiguresOnFailure } from '../support/figures';
import { CfnResponseBody, RESPONSE_URL_SECRET, invokeHandler } from '../support/local-cloudformation';
import { createRepository, listImages, seedImage } from '../support/local-ecr-public';
import type { LocalRig } from '../support/local-rig';
import { END_STATE, LifecycleSpec, Middle, PropsSpec, SequenceSpec, TAG_POOL, idKey, sortedKeys, toProperties } from './lifecycle-arbitraries';

/** Figures for the closing note. */
export const figures = {
  sequences: 0,
  events: 0,
  selectionEvents: 0,
  teardownDeletes: 0,
  emptiedByTeardown: 0,
  keptByGuard: 0,
  rollbackEvents: 0,
  rolledBackFailures: 0,
  retries: 0,
  failedCreates: 0,
  failedUpdates: 0,
  pushes: 0,
  undeclaredLosses: 0,
  modelRuns: 0,
  batchRuns: 0,
};

printFiguresOnFailure('model-based lifecycles', () => figures);

/** The last event of a lifecycle that may be delivered again (a retry), and whether it ran. */
interface LastEvent {
  readonly event: CloudFormationCustomResourceEvent;
  readonly modelEvent: ModelEvent;
  readonly ok: boolean;
}

/** Plays one generated sequence in its own repository; `run` throws at the first divergence. */
/** Where a lifecycle stands between its middle steps: its properties, its last event and its physical ID. */
interface Current {
  readonly spec: PropsSpec;
  readonly props: ModelProperties;
  readonly last: LastEvent;
  readonly physicalId: string;
}

export class SequenceRun {
  private readonly model = new EcrPublicModel();
  private readonly digests: string[] = [];
  private readonly events: CfnEvents;

  constructor(
    private readonly rig: LocalRig,
    private readonly repo: string,
  ) {
    this.events = new CfnEvents(rig.server);
  }

  async run(spec: SequenceSpec): Promise<void> {
    figures.sequences++;
    await createRepository(this.rig.client, this.repo);
    this.model.createRepository(this.repo);
    let next = 0;
    for (const count of spec.repository.tagCounts) {
      await this.push(spec.repository.tagOrder.slice(next, next + count));
      next += count;
    }
    expect(await listImages(this.rig.client, this.repo)).toEqual(this.model.snapshot(this.repo));
    for (const lifecycle of spec.lifecycles) await this.lifecycle(lifecycle);
  }

  private async push(tags: string[]): Promise<void> {
    const digest = await seedImage(this.rig.client, this.repo, `${this.repo}#${this.digests.length}`, tags);
    this.digests.push(digest);
    for (const tag of tags) this.model.putImage(this.repo, digest, tag);
  }

  /** One resource: Create (and its rollback Delete when it fails), the middle steps, the end. */
  private async lifecycle(lifecycle: LifecycleSpec): Promise<void> {
    const { repo, events } = this;
    let props = toProperties(lifecycle.create, repo, this.digests);
    let wire: object = props;
    let invalid = false;
    if (lifecycle.createFailure === 'missingRepository') {
      props = { ...props, RepositoryName: `${repo}-never-created` };
      wire = props;
    } else if (lifecycle.createFailure === 'invalid') {
      wire = { ...props, ImageIds: [...(props.ImageIds ?? []), { imageDigest: 'sha256:not-a-digest' }] };
      invalid = true;
    } else if (lifecycle.createFailure === 'controlCharacter') {
      // A tag with a control character: refused before any call (it used to reach ECR Public, and the reason loop).
      wire = { ...props, ImageIds: [...(props.ImageIds ?? []), { imageTag: `pr\u0000${'\u0001'.repeat(299)}` }] };
      invalid = true;
    }
    const accessDenied = lifecycle.createFailure === 'accessDenied' && props.DeleteOn.includes('Create');
    const createEvent = events.create(wire);
    const created = await this.step(
      createEvent,
      { requestType: 'Create', properties: props, invalid, accessDenied },
      accessDenied ? 'accessDenied' : undefined,
    );
    if (created.body.Status === 'FAILED') {
      figures.failedCreates++;
      await this.step(events.delete(created.body.PhysicalResourceId, wire), {
        requestType: 'Delete',
        properties: props,
        physicalResourceId: CREATE_FAILED_ID,
        invalid,
      });
      return;
    }
    const physicalId = created.body.PhysicalResourceId;
    const last: LastEvent = { event: createEvent, modelEvent: { requestType: 'Create', properties: props }, ok: true };
    if (lifecycle.retryCreate) {
      figures.retries++;
      const again = await this.step(createEvent, last.modelEvent);
      expect(again.body.PhysicalResourceId).toBe(physicalId);
    }

    // --- Updates, retries and pushes ---
    let current: Current = { spec: lifecycle.create, props, last, physicalId };
    for (const middle of lifecycle.middle) current = await this.middle(middle, current);
    await this.end(lifecycle, current.physicalId, current.props);
  }

  /** One middle step: a push, a retry of the last event, or an Update (rolled back when it fails). */
  private async middle(middle: Middle, current: Current): Promise<Current> {
    const { props, last, physicalId } = current;
    if (middle.kind === 'push') {
      const present = new Set([...this.model.snapshot(this.repo).values()].flat());
      const fresh = TAG_POOL.filter((tag) => !present.has(tag));
      const tags = [...fresh.slice(middle.pick % Math.max(1, fresh.length)), ...fresh].slice(0, middle.tags);
      if (tags.length > 0) {
        figures.pushes++;
        await this.push([...new Set(tags)]);
      }
      return current;
    }
    if (middle.kind === 'retry') {
      if (!last.ok) return current;
      figures.retries++;
      await this.step(last.event, last.modelEvent);
      return current;
    }
    const nextSpec: PropsSpec = { ...current.spec, decl: middle.decl ?? current.spec.decl, deleteOn: middle.deleteOn ?? current.spec.deleteOn };
    const nextProps = toProperties(nextSpec, this.repo, this.digests);
    const updateEvent = this.events.update(physicalId, nextProps, props);
    const fails = middle.fails && nextProps.DeleteOn.includes('Update');
    const updated = await this.step(
      updateEvent,
      { requestType: 'Update', properties: nextProps, oldProperties: props, physicalResourceId: physicalId, accessDenied: fails },
      fails ? 'accessDenied' : undefined,
    );
    // An emptier moved to another repository answers another physical ID (checkAnswer); CloudFormation would then
    // delete the old one at cleanup, which this model does not play (test/integration/teardown.test.ts does).
    if (updated.body.Status === 'FAILED') expect(updated.body.PhysicalResourceId).toBe(physicalId);
    if (updated.body.Status === 'FAILED') {
      // CloudFormation rolls back: an Update back to the old properties, the failed ones as OldResourceProperties.
      // The rollback may be refused too: it must succeed all the same.
      figures.failedUpdates++;
      const rollback = this.events.update(physicalId, props, nextProps);
      const refused = middle.rollbackFails && props.DeleteOn.includes('Update');
      const rollbackEvent: ModelEvent = {
        requestType: 'Update',
        properties: props,
        physicalResourceId: physicalId,
        stackStatus: 'UPDATE_ROLLBACK_IN_PROGRESS',
        accessDenied: refused,
      };
      const rolledBack = await this.step(rollback, rollbackEvent, refused ? 'accessDenied' : undefined);
      expect(rolledBack.body.Status).toBe('SUCCESS');
      return {
        spec: current.spec,
        props,
        physicalId,
        last: {
          event: rollback,
          modelEvent: { requestType: 'Update', properties: props, oldProperties: nextProps, physicalResourceId: physicalId },
          ok: !refused,
        },
      };
    }
    return {
      spec: nextSpec,
      props: nextProps,
      physicalId: updated.body.PhysicalResourceId,
      last: {
        event: updateEvent,
        modelEvent: { requestType: 'Update', properties: nextProps, oldProperties: props, physicalResourceId: physicalId },
        ok: true,
      },
    };
  }

  /** The end: a Delete in the stack's state of that ending, possibly delivered twice. */
  private async end(lifecycle: LifecycleSpec, physicalId: string, props: ModelProperties): Promise<void> {
    if (lifecycle.end === 'none') return;
    const deleteEvent = this.events.delete(physicalId, props);
    const modelDelete: ModelEvent = { requestType: 'Delete', properties: props, physicalResourceId: physicalId, ...END_STATE[lifecycle.end] };
    const emptier = props.Select?.Match === 'all';
    if (emptier) figures.teardownDeletes++;
    const ended = await this.step(deleteEvent, modelDelete);
    if (emptier && props.DeleteOn.includes('Delete')) {
      // The registry is then empty, but for protected images, or untouched by the selection: the step compared it with the model.
      if (deletesRepository(modelDelete)) figures.emptiedByTeardown++;
      else figures.keptByGuard++;
      if (ended.body.Status === 'SUCCESS' && !deletesRepository(modelDelete) && !props.ImageIds) expect(ended.body.Data?.DeletionRan).toBe('false');
    }
    if (lifecycle.end === 'twice') {
      figures.retries++;
      await this.step(deleteEvent, modelDelete);
    }
  }

  /** Sends one event to the bundle and the model and compares everything that must agree. */
  private async step(
    event: CloudFormationCustomResourceEvent,
    modelEvent: ModelEvent,
    forced?: 'accessDenied',
  ): Promise<{ body: CfnResponseBody; expected: ModelOutcome }> {
    const { rig, repo } = this;
    figures.events++;
    if (modelEvent.properties.Select) figures.selectionEvents++;
    if ((modelEvent.stackStatus ?? '').includes('ROLLBACK')) figures.rollbackEvents++;
    // The stack as CloudFormation holds it when it sends this event.
    // The repository is in the stack (listed while it is deleted, after it left the template) under the name the event's
    // properties carry: the construct writes RepositoryLogicalId only when RepositoryName is that repository's Ref, so
    // CloudFormation resolves the name to the physical ID the repository had when this resource was last created or
    // updated (the name of a missing repository too). A Delete naming another repository than the stack lists is the
    // Delete of a replaced repository, which this model does not play (test/integration/teardown.test.ts does).
    rig.stack.set(
      STACK_ID,
      modelEvent.stackStatus ?? 'UPDATE_IN_PROGRESS',
      { Resources: modelEvent.templateHasRepository === false ? {} : { Repo: { Type: 'AWS::ECR::PublicRepository' } } },
      { Repo: modelEvent.properties.RepositoryName },
    );
    const before: RegistrySnapshot = await listImages(rig.client, repo);
    const expected: ModelOutcome = applyEvent(this.model, modelEvent);
    const requestsBefore = rig.faults.requests.length;
    const stale = rig.server.peek(event.RequestId);
    if (forced) rig.faults.forced.push(forced);
    const result = await invokeHandler(rig.server, event, { env: rig.env });
    rig.faults.forced.length = 0;
    const context = `${event.RequestType} ${JSON.stringify(event.ResourceProperties)}`;

    expect({ context, exitCode: result.exitCode, stderr: result.stderr }).toEqual({ context, exitCode: 0, stderr: '' });
    expect(result.stdout).not.toContain(RESPONSE_URL_SECRET);
    const response = result.response;
    expect(response && response !== stale).toBe(true);
    const body = response!.body;
    checkAnswer(context, event, body, expected, modelEvent);
    checkRequests(context, rig.faults.requests.slice(requestsBefore), expected, modelEvent);

    const after = await listImages(rig.client, repo);
    const losses = undeclaredLosses(before, after, expected.calls ? expected.sent : []);
    figures.undeclaredLosses += losses.length;
    expect({ context, losses }).toEqual({ context, losses: [] });
    expect({ context, registry: after }).toEqual({ context, registry: this.model.snapshot(repo) });
    return { body, expected };
  }
}

/** The response: status, reason, physical ID and attributes as the model says. */
function checkAnswer(
  context: string,
  event: CloudFormationCustomResourceEvent,
  body: CfnResponseBody,
  expected: ModelOutcome,
  modelEvent: ModelEvent,
): void {
  expect({ context, status: body.Status, reason: body.Reason }).toEqual({
    context,
    status: expected.status,
    reason: expect.stringMatching(expectedReason(expected, modelEvent)),
  });
  if (expected.rolledBackFailure) figures.rolledBackFailures++;
  if (expected.physicalResourceId === 'new') {
    expect(body.PhysicalResourceId).toBe(`EcrPublicImageDeletion-${event.LogicalResourceId}-${event.RequestId}`);
  } else if (expected.physicalResourceId === 'replaced') {
    expect(body.PhysicalResourceId).not.toBe((event as { PhysicalResourceId?: string }).PhysicalResourceId);
  } else {
    expect(body.PhysicalResourceId).toBe(expected.physicalResourceId);
  }
  if (body.Status === 'SUCCESS') {
    expect(body.Data?.DeletionRan).toBe(String(expected.deletionRan));
  }
  if (body.Status === 'SUCCESS' && expected.answer) {
    const data = body.Data!;
    expect({ context, deleted: data.DeletedCount, failures: data.FailureCount }).toEqual({
      context,
      deleted: String(expected.answer.imageIds.length),
      failures: String(expected.answer.failures.length),
    });
    if (data.Truncated === 'false') {
      expect(sortedKeys(JSON.parse(data.ImageIds))).toEqual(sortedKeys(expected.answer.imageIds));
      const failures = JSON.parse(data.Failures) as Array<{ imageId: ModelImageId; failureCode: string }>;
      expect(failures.map((f) => `${f.failureCode} ${idKey(f.imageId)}`).sort()).toEqual(
        expected.answer.failures.map((f) => `${f.failureCode} ${idKey(f.imageId)}`).sort(),
      );
    }
  }
}

/** What the handler asked of ECR Public: nothing when it must not call; otherwise only declared IDs, each of them. */
function checkRequests(
  context: string,
  requests: ReadonlyArray<{ readonly operation: string; readonly body: string }>,
  expected: ModelOutcome,
  modelEvent: ModelEvent,
): void {
  if (!expected.calls) {
    expect({ context, requests: requests.length }).toEqual({ context, requests: 0 });
    return;
  }
  const allowed = new Set(expected.sent.map(idKey));
  const deletes = requests.filter((r) => r.operation === 'SpencerFrontendService.BatchDeleteImage');
  const sent = deletes.flatMap((r) => (JSON.parse(r.body) as { imageIds: ModelImageId[] }).imageIds.map(idKey));
  expect(sent.filter((key) => !allowed.has(key))).toEqual([]);
  expect([...new Set(sent)].sort()).toEqual([...allowed].sort());
  // The listing is read only for a selection that runs (and the repository's URI, once, when it reads manifests).
  const others = requests.filter((r) => r.operation !== 'SpencerFrontendService.BatchDeleteImage').map((r) => r.operation);
  const reads = ['SpencerFrontendService.DescribeImages', 'SpencerFrontendService.DescribeRepositories'];
  expect(others.every((o) => reads.includes(o)) && others.filter((o) => o === reads[1]).length <= 1).toBe(true);
  if (others.length > 0) expect(modelEvent.properties.Select).toBeDefined();
}

import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { SCHEDULED_EVENT_SOURCE, ScheduledEvent } from '../../lib/contract';
import { FAILED_CREATE_PHYSICAL_ID, isScheduledEvent, planEvent, planScheduledRun } from '../../lambda/plan';

const props = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:handler',
  RepositoryName: 'app',
  ImageIds: [{ imageTag: 'pr-1' }, { imageTag: 'pr-1' }, { imageTag: 'pr-2' }],
  DeleteOn: ['Create', 'Update', 'Delete'],
  FailOnImageFailure: 'true',
  ApiRegion: 'us-east-1',
};
const base = {
  ServiceToken: props.ServiceToken,
  ResponseURL: 'https://example.invalid/response',
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1',
  RequestId: 'req-1',
  LogicalResourceId: 'PrImages',
  ResourceType: 'Custom::EcrPublicImageDeletion',
};
const create = (p: object = props): CloudFormationCustomResourceEvent => ({ ...base, RequestType: 'Create', ResourceProperties: { ...props, ...p } });
const update = (p: object = props): CloudFormationCustomResourceEvent => ({
  ...base,
  RequestType: 'Update',
  PhysicalResourceId: 'existing-id',
  ResourceProperties: { ...props, ...p },
  OldResourceProperties: props,
});
const del = (p: object = props, physicalId = 'existing-id'): CloudFormationCustomResourceEvent => ({
  ...base,
  RequestType: 'Delete',
  PhysicalResourceId: physicalId,
  ResourceProperties: { ...props, ...p },
});

describe('planning an event', () => {
  test('a Create deletes the declared images, repeats sent once, under a new physical ID', () => {
    const plan = planEvent(create());
    expect(plan).toMatchObject({
      action: 'delete',
      requestType: 'Create',
      imageIds: [{ imageTag: 'pr-1' }, { imageTag: 'pr-2' }],
      duplicatesCollapsed: 1,
      physicalResourceId: 'EcrPublicImageDeletion-PrImages-req-1',
    });
  });

  test('an Update keeps the physical ID it was given', () => {
    expect(planEvent(update({ ImageIds: [{ imageTag: 'new' }] }))).toMatchObject({
      action: 'delete',
      physicalResourceId: 'existing-id',
      imageIds: [{ imageTag: 'new' }],
    });
  });

  test.each([
    ['Create', create],
    ['Update', update],
    ['Delete', del],
  ] as const)('an event not in deleteOn (%s) makes no call', (type, make) => {
    const others = ['Create', 'Update', 'Delete'].filter((t) => t !== type);
    const plan = planEvent(make({ DeleteOn: others }));
    expect(plan).toEqual({ action: 'skip', physicalResourceId: expect.any(String), why: `deleteOn (${others.join(', ')}) does not include ${type}` });
    const runs = planEvent(make({ DeleteOn: [type] }));
    expect(runs.action).toBe('delete');
  });

  test('the Delete that follows a failed Create does nothing, whatever its properties', () => {
    const plan = planEvent(del({ ImageIds: 'not even a list' }, FAILED_CREATE_PHYSICAL_ID));
    expect(plan).toMatchObject({ action: 'skip', physicalResourceId: FAILED_CREATE_PHYSICAL_ID });
  });

  test('invalid properties throw before any call, naming the property', () => {
    expect(() => planEvent(create({ ImageIds: [{ imageDigest: 'sha256:abc' }] }))).toThrow(
      'imageIds[0]: imageDigest "sha256:abc" is not a sha256 digest',
    );
    expect(() => planEvent(update({ RepositoryName: 'UPPER' }))).toThrow('repositoryName "UPPER"');
  });

  test('a Delete with properties that break a rule deletes nothing and succeeds, so the stack is not stuck in DELETE_FAILED', () => {
    // Properties accepted by an older version (a tag with a space) can break a rule of this one.
    const plan = planEvent(del({ ImageIds: [{ imageTag: 'pr 1' }] }));
    expect(plan.action).toBe('skip');
    expect(plan.action === 'skip' && plan.why).toMatch(
      /^the properties break a rule, so nothing is deleted \(invalid properties: imageIds\[0\]: imageTag "pr 1" has U\+0020 at index 2/,
    );
  });
});

describe('planning a scheduled run', () => {
  const { ServiceToken: _serviceToken, ...wire } = props;
  const tick = (p: object = {}): ScheduledEvent => ({
    Source: SCHEDULED_EVENT_SOURCE,
    LogicalResourceId: 'PrImages',
    ResourceProperties: { ...wire, Select: { Match: 'untagged' }, ...p } as ScheduledEvent['ResourceProperties'],
  });

  test("a tick is told from CloudFormation's events by its Source", () => {
    expect(isScheduledEvent(tick())).toBe(true);
    expect(isScheduledEvent(create())).toBe(false);
    expect(isScheduledEvent({ ...tick(), Source: 'aws.events' })).toBe(false);
    expect(isScheduledEvent(null)).toBe(false);
  });

  test('runs the selection whatever deleteOn says, leaves declared image IDs to deployments, and answers no resource', () => {
    const plan = planScheduledRun(tick({ DeleteOn: ['Delete'], DryRun: 'true' }));
    expect(plan).toEqual({
      action: 'delete',
      requestType: 'Scheduled',
      properties: expect.objectContaining({ RepositoryName: 'app' }),
      imageIds: [],
      selection: { Match: 'untagged' },
      dryRun: true,
      duplicatesCollapsed: 0,
    });
  });

  test('refuses properties that break a rule, and a tick without a selection, before any call', () => {
    expect(() => planScheduledRun(tick({ Select: { Match: 'tagged' } }))).toThrow('select.tagsMatching must be a non-empty list');
    expect(() => planScheduledRun(tick({ Select: undefined }))).toThrow('a scheduled run needs select');
  });
});

describe('the registry read rate, at run time', () => {
  const selecting = { ImageIds: undefined, Select: { Match: 'untagged' } };
  test('a valid rate plans; an invalid one, or one without a selection, fails before any call, saying what is allowed', () => {
    expect(planEvent(create({ ...selecting, RegistryReadsPerSecond: '2.5' }))).toMatchObject({ action: 'delete' });
    expect(() => planEvent(create({ ...selecting, RegistryReadsPerSecond: '0' }))).toThrow(
      'registryReadsPerSecond "0" is not a rate of registry reads',
    );
    expect(() => planEvent(create({ RegistryReadsPerSecond: '5' }))).toThrow('registryReadsPerSecond is given without select');
  });
});

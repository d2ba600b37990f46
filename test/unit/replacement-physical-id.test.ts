/**
 * The physical ID that an Update answers. An emptier (allImages() on Delete,
 * for a repository of its stack) whose repository changes answers a new one,
 * so that CloudFormation sends the old one a Delete at cleanup time (and its
 * rollback gives the old one back); everything else keeps the ID it was
 * given, so that no Delete ever comes for an old physical ID of a deletion of
 * declared images.
 */
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceUpdateEvent } from 'aws-lambda';
import * as fc from 'fast-check';
import { answeredPhysicalId, planEvent, repositorySuffix } from '../../lambda/plan';
import type { WireProperties } from '../../lib/contract';
import { emptierProperties } from '../support/cfn-events';

const CREATED = 'EcrPublicImageDeletion-Emptier-5b1c0d2e-0000-4000-8000-000000000000';
/** The account of the events' stack: a RegistryId equal to it names the same registry as none. */
const ACCOUNT = '123456789012';

const emptier = (repositoryName: string, extra: object = {}) =>
  emptierProperties(repositoryName, { RepositoryUpdateReplacePolicy: 'Delete', ...extra });

function update(physicalId: string, properties: object, oldProperties: object): CloudFormationCustomResourceUpdateEvent {
  return {
    RequestType: 'Update',
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:handler',
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1',
    RequestId: 'req-2',
    LogicalResourceId: 'Emptier',
    ResourceType: 'Custom::EcrPublicImageDeletion',
    PhysicalResourceId: physicalId,
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:handler', ...properties },
    OldResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:handler', ...oldProperties },
  };
}

/** The ID a successful Update answers. */
const answered = (event: CloudFormationCustomResourceEvent) => answeredPhysicalId(event, planEvent(event), 'SUCCESS');

const names = fc.constantFrom('app', 'app-v2', 'app-v3', 'team/app');

describe('an emptier whose repository is replaced', () => {
  test("giving the stack's own account as registryId, or taking it away, replaces nothing: it names the same repository", () => {
    expect(answered(update(CREATED, emptier('app', { RegistryId: ACCOUNT }), emptier('app')))).toBe(CREATED);
    expect(answered(update(CREATED, emptier('app'), emptier('app', { RegistryId: ACCOUNT })))).toBe(CREATED);
    expect(answered(update(CREATED, emptier('app', { RegistryId: '210987654321' }), emptier('app')))).not.toBe(CREATED);
  });

  test('answers a new physical ID, so that CloudFormation deletes the old one (with the old repository) at cleanup', () => {
    const next = answered(update(CREATED, emptier('app-v2'), emptier('app')));
    expect(next).not.toBe(CREATED);
    expect(next).toBe(`${CREATED}${repositorySuffix(emptier('app-v2') as WireProperties, ACCOUNT)}`);
  });

  test('the rollback of that Update (old and new swapped) answers the physical ID before it', () => {
    fc.assert(
      fc.property(names, names, names, fc.constantFrom('none', 'old', 'other'), (oldName, newName, otherName, suffix) => {
        fc.pre(oldName !== newName);
        const current =
          suffix === 'none' ? CREATED : `${CREATED}${repositorySuffix(emptier(suffix === 'old' ? oldName : otherName) as WireProperties, ACCOUNT)}`;
        fc.pre(!current.endsWith(repositorySuffix(emptier(newName) as WireProperties, ACCOUNT)));
        const forward = answered(update(current, emptier(newName), emptier(oldName)));
        expect(forward).not.toBe(current);
        expect(answered(update(forward, emptier(oldName), emptier(newName)))).toBe(current);
      }),
    );
  });

  test('renames in a row each answer a new ID, and the ID stays short (at most one suffix past the Create ID)', () => {
    fc.assert(
      fc.property(fc.array(names, { minLength: 2, maxLength: 12 }), (chain) => {
        let id = CREATED;
        for (let i = 1; i < chain.length; i++) {
          if (chain[i] === chain[i - 1]) continue;
          const next = answered(update(id, emptier(chain[i]), emptier(chain[i - 1])));
          expect(next).not.toBe(id);
          id = next;
          expect(id.length).toBeLessThanOrEqual(CREATED.length + repositorySuffix(emptier('x') as WireProperties, ACCOUNT).length);
        }
      }),
    );
  });

  test('another registry is another repository', () => {
    expect(answered(update(CREATED, emptier('app', { RegistryId: '210987654321' }), emptier('app')))).not.toBe(CREATED);
  });

  test('a failed Update keeps the ID it was given: a new one would tell CloudFormation the resource was replaced', () => {
    const event = update(CREATED, emptier('app-v2'), emptier('app'));
    expect(answeredPhysicalId(event, planEvent(event), 'FAILED')).toBe(CREATED);
  });
});

describe('every other Update keeps its physical ID', () => {
  const declared = (repositoryName: string, extra: object = {}) => ({
    RepositoryName: repositoryName,
    ImageIds: [{ imageTag: 'pr-1' }],
    DeleteOn: ['Create', 'Update', 'Delete'],
    FailOnImageFailure: 'true',
    ApiRegion: 'us-east-1',
    ...extra,
  });

  test.each<[string, object, object]>([
    ['an emptier whose repository stays (another property changed)', emptier('app', { DryRun: 'true' }), emptier('app')],
    ['a deletion of declared image IDs pointed at another repository', declared('app-v2'), declared('app')],
    [
      'declared image IDs with a Ref to a replaced repository',
      declared('app-v2', { RepositoryLogicalId: 'Repo' }),
      declared('app', { RepositoryLogicalId: 'Repo' }),
    ],
    [
      'a name-only emptier (the repository is not a resource of the stack)',
      emptier('app-v2', { RepositoryLogicalId: undefined }),
      emptier('app', { RepositoryLogicalId: undefined }),
    ],
    ['allImages() that does not run on Delete', emptier('app-v2', { DeleteOn: ['Update'] }), emptier('app', { DeleteOn: ['Update'] })],
    ['a selection other than allImages()', emptier('app-v2', { Select: { Match: 'untagged' } }), emptier('app', { Select: { Match: 'untagged' } })],
    ['old properties that break a rule', emptier('app-v2'), emptier('app', { DeleteOn: ['Sometimes'] })],
  ])('%s', (_what, properties, oldProperties) => {
    expect(answered(update(CREATED, properties, oldProperties))).toBe(CREATED);
  });

  test('a deletion without allImages() on Delete never changes its physical ID, whatever the Update (property)', () => {
    fc.assert(
      fc.property(
        names,
        names,
        fc.constantFrom<object>({}, { Select: { Match: 'untagged' } }, { Select: { Match: 'tagged', TagPatterns: ['pr-*'] } }),
        fc.subarray(['Create', 'Update', 'Delete'], { minLength: 1 }),
        fc.boolean(),
        (oldName, newName, select, deleteOn, withLogicalId) => {
          const props = (name: string) =>
            declared(name, { ...select, DeleteOn: deleteOn, ...(withLogicalId ? { RepositoryLogicalId: 'Repo' } : {}) });
          const event = update(CREATED, props(newName), props(oldName));
          expect(answeredPhysicalId(event, planEvent(event), 'SUCCESS')).toBe(CREATED);
          expect(answeredPhysicalId(event, planEvent(event), 'FAILED')).toBe(CREATED);
        },
      ),
    );
  });
});

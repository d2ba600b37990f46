/**
 * What a selection adds to the stack for its registry reads: one reference
 * cache per stack (a DynamoDB table, on demand, deleted with the stack) named
 * to the function, the permissions the deletions and their schedules depend
 * on, and the registry read rate on the wire.
 */
import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { REFERENCE_CACHE_TABLE_ENV, RESOURCE_TYPE } from '../lib/contract';
import { EcrPublicImageDeletion, ImageSelection } from '../lib';

const stackWith = (...build: Array<(stack: Stack) => void>) => {
  const stack = new Stack(new App(), 'Stack');
  for (const add of build) add(stack);
  return Template.fromStack(stack);
};
const selection =
  (id: string, extra: object = {}) =>
  (stack: Stack) =>
    new EcrPublicImageDeletion(stack, id, { repositoryName: 'app', select: ImageSelection.untaggedImages(), ...extra });
const declared = (id: string) => (stack: Stack) => new EcrPublicImageDeletion(stack, id, { repositoryName: 'app', imageIds: [{ imageTag: 'pr-1' }] });

test('one table per stack, however many selections: on demand, keyed by Digest, deleted with the stack, no TTL', () => {
  const template = stackWith(selection('A'), selection('B'), declared('C'));
  template.resourceCountIs('AWS::DynamoDB::Table', 1);
  const [id, table] = Object.entries(template.findResources('AWS::DynamoDB::Table'))[0];
  expect(table).toEqual({
    Type: 'AWS::DynamoDB::Table',
    Properties: {
      AttributeDefinitions: [{ AttributeName: 'Digest', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'Digest', KeyType: 'HASH' }],
    },
    UpdateReplacePolicy: 'Delete',
    DeletionPolicy: 'Delete',
  });
  template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { [REFERENCE_CACHE_TABLE_ENV]: { Ref: id } } } });
});

test('no selection, no table, no variable', () => {
  const template = stackWith(declared('A'));
  template.resourceCountIs('AWS::DynamoDB::Table', 0);
  const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0];
  expect(fn.Properties.Environment).toBeUndefined();
});

test('a selection and its schedule depend on the table and the authentication policy (they outlive its Delete and its ticks); declared IDs do not', () => {
  const template = stackWith(selection('Sel', { schedule: events.Schedule.rate(Duration.days(1)) }), declared('Ids'));
  const tableId = Object.keys(template.findResources('AWS::DynamoDB::Table'))[0];
  const authId = Object.entries(template.findResources('AWS::IAM::Policy')).find(
    ([, p]) => p.Properties.PolicyName === 'ecr-public-registry-authentication',
  )![0];
  const resources = template.findResources(RESOURCE_TYPE);
  const dependsOn = (name: string) => Object.entries(resources).find(([key]) => key.startsWith(name))![1].DependsOn as string[];
  expect(dependsOn('Sel')).toEqual(expect.arrayContaining([tableId, authId]));
  expect(dependsOn('Ids')).not.toContain(tableId);
  expect(dependsOn('Ids')).not.toContain(authId);
  const rule = Object.values(template.findResources('AWS::Events::Rule'))[0];
  expect(rule.DependsOn).toEqual(expect.arrayContaining([tableId, authId]));
});

describe('registryReadsPerSecond', () => {
  test('absent by default (templates of existing deletions do not change); a decimal string on the wire when given', () => {
    const template = stackWith(
      selection('Default'),
      selection('Raised', { registryReadsPerSecond: 20 }),
      selection('Lowered', { registryReadsPerSecond: 2.5 }),
    );
    const wire = Object.values(template.findResources(RESOURCE_TYPE)).map((r) => r.Properties.RegistryReadsPerSecond);
    expect(wire.sort()).toEqual(['2.5', '20', undefined]);
  });

  test('a deploy-time value passes synth and is checked by the handler', () => {
    const template = stackWith((stack) =>
      selection('Param', { registryReadsPerSecond: new CfnParameter(stack, 'Rate', { type: 'Number' }).valueAsNumber })(stack),
    );
    expect(Object.values(template.findResources(RESOURCE_TYPE))[0].Properties.RegistryReadsPerSecond).toEqual({ Ref: 'Rate' });
  });

  test.each([0, -1, 100.5, Number.NaN, Number.POSITIVE_INFINITY])('%d: refused at synth, saying what is allowed', (rate) => {
    expect(() => stackWith(selection('Bad', { registryReadsPerSecond: rate }))).toThrow(
      /registryReadsPerSecond .* is not a rate of registry reads \(expected a number from 0\.1 to 100 reads per second/,
    );
  });

  test('refused without a selection: only a selection reads the registry', () => {
    expect(() =>
      stackWith(
        (stack) => new EcrPublicImageDeletion(stack, 'Ids', { repositoryName: 'app', imageIds: [{ imageTag: 'x' }], registryReadsPerSecond: 5 }),
      ),
    ).toThrow(/registryReadsPerSecond is given without select: only a selection reads the registry/);
  });
});

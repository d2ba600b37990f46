/**
 * The local DynamoDB against moto's DynamoDB (an independent implementation,
 * in Python): the same SDK calls, the same answers, for what the reference
 * cache does (a table keyed by a string, BatchWriteItem, BatchGetItem) and the
 * errors it must tell apart.
 *
 * Intended differences, each a test below that shows moto's answer next to
 * what DynamoDB's API model and documentation say (so a moto release that
 * changes one fails its test):
 * - the rules the documentation states and moto does not check: more than 25
 *   writes, two writes of one key, a key of the wrong type or with other
 *   attributes in BatchGetItem, empty key lists, a table name under 3 characters;
 * - CreateTable answers CREATING and DeleteTable DELETING, as documented
 *   (moto answers ACTIVE for both);
 * - ConsumedCapacity only when ReturnConsumedCapacity asks for it (moto always sends it).
 */
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  KeysAndAttributes,
  WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { LocalDynamoDb, startLocalDynamoDb } from '../../local/dynamodb';
import { RunningBackend, describeWithBackends, startMoto } from '../support/backends';

interface Side {
  readonly name: 'local' | 'moto';
  readonly client: DynamoDBClient;
}

const clientFor = (endpoint: string) =>
  new DynamoDBClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });

const KEY = {
  KeySchema: [{ AttributeName: 'Digest', KeyType: 'HASH' as const }],
  AttributeDefinitions: [{ AttributeName: 'Digest', AttributeType: 'S' as const }],
};
const item = (digest: string, references: string[] = []) => ({ Digest: { S: digest }, V: { N: '1' }, Refs: { L: references.map((S) => ({ S })) } });
const put = (digest: string, references: string[] = []): WriteRequest => ({ PutRequest: { Item: item(digest, references) } });

/** The error's name, or 'no error'. */
const errorName = (promise: Promise<unknown>) =>
  promise.then(
    () => 'no error',
    (error: Error) => error.name,
  );

describeWithBackends(['moto'], 'the cross-check of the local DynamoDB against moto')('the local DynamoDB answers as moto does', () => {
  let moto: RunningBackend;
  let local: LocalDynamoDb;
  let sides: Side[];
  let tables = 0;

  beforeAll(async () => {
    moto = await startMoto();
    local = await startLocalDynamoDb();
    sides = [
      { name: 'local', client: clientFor(local.endpoint) },
      { name: 'moto', client: clientFor(moto.endpoint) },
    ];
  }, 60_000);
  afterAll(async () => {
    for (const side of sides ?? []) side.client.destroy();
    await local?.close();
    await moto?.stop();
  });

  /** A new on-demand table keyed by Digest on both sides. */
  async function table(): Promise<string> {
    const name = `cache-${++tables}`;
    for (const side of sides) await side.client.send(new CreateTableCommand({ TableName: name, BillingMode: 'PAY_PER_REQUEST', ...KEY }));
    return name;
  }

  /** The items BatchGetItem returns for these keys, sorted by digest, and what it left unprocessed. */
  async function get(side: Side, tableName: string, digests: string[], extra: Partial<KeysAndAttributes> = {}) {
    const answer = await side.client.send(
      new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: digests.map((d) => ({ Digest: { S: d } })), ...extra } } }),
    );
    const items = (answer.Responses?.[tableName] ?? []).sort((a, b) => String(a.Digest.S).localeCompare(String(b.Digest.S)));
    return { items, unprocessed: answer.UnprocessedKeys };
  }

  const onBoth = async <T>(action: (side: Side) => Promise<T>): Promise<[T, T]> => [await action(sides[0]), await action(sides[1])];

  test('a table keyed by a string: the same description', async () => {
    const tableName = await table();
    const [localTable, motoTable] = await onBoth(async (side) => {
      const { Table } = await side.client.send(new DescribeTableCommand({ TableName: tableName }));
      return {
        TableName: Table?.TableName,
        TableStatus: Table?.TableStatus,
        KeySchema: Table?.KeySchema,
        AttributeDefinitions: Table?.AttributeDefinitions,
        BillingMode: Table?.BillingModeSummary?.BillingMode,
        ItemCount: Table?.ItemCount,
        arn: Table?.TableArn?.replace(/:\d{12}:/, ':ACCOUNT:'),
      };
    });
    expect(localTable).toEqual(motoTable);
    expect(localTable).toEqual({
      TableName: tableName,
      TableStatus: 'ACTIVE',
      ...KEY,
      BillingMode: 'PAY_PER_REQUEST',
      ItemCount: 0,
      arn: `arn:aws:dynamodb:us-east-1:ACCOUNT:table/${tableName}`,
    });
  });

  test('BatchWriteItem puts, BatchGetItem reads back exactly the items that exist, nothing unprocessed', async () => {
    const tableName = await table();
    const [localWrite, motoWrite] = await onBoth(async (side) => {
      const { UnprocessedItems } = await side.client.send(
        new BatchWriteItemCommand({ RequestItems: { [tableName]: [put('a', ['x', 'y']), put('b'), put('c', ['z'])] } }),
      );
      return UnprocessedItems;
    });
    expect(localWrite).toEqual(motoWrite);
    expect(localWrite).toEqual({});
    const [localRead, motoRead] = await onBoth((side) => get(side, tableName, ['a', 'b', 'missing', 'c'], { ConsistentRead: true }));
    expect(localRead).toEqual(motoRead);
    expect(localRead).toEqual({ items: [item('a', ['x', 'y']), item('b'), item('c', ['z'])], unprocessed: {} });
  });

  test('a put replaces the item; a delete removes it, a delete of a missing key is no error', async () => {
    const tableName = await table();
    const [localRead, motoRead] = await onBoth(async (side) => {
      await side.client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: [put('a', ['old']), put('b')] } }));
      await side.client.send(
        new BatchWriteItemCommand({ RequestItems: { [tableName]: [put('a', ['new']), { DeleteRequest: { Key: { Digest: { S: 'b' } } } }] } }),
      );
      await side.client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: [{ DeleteRequest: { Key: { Digest: { S: 'never' } } } }] } }));
      return get(side, tableName, ['a', 'b']);
    });
    expect(localRead).toEqual(motoRead);
    expect(localRead.items).toEqual([item('a', ['new'])]);
  });

  test('the errors both give: missing tables, a table that exists, duplicate keys in a read, keys missing or mistyped in a put, 101 keys, an item over 400 KB', async () => {
    const tableName = await table();
    const errors = async (side: Side) => ({
      getMissingTable: await errorName(get(side, 'no-such-table', ['a'])),
      writeMissingTable: await errorName(side.client.send(new BatchWriteItemCommand({ RequestItems: { 'no-such-table': [put('a')] } }))),
      describeMissing: await errorName(side.client.send(new DescribeTableCommand({ TableName: 'no-such-table' }))),
      deleteMissing: await errorName(side.client.send(new DeleteTableCommand({ TableName: 'no-such-table' }))),
      createAgain: await errorName(side.client.send(new CreateTableCommand({ TableName: tableName, BillingMode: 'PAY_PER_REQUEST', ...KEY }))),
      createProvisionedWithoutThroughput: await errorName(side.client.send(new CreateTableCommand({ TableName: `${tableName}-x`, ...KEY }))),
      createUndefinedKey: await errorName(
        side.client.send(
          new CreateTableCommand({
            TableName: `${tableName}-y`,
            BillingMode: 'PAY_PER_REQUEST',
            KeySchema: KEY.KeySchema,
            AttributeDefinitions: [{ AttributeName: 'Other', AttributeType: 'S' }],
          }),
        ),
      ),
      duplicateKeys: await errorName(get(side, tableName, ['a', 'a'])),
      putWithoutKey: await errorName(
        side.client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: [{ PutRequest: { Item: { Other: { S: 'x' } } } }] } })),
      ),
      putWrongKeyType: await errorName(
        side.client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: [{ PutRequest: { Item: { Digest: { N: '1' } } } }] } })),
      ),
      putEmptyKey: await errorName(
        side.client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: [{ PutRequest: { Item: { Digest: { S: '' } } } }] } })),
      ),
      tooManyKeys: await errorName(
        get(
          side,
          tableName,
          Array.from({ length: 101 }, (_, i) => `k${i}`),
        ),
      ),
      tooBig: await errorName(
        side.client.send(
          new BatchWriteItemCommand({
            RequestItems: { [tableName]: [{ PutRequest: { Item: { Digest: { S: 'big' }, D: { S: 'x'.repeat(410_000) } } } }] },
          }),
        ),
      ),
    });
    const [localErrors, motoErrors] = await onBoth(errors);
    expect(localErrors).toEqual(motoErrors);
    expect(localErrors).toEqual({
      getMissingTable: 'ResourceNotFoundException',
      writeMissingTable: 'ResourceNotFoundException',
      describeMissing: 'ResourceNotFoundException',
      deleteMissing: 'ResourceNotFoundException',
      createAgain: 'ResourceInUseException',
      createProvisionedWithoutThroughput: 'ValidationException',
      createUndefinedKey: 'ValidationException',
      duplicateKeys: 'ValidationException',
      putWithoutKey: 'ValidationException',
      putWrongKeyType: 'ValidationException',
      putEmptyKey: 'ValidationException',
      tooManyKeys: 'ValidationException',
      tooBig: 'ValidationException',
    });
  });

  test('a deleted table is gone for both', async () => {
    const tableName = await table();
    const [localGone, motoGone] = await onBoth(async (side) => {
      await side.client.send(new DeleteTableCommand({ TableName: tableName }));
      return errorName(side.client.send(new DescribeTableCommand({ TableName: tableName })));
    });
    expect([localGone, motoGone]).toEqual(['ResourceNotFoundException', 'ResourceNotFoundException']);
  });

  describe('intended differences: what the documentation says and moto 5 does not check', () => {
    test('more than 25 writes, or two writes of one key, in one BatchWriteItem: ValidationException locally, accepted by moto', async () => {
      const tableName = await table();
      const [localErrors, motoErrors] = await onBoth(async (side) => ({
        tooMany: await errorName(
          side.client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: Array.from({ length: 26 }, (_, i) => put(`k${i}`)) } })),
        ),
        sameKeyTwice: await errorName(
          side.client.send(
            new BatchWriteItemCommand({ RequestItems: { [tableName]: [put('a'), { DeleteRequest: { Key: { Digest: { S: 'a' } } } }] } }),
          ),
        ),
      }));
      expect(localErrors).toEqual({ tooMany: 'ValidationException', sameKeyTwice: 'ValidationException' });
      expect(motoErrors).toEqual({ tooMany: 'no error', sameKeyTwice: 'no error' });
    });

    test('a read key of the wrong type or with other attributes, and an empty key list: ValidationException locally, an empty answer from moto', async () => {
      const tableName = await table();
      const [localErrors, motoErrors] = await onBoth(async (side) => ({
        wrongType: await errorName(side.client.send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: [{ Digest: { N: '1' } }] } } }))),
        otherAttribute: await errorName(
          side.client.send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: [{ Digest: { S: 'a' }, X: { S: 'b' } }] } } })),
        ),
        noKeys: await errorName(side.client.send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: [] } } }))),
      }));
      expect(localErrors).toEqual({ wrongType: 'ValidationException', otherAttribute: 'ValidationException', noKeys: 'ValidationException' });
      expect(motoErrors).toEqual({ wrongType: 'no error', otherAttribute: 'no error', noKeys: 'no error' });
    });

    test('a table name of 2 characters (the model says 3 to 255): refused locally, created by moto', async () => {
      const [local2, moto2] = await onBoth((side) =>
        errorName(side.client.send(new CreateTableCommand({ TableName: 'ab', BillingMode: 'PAY_PER_REQUEST', ...KEY }))),
      );
      expect([local2, moto2]).toEqual(['ValidationException', 'no error']);
    });

    test('CreateTable answers CREATING and DeleteTable DELETING locally, as documented; moto answers ACTIVE', async () => {
      const name = `cache-status-${++tables}`;
      const [localStatus, motoStatus] = await onBoth(async (side) => [
        (await side.client.send(new CreateTableCommand({ TableName: name, BillingMode: 'PAY_PER_REQUEST', ...KEY }))).TableDescription?.TableStatus,
        (await side.client.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus,
        (await side.client.send(new DeleteTableCommand({ TableName: name }))).TableDescription?.TableStatus,
      ]);
      expect(localStatus).toEqual(['CREATING', 'ACTIVE', 'DELETING']);
      expect(motoStatus).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE']);
    });

    test('ConsumedCapacity: only when asked for locally (ReturnConsumedCapacity defaults to NONE), always from moto', async () => {
      const tableName = await table();
      const [localAnswer, motoAnswer] = await onBoth((side) =>
        side.client.send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: [{ Digest: { S: 'a' } }] } } })),
      );
      expect(localAnswer.ConsumedCapacity).toBeUndefined();
      expect(motoAnswer.ConsumedCapacity).toBeDefined();
    });
  });
});

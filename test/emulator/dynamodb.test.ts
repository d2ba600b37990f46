/**
 * The local DynamoDB's own behaviour, through the unmodified SDK client: the
 * wire format of its errors, and the forced answers that let tests make a
 * table unreadable or unwritable (throttles, outages, refusals, dropped
 * connections, unprocessed keys and writes).
 */
import { BatchGetItemCommand, BatchWriteItemCommand, CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LocalDynamoDb, startLocalDynamoDb } from '../../local/dynamodb';

let local: LocalDynamoDb;
let client: DynamoDBClient;
const TABLE = 'references';
const keys = (...digests: string[]) => digests.map((d) => ({ Digest: { S: d } }));
const puts = (...digests: string[]) => digests.map((d) => ({ PutRequest: { Item: { Digest: { S: d } } } }));
const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: { name: string; message: string; $metadata?: { httpStatusCode?: number } }) => error,
  );

beforeAll(async () => {
  local = await startLocalDynamoDb();
  client = new DynamoDBClient({
    region: 'eu-west-1',
    endpoint: local.endpoint,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
  });
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'Digest', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'Digest', AttributeType: 'S' }],
    }),
  );
});
afterAll(async () => {
  client.destroy();
  await local.close();
});
beforeEach(() => local.reset());

test('errors on the wire: HTTP 400 and a __type with the namespace the SDK strips', async () => {
  const answer = await fetch(local.endpoint, {
    method: 'POST',
    headers: {
      'x-amz-target': 'DynamoDB_20120810.DescribeTable',
      'content-type': 'application/x-amz-json-1.0',
      authorization: 'AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify({ TableName: 'nope' }),
  });
  expect(answer.status).toBe(400);
  expect(answer.headers.get('content-type')).toBe('application/x-amz-json-1.0');
  expect(await answer.json()).toEqual({
    __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException',
    message: 'Requested resource not found: Table: nope not found',
  });
  const unsigned = await fetch(local.endpoint, { method: 'POST', headers: { 'x-amz-target': 'DynamoDB_20120810.DescribeTable' }, body: '{}' });
  expect(((await unsigned.json()) as { __type: string }).__type).toBe('com.amazon.coral.service#MissingAuthenticationTokenException');
});

test('a request signed for another service is refused', async () => {
  const answer = await fetch(local.endpoint, {
    method: 'POST',
    headers: {
      'x-amz-target': 'DynamoDB_20120810.DescribeTable',
      authorization: 'AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/ecr-public/aws4_request',
    },
    body: JSON.stringify({ TableName: TABLE }),
  });
  expect(((await answer.json()) as { __type: string }).__type).toBe('com.amazon.coral.service#InvalidSignatureException');
});

test('unprocessed: the last keys of a read come back in UnprocessedKeys, unread; the last writes in UnprocessedItems, unapplied', async () => {
  await client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: puts('a', 'b', 'c') } }));
  local.faults.push({ operation: 'BatchGetItem', kind: 'unprocessed', count: 2 });
  const read = await client.send(new BatchGetItemCommand({ RequestItems: { [TABLE]: { Keys: keys('a', 'b', 'c'), ConsistentRead: true } } }));
  expect(read.Responses?.[TABLE]).toEqual([{ Digest: { S: 'a' } }]);
  expect(read.UnprocessedKeys).toEqual({ [TABLE]: { Keys: keys('b', 'c'), ConsistentRead: true } });

  local.faults.push({ operation: 'BatchWriteItem', kind: 'unprocessed', count: 1 });
  const write = await client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: puts('d', 'e') } }));
  expect(write.UnprocessedItems).toEqual({ [TABLE]: puts('e') });
  const after = await client.send(new BatchGetItemCommand({ RequestItems: { [TABLE]: { Keys: keys('d', 'e') } } }));
  expect(after.Responses?.[TABLE]).toEqual([{ Digest: { S: 'd' } }]);
});

test('a batch of which nothing can be processed is a ProvisionedThroughputExceededException, as documented', async () => {
  local.faults.push({ operation: 'BatchGetItem', kind: 'unprocessed', count: 5 });
  expect((await errorOf(client.send(new BatchGetItemCommand({ RequestItems: { [TABLE]: { Keys: keys('a', 'b') } } }))))?.name).toBe(
    'ProvisionedThroughputExceededException',
  );
});

test.each([
  ['throttle', 'ThrottlingException', 400],
  ['provisionedThroughput', 'ProvisionedThroughputExceededException', 400],
  ['serverError', 'InternalServerError', 500],
  ['accessDenied', 'AccessDeniedException', 400],
] as const)('a forced %s: %s, HTTP %d, for the operation it names only', async (kind, name, status) => {
  local.faults.push({ operation: 'BatchWriteItem', kind });
  // A read is not the operation named: it goes through.
  expect(await errorOf(client.send(new BatchGetItemCommand({ RequestItems: { [TABLE]: { Keys: keys('a') } } })))).toBeUndefined();
  const error = await errorOf(client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: puts('x') } })));
  expect([error?.name, error?.$metadata?.httpStatusCode]).toEqual([name, status]);
  expect(local.requests('BatchWriteItem').map((r) => r.fault)).toEqual([kind]);
});

test('a dropped connection gives the client a network error, and the request is recorded', async () => {
  local.faults.push({ kind: 'drop' });
  const error = await errorOf(client.send(new BatchGetItemCommand({ RequestItems: { [TABLE]: { Keys: keys('a') } } })));
  expect(error).toBeDefined();
  expect(local.requests()).toEqual([{ operation: 'BatchGetItem', body: { RequestItems: { [TABLE]: { Keys: keys('a') } } }, fault: 'drop' }]);
});

test('ProjectionExpression is refused with a message that says the emulator does not implement it', async () => {
  const error = await errorOf(
    client.send(new BatchGetItemCommand({ RequestItems: { [TABLE]: { Keys: keys('a'), ProjectionExpression: 'Digest' } } })),
  );
  expect(error?.name).toBe('ValidationException');
  expect(error?.message).toMatch(/not implemented/);
});

/**
 * DynamoDB's JSON 1.0 API (`X-Amz-Target: DynamoDB_20120810.<Operation>`) for
 * the operations the reference cache and its tests call: checks each request
 * against the model's shapes and the operations' documented rules, then applies
 * it to the store. Timestamps are epoch seconds, as the JSON protocol sends
 * them. Tables are ACTIVE as soon as CreateTable answers (which says CREATING,
 * as the service does), and gone as soon as DeleteTable answers (DELETING).
 */
import {
  BATCH_GET_MAX_ITEMS,
  BATCH_WRITE_MAX_REQUESTS,
  DynamoError,
  EMULATED_OPERATIONS,
  ENUMS,
  LIMITS,
  Operation,
  SIGNING_NAME,
  TARGET_PREFIX,
  invalid,
} from './model';
import { DynamoStore, Item, KeyElement, StoredTable, checkItem, checkTableName, isScalarType, keyOf } from './store';

type Input = Record<string, unknown>;

/** How a call is to fail partly: the last `unprocessed` keys or writes come back unprocessed (not read, not applied). */
export interface CallOptions {
  readonly unprocessed?: number;
}

/** Answers one JSON API request, or throws a DynamoError. */
export function handleDynamoRequest(
  store: DynamoStore,
  target: string,
  authorization: string | undefined,
  text: string,
  options: CallOptions = {},
): unknown {
  checkSignature(authorization);
  const operation = target.startsWith(`${TARGET_PREFIX}.`) ? target.slice(TARGET_PREFIX.length + 1) : '';
  if (!(EMULATED_OPERATIONS as readonly string[]).includes(operation)) {
    throw new DynamoError('UnknownOperationException', `The local DynamoDB does not serve '${target}' (it serves ${EMULATED_OPERATIONS.join(', ')})`);
  }
  let input: Input;
  try {
    input = text.length === 0 ? {} : (JSON.parse(text) as Input);
  } catch {
    throw new DynamoError('SerializationException', 'Start of structure or map found where not expected');
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new DynamoError('SerializationException', 'The request body is not a JSON object');
  return OPERATIONS[operation as Operation](store, input, options);
}

/** SigV4 as far as the emulator can judge it: present, and scoped to the dynamodb service. */
function checkSignature(authorization: string | undefined): void {
  if (!authorization) throw new DynamoError('MissingAuthenticationTokenException', 'Request is missing Authentication Token');
  const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization);
  if (!scope) throw new DynamoError('InvalidSignatureException', 'The request signature is not AWS Signature Version 4');
  if (scope[2] !== SIGNING_NAME)
    throw new DynamoError('InvalidSignatureException', `Credential should be scoped to correct service: '${SIGNING_NAME}'.`);
}

const OPERATIONS: Record<Operation, (store: DynamoStore, input: Input, options: CallOptions) => unknown> = {
  CreateTable(store, input) {
    const name = checkTableName(input.TableName, 'tableName');
    const schema = input.KeySchema;
    if (!Array.isArray(schema) || schema.length < 1 || schema.length > 2) {
      throw invalid(
        "1 validation error detected: Value at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2",
      );
    }
    const definitions = new Map<string, unknown>();
    for (const definition of Array.isArray(input.AttributeDefinitions) ? (input.AttributeDefinitions as Input[]) : []) {
      definitions.set(String(definition.AttributeName), definition.AttributeType);
    }
    const elements = (schema as Input[]).map((element): { name: string; keyType: string; type: KeyElement['type'] } => {
      const attribute = String(element.AttributeName ?? '');
      const { min, max } = LIMITS.KeySchemaAttributeName;
      if (attribute.length < min || attribute.length > max)
        throw invalid(
          `1 validation error detected: Value '${attribute}' at 'keySchema.member.attributeName' failed to satisfy constraint: Member must have length between ${min} and ${max}`,
        );
      if (!(ENUMS.KeyType as readonly unknown[]).includes(element.KeyType))
        throw invalid(
          `1 validation error detected: Value '${String(element.KeyType)}' at 'keySchema.member.keyType' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]`,
        );
      const type = definitions.get(attribute);
      if (!isScalarType(type)) {
        throw invalid(
          `One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [${attribute}], AttributeDefinitions: [${[...definitions.keys()].join(', ')}]`,
        );
      }
      return { name: attribute, keyType: String(element.KeyType), type };
    });
    if (elements[0].keyType !== 'HASH' || (elements[1] !== undefined && elements[1].keyType !== 'RANGE')) {
      throw invalid('Invalid KeySchema: The first KeySchemaElement is not a HASH key type, or the second is not a RANGE key type');
    }
    if (definitions.size !== elements.length) {
      throw invalid(
        'One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions',
      );
    }
    const billingMode = (input.BillingMode ?? 'PROVISIONED') as StoredTable['billingMode'];
    if (!(ENUMS.BillingMode as readonly unknown[]).includes(billingMode))
      throw invalid(
        `1 validation error detected: Value '${String(billingMode)}' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]`,
      );
    const throughput = input.ProvisionedThroughput as StoredTable['provisioned'] | undefined;
    if (billingMode === 'PROVISIONED' && !(throughput?.ReadCapacityUnits && throughput?.WriteCapacityUnits)) {
      throw invalid(
        'One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED',
      );
    }
    if (billingMode === 'PAY_PER_REQUEST' && throughput !== undefined) {
      throw invalid(
        'One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST',
      );
    }
    const table = store.createTable({
      name,
      hash: { name: elements[0].name, type: elements[0].type },
      ...(elements[1] ? { range: { name: elements[1].name, type: elements[1].type } } : {}),
      billingMode,
      ...(throughput ? { provisioned: { ReadCapacityUnits: throughput.ReadCapacityUnits, WriteCapacityUnits: throughput.WriteCapacityUnits } } : {}),
    });
    return { TableDescription: describe(table, 'CREATING') };
  },

  DescribeTable(store, input) {
    return { Table: describe(store.table(checkTableName(input.TableName, 'tableName'), true), 'ACTIVE') };
  },

  DeleteTable(store, input) {
    return { TableDescription: describe(store.deleteTable(checkTableName(input.TableName, 'tableName')), 'DELETING') };
  },

  BatchGetItem(store, input, options) {
    const requests = tableMap(input.RequestItems, 'requestItems', LIMITS.BatchGetRequestMap);
    const asked: Array<{ tableName: string; table: StoredTable; key: Item; id: string; request: Input }> = [];
    for (const [tableName, request] of requests) {
      if (request === null || typeof request !== 'object')
        throw invalid(
          `1 validation error detected: Value null at 'requestItems.${tableName}.member' failed to satisfy constraint: Member must not be null`,
        );
      const { Keys: keys, ProjectionExpression, AttributesToGet } = request as Input;
      if (ProjectionExpression !== undefined || AttributesToGet !== undefined)
        throw invalid('The local DynamoDB returns whole items: ProjectionExpression and AttributesToGet are not implemented');
      const { min, max } = LIMITS.KeyList;
      if (!Array.isArray(keys) || keys.length < min || keys.length > max) {
        throw invalid(
          `1 validation error detected: Value at 'requestItems.${tableName}.member.keys' failed to satisfy constraint: Member must have length ${Array.isArray(keys) && keys.length > max ? `less than or equal to ${max}` : `greater than or equal to ${min}`}`,
        );
      }
      const table = store.table(tableName);
      for (const key of keys as Item[])
        asked.push({ tableName, table, key, id: `${tableName}|${keyOf(table, checkItem(key, 'key'), true)}`, request: request as Input });
    }
    if (asked.length > BATCH_GET_MAX_ITEMS) throw invalid('Too many items requested for the BatchGetItem call');
    if (new Set(asked.map((a) => a.id)).size !== asked.length) throw invalid('Provided list of item keys contains duplicates');
    const cut = unprocessedCut(asked.length, options);
    const responses: Record<string, Item[]> = {};
    const unprocessed: Record<string, Input> = {};
    asked.forEach(({ tableName, table, key, request }, i) => {
      if (i >= cut) {
        const { Keys: _keys, ...rest } = request;
        unprocessed[tableName] ??= { ...rest, Keys: [] };
        (unprocessed[tableName].Keys as Item[]).push(key);
        return;
      }
      responses[tableName] ??= [];
      const item = table.items.get(keyOf(table, key, true));
      if (item) responses[tableName].push(item);
    });
    return { Responses: responses, UnprocessedKeys: unprocessed };
  },

  BatchWriteItem(store, input, options) {
    const requests = tableMap(input.RequestItems, 'requestItems', LIMITS.BatchWriteItemRequestMap);
    const writes: Array<{ tableName: string; table: StoredTable; id: string; put?: Item; deleteKey?: Item; request: Input }> = [];
    for (const [tableName, list] of requests) {
      const { min, max } = LIMITS.WriteRequests;
      if (!Array.isArray(list) || list.length < min || list.length > max) {
        throw invalid(
          `1 validation error detected: Value at 'requestItems.${tableName}.member' failed to satisfy constraint: Member must have length ${Array.isArray(list) && list.length > max ? `less than or equal to ${max}` : `greater than or equal to ${min}`}`,
        );
      }
      const table = store.table(tableName);
      for (const request of list as Input[]) {
        const put = (request?.PutRequest as Input | undefined)?.Item;
        const deleteKey = (request?.DeleteRequest as Input | undefined)?.Key;
        if ((put === undefined) === (deleteKey === undefined))
          throw invalid(
            'Supplied AttributeValue has more than one write request type, or none: a WriteRequest holds a PutRequest or a DeleteRequest',
          );
        const item = checkItem(put ?? deleteKey, put !== undefined ? 'item' : 'key');
        writes.push({
          tableName,
          table,
          id: `${tableName}|${keyOf(table, item, put === undefined)}`,
          ...(put !== undefined ? { put: item } : { deleteKey: item }),
          request,
        });
      }
    }
    if (writes.length > BATCH_WRITE_MAX_REQUESTS) throw invalid('Too many items requested for the BatchWriteItem call');
    if (new Set(writes.map((w) => w.id)).size !== writes.length) throw invalid('Provided list of item keys contains duplicates');
    const cut = unprocessedCut(writes.length, options);
    const unprocessed: Record<string, Input[]> = {};
    writes.forEach(({ tableName, table, id, put, request }, i) => {
      if (i >= cut) {
        (unprocessed[tableName] ??= []).push(request);
        return;
      }
      const key = id.slice(tableName.length + 1);
      if (put) table.items.set(key, put);
      else table.items.delete(key);
    });
    return { UnprocessedItems: unprocessed };
  },
};

/**
 * How many of a batch's requests are processed when `options.unprocessed` are
 * not; none at all is the throttling error the documentation names instead.
 */
function unprocessedCut(count: number, options: CallOptions): number {
  const cut = Math.max(0, count - (options.unprocessed ?? 0));
  if (cut === 0 && count > 0) {
    throw new DynamoError(
      'ProvisionedThroughputExceededException',
      'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
    );
  }
  return cut;
}

/** RequestItems: a map of table name to requests, with the model's bounds on the number of tables. */
function tableMap(value: unknown, member: string, limits: { min: number; max: number }): Array<[string, unknown]> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalid(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  const entries = Object.entries(value);
  if (entries.length < limits.min || entries.length > limits.max) {
    throw invalid(
      `1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must have length ${entries.length < limits.min ? `greater than or equal to ${limits.min}` : `less than or equal to ${limits.max}`}`,
    );
  }
  for (const [name] of entries) checkTableName(name, `${member}.key`);
  return entries;
}

function describe(table: StoredTable, status: 'CREATING' | 'ACTIVE' | 'DELETING') {
  const elements = table.range ? [table.hash, table.range] : [table.hash];
  return {
    TableName: table.name,
    TableArn: table.arn,
    TableStatus: status,
    CreationDateTime: table.createdAt / 1000,
    KeySchema: elements.map((element, i) => ({ AttributeName: element.name, KeyType: i === 0 ? 'HASH' : 'RANGE' })),
    AttributeDefinitions: elements.map((element) => ({ AttributeName: element.name, AttributeType: element.type })),
    ItemCount: table.items.size,
    ...(table.billingMode === 'PAY_PER_REQUEST'
      ? {
          BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
          ProvisionedThroughput: { NumberOfDecreasesToday: 0, ReadCapacityUnits: 0, WriteCapacityUnits: 0 },
        }
      : { ProvisionedThroughput: { NumberOfDecreasesToday: 0, ...table.provisioned } }),
  };
}

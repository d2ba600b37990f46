/**
 * The local DynamoDB's state, without HTTP: tables (key schema, billing mode)
 * and their items, kept as the JSON AttributeValues the client sent. Checks
 * what the model and the operations' documentation say an item or a key must
 * be; json-api.ts checks the shapes of requests and calls these methods.
 */
import { DynamoError, ENUMS, LIMITS, MAX_ITEM_BYTES, MAX_PARTITION_KEY_BYTES, MAX_SORT_KEY_BYTES, invalid } from './model';

/** An AttributeValue as the JSON protocol carries it: exactly one of S, N, B, SS, NS, BS, M, L, NULL, BOOL. */
export type AttributeValue = Record<string, unknown>;
export type Item = Record<string, AttributeValue>;

const ATTRIBUTE_TYPES = ['S', 'N', 'B', 'SS', 'NS', 'BS', 'M', 'L', 'NULL', 'BOOL'];

export interface KeyElement {
  readonly name: string;
  readonly type: 'S' | 'N' | 'B';
}

export interface StoredTable {
  readonly name: string;
  readonly arn: string;
  readonly hash: KeyElement;
  readonly range?: KeyElement;
  readonly billingMode: 'PROVISIONED' | 'PAY_PER_REQUEST';
  readonly provisioned?: { readonly ReadCapacityUnits: number; readonly WriteCapacityUnits: number };
  readonly createdAt: number;
  /** Items by their key (see keyOf). */
  readonly items: Map<string, Item>;
}

export interface DynamoStoreOptions {
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '123456789012' */
  readonly accountId?: string;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface TableDefinition {
  readonly name: string;
  readonly hash: KeyElement;
  readonly range?: KeyElement;
  readonly billingMode: 'PROVISIONED' | 'PAY_PER_REQUEST';
  readonly provisioned?: StoredTable['provisioned'];
}

export class DynamoStore {
  readonly region: string;
  readonly accountId: string;
  readonly tables = new Map<string, StoredTable>();
  private readonly now: () => number;

  constructor(options: DynamoStoreOptions = {}) {
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '123456789012';
    this.now = options.now ?? Date.now;
  }

  createTable(definition: TableDefinition): StoredTable {
    if (this.tables.has(definition.name)) throw new DynamoError('ResourceInUseException', `Table already exists: ${definition.name}`);
    const table: StoredTable = {
      ...definition,
      arn: `arn:aws:dynamodb:${this.region}:${this.accountId}:table/${definition.name}`,
      createdAt: this.now(),
      items: new Map(),
    };
    this.tables.set(definition.name, table);
    return table;
  }

  /** The table, or ResourceNotFoundException (with the message DescribeTable gives when `named` is set). */
  table(name: string, named = false): StoredTable {
    const table = this.tables.get(name);
    if (!table)
      throw new DynamoError(
        'ResourceNotFoundException',
        named ? `Requested resource not found: Table: ${name} not found` : 'Requested resource not found',
      );
    return table;
  }

  deleteTable(name: string): StoredTable {
    const table = this.table(name);
    this.tables.delete(name);
    return table;
  }
}

/** Checks one AttributeValue (recursively); `where` names it in the error. */
export function checkAttributeValue(value: unknown, where: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(`Supplied AttributeValue is empty, must contain exactly one of the supported datatypes (at ${where})`);
  }
  const types = Object.keys(value).filter((key) => (value as AttributeValue)[key] !== undefined);
  if (types.length !== 1 || !ATTRIBUTE_TYPES.includes(types[0])) {
    throw invalid(
      `Supplied AttributeValue has ${types.length === 0 ? 'no' : 'more than one'} datatype, must contain exactly one of the supported datatypes (at ${where})`,
    );
  }
  const [type] = types;
  const inner = (value as AttributeValue)[type];
  const isNumber = (n: unknown) => typeof n === 'string' && n.trim() !== '' && Number.isFinite(Number(n));
  switch (type) {
    case 'S':
    case 'B':
      if (typeof inner !== 'string') throw invalid(`${type} must be a string (at ${where})`);
      return;
    case 'N':
      if (!isNumber(inner)) throw invalid(`A value provided cannot be converted into a number (at ${where})`);
      return;
    case 'BOOL':
    case 'NULL':
      if (typeof inner !== 'boolean') throw invalid(`${type} must be a boolean (at ${where})`);
      return;
    case 'SS':
    case 'NS':
    case 'BS':
      if (!Array.isArray(inner) || inner.length === 0)
        throw invalid(`One or more parameter values were invalid: An string set  may not be empty (at ${where})`);
      if (new Set(inner).size !== inner.length)
        throw invalid(`One or more parameter values were invalid: Input collection contains duplicates (at ${where})`);
      if (type === 'NS' ? !inner.every(isNumber) : !inner.every((s) => typeof s === 'string'))
        throw invalid(`${type} holds a value of the wrong type (at ${where})`);
      return;
    case 'L':
      if (!Array.isArray(inner)) throw invalid(`L must be a list (at ${where})`);
      inner.forEach((element, i) => checkAttributeValue(element, `${where}[${i}]`));
      return;
    default: // M
      if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) throw invalid(`M must be a map (at ${where})`);
      for (const [name, element] of Object.entries(inner)) checkAttributeValue(element, `${where}.${name}`);
  }
}

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

/** An AttributeValue's size as DynamoDB counts it, closely enough to tell an item over 400 KB. */
function valueBytes(value: AttributeValue): number {
  const [type] = Object.keys(value);
  const inner = value[type];
  switch (type) {
    case 'S':
    case 'N':
      return utf8(inner as string);
    case 'B':
      return Buffer.from(inner as string, 'base64').length;
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'SS':
    case 'NS':
      return (inner as string[]).reduce((sum, s) => sum + utf8(s), 0);
    case 'BS':
      return (inner as string[]).reduce((sum, s) => sum + Buffer.from(s, 'base64').length, 0);
    case 'L':
      return 3 + (inner as AttributeValue[]).reduce((sum, element) => sum + 1 + valueBytes(element), 0);
    default:
      return 3 + Object.entries(inner as Item).reduce((sum, [name, element]) => sum + 1 + utf8(name) + valueBytes(element), 0);
  }
}

/** An item's size: its attribute names' and values' bytes. */
export function itemBytes(item: Item): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueBytes(value), 0);
}

/**
 * The key of `item` (an item to put, or a key to get or delete) in `table`, as
 * a string that tells items apart; throws the service's ValidationException
 * when the key attributes are missing, of another type, empty or too long,
 * or, for a bare key (`exact`), when it has other attributes.
 */
export function keyOf(table: StoredTable, item: Item, exact: boolean): string {
  const elements = table.range ? [table.hash, table.range] : [table.hash];
  if (exact && Object.keys(item).length !== elements.length) throw invalid('The provided key element does not match the schema');
  const parts = elements.map((element, i) => {
    const value = item[element.name];
    if (value === undefined) {
      throw exact
        ? invalid('The provided key element does not match the schema')
        : invalid(`One or more parameter values were invalid: Missing the key ${element.name} in the item`);
    }
    const [type] = Object.keys(value);
    if (type !== element.type) {
      throw exact
        ? invalid('The provided key element does not match the schema')
        : invalid(`One or more parameter values were invalid: Type mismatch for key ${element.name} expected: ${element.type} actual: ${type}`);
    }
    const text = String(value[type]);
    if (text === '') {
      throw invalid(
        `One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: ${element.name}`,
      );
    }
    const limit = i === 0 ? MAX_PARTITION_KEY_BYTES : MAX_SORT_KEY_BYTES;
    if (valueBytes(value) > limit) {
      throw invalid(
        `One or more parameter values were invalid: Size of ${i === 0 ? 'hashkey' : 'rangekey'} has exceeded the maximum size limit of ${limit} bytes`,
      );
    }
    return `${type}:${type === 'N' ? Number(text) : text}`;
  });
  return JSON.stringify(parts);
}

/** Checks an item to put: every attribute a valid AttributeValue, within 400 KB. */
export function checkItem(item: unknown, where: string): Item {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) throw invalid(`${where} must be a map of attribute values`);
  for (const [name, value] of Object.entries(item)) {
    if (name.length === 0) throw invalid(`An attribute name cannot be empty (at ${where})`);
    checkAttributeValue(value, `${where}.${name}`);
  }
  if (itemBytes(item as Item) > MAX_ITEM_BYTES) throw invalid('Item size has exceeded the maximum allowed size');
  return item as Item;
}

/** Checks a table name against the TableName shape. */
export function checkTableName(value: unknown, member: string): string {
  const { min, max, pattern } = LIMITS.TableName;
  if (typeof value !== 'string')
    throw invalid(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  if (value.length < min || value.length > max) {
    throw invalid(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must have length ${value.length < min ? `greater than or equal to ${min}` : `less than or equal to ${max}`}`,
    );
  }
  if (!new RegExp(`^${pattern}$`).test(value)) {
    throw invalid(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern}`,
    );
  }
  return value;
}

/** The key types a KeySchema/AttributeDefinitions pair allows. */
export function isScalarType(value: unknown): value is KeyElement['type'] {
  return (ENUMS.ScalarAttributeType as readonly unknown[]).includes(value);
}

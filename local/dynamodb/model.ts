/**
 * What the local DynamoDB takes from DynamoDB's official API model (botocore
 * `dynamodb/2012-08-10/service-2.json`): the protocol, the operations it
 * serves, the limits of their shapes, the error shapes, and the rules the
 * operations' documentation states (BatchWriteItem: "DynamoDB rejects the
 * entire batch write operation" when…). Transcribed by hand;
 * test/emulator/dynamodb-model.test.ts compares each value with the model file
 * in the project's Python environment.
 */

/** `metadata.targetPrefix`: X-Amz-Target is `DynamoDB_20120810.<Operation>`. */
export const TARGET_PREFIX = 'DynamoDB_20120810';
/** `metadata.endpointPrefix`, which SigV4 signs for. */
export const SIGNING_NAME = 'dynamodb';
/** `metadata.jsonVersion`: the content type is `application/x-amz-json-1.0`. */
export const JSON_VERSION = '1.0';

/** The operations served: what the reference cache calls, and the table's life for tests. */
export const EMULATED_OPERATIONS = ['CreateTable', 'DescribeTable', 'DeleteTable', 'BatchGetItem', 'BatchWriteItem'] as const;
export type Operation = (typeof EMULATED_OPERATIONS)[number];

/** Shape limits, by the model's shape name. */
export const LIMITS = {
  TableName: { min: 3, max: 255, pattern: '[a-zA-Z0-9_.-]+' },
  /** BatchGetItem.RequestItems: tables. */
  BatchGetRequestMap: { min: 1, max: 100 },
  /** KeysAndAttributes.Keys. */
  KeyList: { min: 1, max: 100 },
  /** BatchWriteItem.RequestItems: tables. */
  BatchWriteItemRequestMap: { min: 1, max: 25 },
  /** The put and delete requests of one table. */
  WriteRequests: { min: 1, max: 25 },
  KeySchemaAttributeName: { min: 1, max: 255 },
} as const;

/** Enumerations of the model used here. */
export const ENUMS = {
  KeyType: ['HASH', 'RANGE'],
  ScalarAttributeType: ['S', 'N', 'B'],
  BillingMode: ['PROVISIONED', 'PAY_PER_REQUEST'],
} as const;

/** The operations' documentation: most items of one BatchGetItem call, and of one BatchWriteItem call. */
export const BATCH_GET_MAX_ITEMS = 100;
export const BATCH_WRITE_MAX_REQUESTS = 25;
/** An item's largest size (BatchWriteItem's documentation: "Any individual item in a batch exceeds 400 KB"). */
export const MAX_ITEM_BYTES = 400 * 1024;
/** Key length limits (same place): 2048 bytes for a partition key, 1024 for a sort key. */
export const MAX_PARTITION_KEY_BYTES = 2048;
export const MAX_SORT_KEY_BYTES = 1024;

/** Exception shapes the emulated operations name in the model, with their HTTP status. */
export const ERRORS = {
  ResourceNotFoundException: 400,
  ResourceInUseException: 400,
  LimitExceededException: 400,
  ProvisionedThroughputExceededException: 400,
  RequestLimitExceeded: 400,
  ThrottlingException: 400,
  ItemCollectionSizeLimitExceededException: 400,
  ReplicatedWriteConflictException: 400,
  InternalServerError: 500,
} as const;
export type ErrorCode = keyof typeof ERRORS;

/** Errors common to every AWS JSON service, which the model does not name; with the namespace of their `__type`. */
export const COMMON_ERRORS = {
  ValidationException: 'com.amazon.coral.validate',
  AccessDeniedException: 'com.amazon.coral.service',
  MissingAuthenticationTokenException: 'com.amazon.coral.service',
  InvalidSignatureException: 'com.amazon.coral.service',
  SerializationException: 'com.amazon.coral.service',
  UnknownOperationException: 'com.amazon.coral.service',
} as const;
export type CommonErrorCode = keyof typeof COMMON_ERRORS;

/** The namespace of the modeled exceptions' `__type`. */
const MODEL_NAMESPACE = 'com.amazonaws.dynamodb.v20120810';

/** An error the JSON API answers with: `{"__type": "<namespace>#<code>", "message": …}`. */
export class DynamoError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode | CommonErrorCode,
    message: string,
    status?: number,
  ) {
    super(message);
    this.status = status ?? (code in ERRORS ? ERRORS[code as ErrorCode] : 400);
  }

  /** The `__type` of the answer's body. */
  get type(): string {
    return `${this.code in COMMON_ERRORS ? COMMON_ERRORS[this.code as CommonErrorCode] : MODEL_NAMESPACE}#${this.code}`;
  }
}

/** A ValidationException. */
export const invalid = (message: string) => new DynamoError('ValidationException', message);

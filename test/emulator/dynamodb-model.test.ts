/**
 * The local DynamoDB's transcription of DynamoDB's API model (local/dynamodb/model.ts)
 * against the model file itself: botocore's dynamodb/2012-08-10/service-2.json,
 * from the botocore that moto brings into the project's Python environment.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  BATCH_GET_MAX_ITEMS,
  BATCH_WRITE_MAX_REQUESTS,
  EMULATED_OPERATIONS,
  ENUMS,
  ERRORS,
  JSON_VERSION,
  LIMITS,
  MAX_ITEM_BYTES,
  MAX_PARTITION_KEY_BYTES,
  MAX_SORT_KEY_BYTES,
  SIGNING_NAME,
  TARGET_PREFIX,
} from '../../local/dynamodb';
import { describeWithBackends, motoPython } from '../support/backends';

interface Shape {
  type: string;
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  exception?: boolean;
  fault?: boolean;
}
interface ServiceModel {
  metadata: { targetPrefix: string; endpointPrefix: string; signingName?: string; jsonVersion: string; protocol: string };
  operations: Record<string, { errors?: Array<{ shape: string }>; documentation?: string }>;
  shapes: Record<string, Shape>;
}

/** An operation's documentation as text, tags and repeated spaces removed. */
const text = (html = '') => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

describeWithBackends(['moto'], "the local DynamoDB's API model against botocore's")('local/dynamodb/model.ts', () => {
  let model: ServiceModel;
  beforeAll(() => {
    const directory = execFileSync(motoPython()!, ['-c', 'import botocore, os; print(os.path.dirname(botocore.__file__))'], {
      encoding: 'utf8',
    }).trim();
    const file = path.join(directory, 'data', 'dynamodb', '2012-08-10', 'service-2.json.gz');
    model = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as ServiceModel;
  });

  test('protocol, target prefix, signing name and operations', () => {
    expect(model.metadata.protocol).toBe('json');
    expect(model.metadata.jsonVersion).toBe(JSON_VERSION);
    expect(model.metadata.targetPrefix).toBe(TARGET_PREFIX);
    expect(model.metadata.signingName ?? model.metadata.endpointPrefix).toBe(SIGNING_NAME);
    for (const operation of EMULATED_OPERATIONS) expect(Object.keys(model.operations)).toContain(operation);
  });

  test('every limit and pattern, shape by shape, and the enumerations', () => {
    for (const [name, limits] of Object.entries(LIMITS)) {
      const shape = model.shapes[name];
      const fromModel = Object.fromEntries(Object.keys(limits).map((key) => [key, shape[key as keyof Shape]]));
      expect({ name, ...limits }).toEqual({ name, ...fromModel });
    }
    for (const [name, values] of Object.entries(ENUMS)) expect({ name, values: model.shapes[name].enum }).toEqual({ name, values: [...values] });
  });

  test("the limits the operations' documentation states", () => {
    const batchGet = text(model.operations.BatchGetItem.documentation);
    const batchWrite = text(model.operations.BatchWriteItem.documentation);
    expect(batchGet).toContain(`as many as ${BATCH_GET_MAX_ITEMS} items`);
    expect(batchGet).toContain('Too many items requested for the BatchGetItem call');
    expect(batchGet).toContain('ValidationException if the same key is specified multiple times');
    expect(batchWrite).toContain(`up to ${BATCH_WRITE_MAX_REQUESTS} item put or delete operations`);
    expect(batchWrite).toContain(`There are more than ${BATCH_WRITE_MAX_REQUESTS} requests in the batch`);
    expect(batchWrite).toContain(`exceeds ${MAX_ITEM_BYTES / 1024} KB`);
    expect(batchWrite).toContain(`the limit is ${MAX_PARTITION_KEY_BYTES} bytes and for a sort key, the limit is ${MAX_SORT_KEY_BYTES} bytes`);
    expect(batchWrite).toContain('at least two items with identical hash and range keys');
  });

  test('the errors the emulated operations name, each known, with its status', () => {
    const named = new Set(EMULATED_OPERATIONS.flatMap((operation) => (model.operations[operation].errors ?? []).map((e) => e.shape)));
    expect([...named].filter((error) => !(error in ERRORS))).toEqual([]);
    for (const [error, status] of Object.entries(ERRORS)) {
      const shape = model.shapes[error];
      expect({ error, exception: shape?.exception, status: shape?.fault ? 500 : 400 }).toEqual({ error, exception: true, status });
    }
  });
});

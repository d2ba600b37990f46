/**
 * The shipped reference-cache.js (npm run bundle), as the function loads it:
 * its DynamoDB client takes credentials from the environment and reaches the
 * endpoint that AWS_ENDPOINT_URL_DYNAMODB names (here the local DynamoDB).
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { verifyManifest, VerifiedManifest } from '../../lambda/verified-manifest';
import { LocalDynamoDb, createReferenceCacheTable, startLocalDynamoDb } from '../../local/dynamodb';

const BUNDLE = path.join(__dirname, '..', '..', 'assets', 'handler', 'reference-cache.js');
let local: LocalDynamoDb;

beforeAll(async () => {
  local = await startLocalDynamoDb({ region: process.env.AWS_REGION });
  createReferenceCacheTable(local.store, 'stack-references');
});
afterAll(async () => {
  await local.close();
});

test('stores and reads back through the bundled DynamoDB client, in a Node process of its own as Lambda runs it', async () => {
  expect(existsSync(BUNDLE)).toBe(true);
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ digest: `sha256:${'1'.repeat(64)}` }] }));
  const manifest = verifyManifest(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes) as VerifiedManifest;
  // Plain JavaScript, as the function runs: the manifest crosses as data (the type-level guarantee is the TypeScript callers').
  const script = `
    const { openReferenceCache } = require(${JSON.stringify(BUNDLE)});
    (async () => {
      const cache = openReferenceCache({ tableName: 'stack-references' });
      const manifest = ${JSON.stringify({ digest: manifest.digest, references: manifest.references })};
      await cache.store([manifest]);
      const found = await cache.lookup([manifest.digest, 'sha256:${'2'.repeat(64)}']);
      process.stdout.write(JSON.stringify({ found: [...found.values()], stats: cache.stats }));
    })();`;
  // Asynchronously: the local DynamoDB answers from this process's event loop.
  const { stdout: output } = await promisify(execFile)(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL_DYNAMODB: local.endpoint,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  });
  const { found, stats } = JSON.parse(output) as { found: unknown[]; stats: Record<string, unknown> };
  expect(found).toEqual([{ digest: manifest.digest, references: [`sha256:${'1'.repeat(64)}`] }]);
  expect(stats).toMatchObject({ stored: 1, hits: 1, misses: 1, calls: 2, causes: [] });
  expect(local.requests().map((r) => r.operation)).toEqual(['BatchWriteItem', 'BatchGetItem']);
});

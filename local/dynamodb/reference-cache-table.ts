/**
 * The stack's reference cache table as the construct creates it
 * (lib/provider.ts: on-demand billing, partition key `Digest`, a string),
 * made in a local DynamoDB's store for a test, the demo or a benchmark.
 */
import type { DynamoStore, StoredTable } from './store';

export function createReferenceCacheTable(store: DynamoStore, name: string): StoredTable {
  return store.createTable({ name, hash: { name: 'Digest', type: 'S' }, billingMode: 'PAY_PER_REQUEST' });
}

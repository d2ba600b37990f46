/**
 * The project's local DynamoDB (not shipped in the npm package): see server.ts.
 */
export * from './json-api';
export * from './model';
export * from './reference-cache-table';
export * from './server';
export * from './store';

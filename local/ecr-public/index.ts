/**
 * The project's local ECR Public (not shipped in the npm package): see server.ts.
 */
export * from './credentials';
export * from './faults';
export * from './model';
export * from './process';
export * from './pull-quota';
export * from './registry-api';
export * from './seed';
export * from './server';
export * from './store';

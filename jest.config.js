/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // jsii writes .js next to each .ts: list ts first, or jest loads stale .js.
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.dev.json' }],
  },
  setupFiles: ['<rootDir>/test/support/env.ts'],
  // After jest's summary: every suite skipped, and why (a cross-check's missing backend).
  reporters: ['default', '<rootDir>/test/support/skipped-suites-reporter.cjs'],
  testTimeout: 60_000,
  // One worker a core. Jest's default keeps one core for itself (so one worker on CI's two), but the suites mostly wait
  // (local servers, answer delays, pacing): on two cores the whole run took 535 s with one worker, 262 s with two.
  maxWorkers: '100%',
};

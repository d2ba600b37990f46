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
};

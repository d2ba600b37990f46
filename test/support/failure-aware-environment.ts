/**
 * Jest's Node environment, plus a count of the failed tests of the file, so
 * that a test file can print its figures only when something failed (see
 * figures.ts). A test file opts in with the docblock
 * `@jest-environment ./test/support/failure-aware-environment.ts`.
 */
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import type { Circus } from '@jest/types';
import NodeEnvironment from 'jest-environment-node';
import { FAILED_TESTS_KEY } from './figures';

export default class FailureAwareEnvironment extends NodeEnvironment {
  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    (this.global as unknown as Record<string, number>)[FAILED_TESTS_KEY] = 0;
  }

  handleTestEvent(event: Circus.Event): void {
    if (event.name === 'test_done' && event.test.errors.length > 0) {
      (this.global as unknown as Record<string, number>)[FAILED_TESTS_KEY]++;
    }
  }
}

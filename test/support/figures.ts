/// <reference types="jest" />
/**
 * Figures a test file gathers (faults injected, retries, sequences run) are
 * printed only when one of its tests failed: quiet on success, loud on failure.
 * The file must run in failure-aware-environment.ts, which counts the failures.
 */

/** Where failure-aware-environment.ts keeps the count, on the test file's global object. */
export const FAILED_TESTS_KEY = '__failedTestCount';

/** Failed tests of this file so far. */
export function failedTestCount(): number {
  const count = (globalThis as unknown as Record<string, number | undefined>)[FAILED_TESTS_KEY];
  if (count === undefined) {
    throw new Error('figures.ts needs the docblock @jest-environment ./test/support/failure-aware-environment.ts in the test file');
  }
  return count;
}

/** Prints `figures()` after the enclosing block's tests when a test of the file has failed by then. */
export function printFiguresOnFailure(label: string, figures: () => unknown): void {
  afterAll(() => {
    if (failedTestCount() > 0) console.log(`${label} (printed because a test failed): ${JSON.stringify(figures(), null, 1)}`);
  });
}

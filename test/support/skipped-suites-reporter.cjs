// A jest reporter that names, with jest's own summary, every suite whose
// tests were skipped, with the reason: a cross-check suite whose backend is
// missing on this machine says which and how to install it (its reason is the
// title of a marker test, see describeWithBackends in backends.ts); a test
// skipped or left to do in the code is named too. A run filtered with -t skips
// what does not match by design: then only the backend skips are named.
'use strict';
const path = require('node:path');

/** Title prefix of the marker test that describeWithBackends adds to a suite it skips. */
const SKIP_REASON_PREFIX = 'skipped because ';

class SkippedSuitesReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.filtered = Boolean(globalConfig.testNamePattern);
  }

  onRunComplete(_contexts, results) {
    const lines = [];
    for (const file of results.testResults) {
      const skipped = file.testResults.filter((t) => t.status === 'pending' || t.status === 'todo' || t.status === 'skipped');
      if (skipped.length === 0) continue;
      const where = path.relative(this.rootDir, file.testFilePath);
      // One line per suite (its top-level describe, or the file).
      const suites = new Map();
      for (const test of skipped) {
        const suite = test.ancestorTitles[0] ?? '(top level)';
        const entry = suites.get(suite) ?? { tests: 0, reason: undefined };
        if (test.title.startsWith(SKIP_REASON_PREFIX)) entry.reason = test.title.slice(SKIP_REASON_PREFIX.length);
        else entry.tests++;
        suites.set(suite, entry);
      }
      for (const [suite, { tests, reason }] of suites) {
        if (reason === undefined && this.filtered) continue;
        const count = `${tests} test${tests === 1 ? '' : 's'} skipped`;
        lines.push(`  ${where} › ${suite}: ${count}, ${reason ?? 'skipped or left to do in the code (test.skip, test.todo)'}`);
      }
    }
    if (lines.length === 0) return;
    process.stderr.write(`\nSkipped suites (${lines.length}):\n${lines.join('\n')}\n`);
  }
}

module.exports = SkippedSuitesReporter;
module.exports.SKIP_REASON_PREFIX = SKIP_REASON_PREFIX;

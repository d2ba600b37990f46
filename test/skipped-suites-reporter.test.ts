/**
 * `npm test` names every skipped suite, and why, with jest's summary: a
 * cross-check whose backend is missing on a laptop is never silent.
 */
import * as path from 'node:path';
import { SKIP_REASON_PREFIX } from './support/backends';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Reporter = require('./support/skipped-suites-reporter.cjs') as new (config: { rootDir: string; testNamePattern?: string }) => {
  onRunComplete(contexts: unknown, results: unknown): void;
};

const root = path.join(__dirname, '..');
const test_ = (status: string, title: string, ancestorTitles: string[] = ['the suite']) => ({ status, title, ancestorTitles });
const results = {
  testResults: [
    {
      testFilePath: path.join(root, 'test/emulator/cross-check-moto.test.ts'),
      testResults: [
        test_('pending', `${SKIP_REASON_PREFIX}the cross-check needs moto: moto's server was not found`),
        test_('pending', 'a'),
        test_('pending', 'b'),
      ],
    },
    { testFilePath: path.join(root, 'test/unit/plan.test.ts'), testResults: [test_('passed', 'p'), test_('todo', 'later', ['plans'])] },
    { testFilePath: path.join(root, 'test/unit/select.test.ts'), testResults: [test_('passed', 'p')] },
  ],
};

function printed(config: { testNamePattern?: string } = {}): string {
  const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    new Reporter({ rootDir: root, ...config }).onRunComplete(new Set(), results);
    return write.mock.calls.map(([text]) => String(text)).join('');
  } finally {
    write.mockRestore();
  }
}

test('names each skipped suite with its file, its test count and the reason a backend gave', () => {
  expect(printed()).toBe(
    '\nSkipped suites (2):\n' +
      "  test/emulator/cross-check-moto.test.ts › the suite: 2 tests skipped, the cross-check needs moto: moto's server was not found\n" +
      '  test/unit/plan.test.ts › plans: 1 test skipped, skipped or left to do in the code (test.skip, test.todo)\n',
  );
});

test('with -t, names only the backend skips (what -t leaves out is skipped by design)', () => {
  expect(printed({ testNamePattern: 'x' })).toBe(
    "\nSkipped suites (1):\n  test/emulator/cross-check-moto.test.ts › the suite: 2 tests skipped, the cross-check needs moto: moto's server was not found\n",
  );
});

test('prints nothing when nothing was skipped', () => {
  const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    new Reporter({ rootDir: root }).onRunComplete(new Set(), { testResults: [results.testResults[2]] });
    expect(write).not.toHaveBeenCalled();
  } finally {
    write.mockRestore();
  }
});

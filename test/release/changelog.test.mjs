// The changelog convention (release/changelog.mjs): which entries call for which
// version, and the section a release writes. Run by release:check (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bumpOf, releaseChangelog, releaseDate, releaseSection, unreleasedEntries } from '../../release/changelog.mjs';

const HEAD = '# Changelog\n\nIntro.\n\n';
const changelog = (unreleased, rest = '## [0.1.0] - 2026-01-01\n\n### Added\n\n- The first.\n') => `${HEAD}## [Unreleased]\n\n${unreleased}\n${rest}`;
const bump = (unreleased) => bumpOf(unreleasedEntries(changelog(unreleased)));

test('a fix calls for a patch, a feature for a minor, a removal or a **Breaking:** entry for a major', () => {
  assert.equal(bump('### Fixed\n\n- A fix.\n'), 'patch');
  assert.equal(bump('### Security\n\n- A CVE.\n'), 'patch');
  assert.equal(bump('### Fixed\n\n- A fix.\n\n### Added\n\n- A feature.\n'), 'minor');
  assert.equal(bump('### Changed\n\n- A default changed.\n'), 'minor');
  assert.equal(bump('### Deprecated\n\n- Old prop.\n'), 'minor');
  assert.equal(bump('### Removed\n\n- Old prop.\n'), 'major');
  assert.equal(bump('### Changed\n\n- **Breaking:** renamed X to Y.\n\n### Fixed\n\n- A fix.\n'), 'major');
  assert.equal(bump(''), undefined);
});

test('an entry keeps its continuation lines; only the [Unreleased] section is read', () => {
  const entries = unreleasedEntries(changelog('### Added\n\n- First line\n  second line.\n- Another.\n'));
  assert.deepEqual(entries, [
    { section: 'Added', text: 'First line\n  second line.' },
    { section: 'Added', text: 'Another.' },
  ]);
});

test('an unknown section, an entry before any section, or no [Unreleased] heading is an error that names the line', () => {
  assert.throws(
    () => unreleasedEntries(changelog('### Improved\n\n- X.\n')),
    /line 7: section "Improved" under \[Unreleased\] is not one of Added, Changed/,
  );
  assert.throws(() => unreleasedEntries(changelog('- X.\n')), /line 7: an entry under \[Unreleased\] before any/);
  assert.throws(() => unreleasedEntries('# Changelog\n\n## [0.1.0]\n'), /no "## \[Unreleased\]" heading/);
});

test('a release moves the entries under the dated version, leaves [Unreleased] empty and keeps the link references', () => {
  const before = changelog(
    '### Fixed\n\n- A fix.\n',
    '## [0.1.0] - 2026-01-01\n\n- Old.\n\n[Unreleased]: https://x/compare/v0.1.0...HEAD\n[0.1.0]: https://x/releases/tag/v0.1.0\n',
  );
  const after = releaseChangelog(before, { version: '0.1.1', date: '2026-02-03', previousTag: 'v0.1.0', repositoryUrl: 'https://x' });
  assert.equal(
    after,
    `${HEAD}## [Unreleased]\n\n## [0.1.1] - 2026-02-03\n\n### Fixed\n\n- A fix.\n\n## [0.1.0] - 2026-01-01\n\n- Old.\n\n[Unreleased]: https://x/compare/v0.1.1...HEAD\n[0.1.1]: https://x/compare/v0.1.0...v0.1.1\n[0.1.0]: https://x/releases/tag/v0.1.0\n`,
  );
  assert.equal(releaseSection(after, '0.1.1'), '### Fixed\n\n- A fix.');
  assert.equal(releaseDate(after, '0.1.1'), '2026-02-03');
  assert.deepEqual(unreleasedEntries(after), []);
});

test('the first release links to its tag; a version released twice or a bad date is refused', () => {
  const after = releaseChangelog(changelog('### Added\n\n- A.\n'), {
    version: '0.2.0',
    date: '2026-02-03',
    previousTag: undefined,
    repositoryUrl: 'https://x',
  });
  assert.match(after, /\n\[Unreleased\]: https:\/\/x\/compare\/v0\.2\.0\.\.\.HEAD\n\[0\.2\.0\]: https:\/\/x\/releases\/tag\/v0\.2\.0\n$/);
  assert.throws(
    () => releaseChangelog(after, { version: '0.2.0', date: '2026-02-03', repositoryUrl: 'https://x' }),
    /already has a section for 0\.2\.0/,
  );
  assert.throws(() => releaseChangelog(changelog('- A.'), { version: '0.2.0', date: '3 Feb', repositoryUrl: 'https://x' }), /not YYYY-MM-DD/);
});

test("a section that is not dated (the project's unpublished 0.1.0) is no release", () => {
  assert.equal(releaseDate('## [0.1.0] - not published yet\n', '0.1.0'), undefined);
});

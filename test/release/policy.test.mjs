// Versions and the refusal rules (release/semver.mjs, release/policy.mjs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextRelease, releaseVersionProblems, undeclaredBreak } from '../../release/policy.mjs';
import { bumpKind, bumpVersion, compareVersions, parseVersion, versionOfTag } from '../../release/semver.mjs';

const BREAK = ['err  - PROP x.Props.a: has been removed [removed:x.Props.a]'];
const entry = (section, text = 'x') => ({ section, text });

test('versions bump as semver says, 0.x included (a break of 0.y makes 1.0.0)', () => {
  assert.equal(bumpVersion('0.1.0', 'patch'), '0.1.1');
  assert.equal(bumpVersion('0.1.9', 'minor'), '0.2.0');
  assert.equal(bumpVersion('0.9.3', 'major'), '1.0.0');
  assert.equal(bumpVersion('1.2.3', 'major'), '2.0.0');
  assert.equal(bumpKind('1.2.3', '1.2.4'), 'patch');
  assert.equal(bumpKind('1.2.3', '1.10.0'), 'minor');
  assert.equal(bumpKind('1.2.3', '2.0.0'), 'major');
  assert.equal(bumpKind('1.2.3', '1.2.3'), undefined);
  assert.ok(compareVersions('1.10.0', '1.9.9') > 0);
  assert.throws(() => parseVersion('v1.2.3'), /not MAJOR\.MINOR\.PATCH/);
  assert.throws(() => parseVersion('1.2.3-rc.1'), /not MAJOR\.MINOR\.PATCH/);
  assert.equal(versionOfTag('v1.2.3'), '1.2.3');
  assert.equal(versionOfTag('go/v1.2.3'), undefined);
});

test('the next release follows the entries; nothing to release is refused', () => {
  assert.deepEqual(nextRelease({ currentVersion: '0.1.0', entries: [entry('Fixed')], apiBreaks: [], since: 'v0.1.0' }), {
    version: '0.1.1',
    kind: 'patch',
    tag: 'v0.1.1',
  });
  assert.deepEqual(
    nextRelease({ currentVersion: '0.1.0', entries: [entry('Added'), entry('Fixed')], apiBreaks: [], since: 'v0.1.0' }).version,
    '0.2.0',
  );
  assert.throws(() => nextRelease({ currentVersion: '0.1.0', entries: [], apiBreaks: [], since: 'v0.1.0' }), /nothing to release/);
});

test('an API break without a breaking entry is refused; with one it makes a major version', () => {
  assert.throws(
    () => nextRelease({ currentVersion: '1.4.2', entries: [entry('Added')], apiBreaks: BREAK, since: 'v1.4.2' }),
    /refusing to release: the public API broke since v1\.4\.2 \(jsii-diff\):\n {2}err {2}- PROP x\.Props\.a[\s\S]*calls for a minor version/,
  );
  assert.equal(
    nextRelease({ currentVersion: '1.4.2', entries: [entry('Changed', '**Breaking:** a removed')], apiBreaks: BREAK, since: 'v1.4.2' }).version,
    '2.0.0',
  );
  assert.equal(nextRelease({ currentVersion: '1.4.2', entries: [entry('Removed')], apiBreaks: BREAK, since: 'v1.4.2' }).version, '2.0.0');
  assert.equal(undeclaredBreak({ kind: 'minor', apiBreaks: [], since: 'x' }), undefined);
  assert.match(undeclaredBreak({ kind: undefined, apiBreaks: BREAK, since: 'x' }), /calls for a no version/);
});

test('a release whose version is not a major step after an API break is refused at publish time', () => {
  assert.deepEqual(releaseVersionProblems({ previousVersion: '1.4.2', version: '2.0.0', apiBreaks: BREAK }), []);
  assert.match(releaseVersionProblems({ previousVersion: '1.4.2', version: '1.5.0', apiBreaks: BREAK })[0], /1\.5\.0 is a minor step from 1\.4\.2/);
  assert.match(releaseVersionProblems({ previousVersion: '1.4.2', version: '1.4.2', apiBreaks: [] })[0], /not higher than the last release/);
  assert.deepEqual(releaseVersionProblems({ previousVersion: undefined, version: '0.2.0', apiBreaks: BREAK }), []);
});

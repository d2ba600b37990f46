// What version a release gets, and when it refuses to go out. Pure functions:
// the inputs are the changelog's entries, the versions, and jsii-diff's findings.
import { bumpOf } from './changelog.mjs';
import { bumpKind, bumpVersion, tagOf } from './semver.mjs';

const HOW_TO_DECLARE =
  'A breaking change needs a major version: add an entry that starts with **Breaking:** (what users must change) under ## [Unreleased] in CHANGELOG.md, or put it under ### Removed; or restore the API.';

function describeBreaks(apiBreaks, since) {
  return `the public API broke since ${since} (jsii-diff):\n${apiBreaks.map((line) => `  ${line}`).join('\n')}`;
}

/**
 * The problem, or undefined, when the API broke (`apiBreaks`, jsii-diff's lines)
 * and the change declared in the changelog (`kind`) is not major.
 */
export function undeclaredBreak({ kind, apiBreaks, since }) {
  if (apiBreaks.length === 0 || kind === 'major') return undefined;
  return `${describeBreaks(apiBreaks, since)}\nbut CHANGELOG.md's [Unreleased] calls for a ${kind ?? 'no'} version. ${HOW_TO_DECLARE}`;
}

/**
 * The next release: { version, kind, tag }. Throws, saying why, when there is
 * nothing to release or when the API broke without a breaking entry.
 */
export function nextRelease({ currentVersion, entries, apiBreaks, since }) {
  if (entries.length === 0) {
    throw new Error('nothing to release: ## [Unreleased] in CHANGELOG.md has no entry (each change that users notice adds one there)');
  }
  const kind = bumpOf(entries);
  const problem = undeclaredBreak({ kind, apiBreaks, since });
  if (problem) throw new Error(`refusing to release: ${problem}`);
  const version = bumpVersion(currentVersion, kind);
  return { version, kind, tag: tagOf(version) };
}

/**
 * The problems of releasing `version` after `previousVersion` (the last release;
 * undefined before the first) given jsii-diff's findings between their
 * assemblies: the version must grow, and by a major step when the API broke.
 */
export function releaseVersionProblems({ previousVersion, version, apiBreaks }) {
  if (previousVersion === undefined) return [];
  const kind = bumpKind(previousVersion, version);
  if (!kind) return [`version ${version} is not higher than the last release, ${previousVersion}`];
  if (apiBreaks.length > 0 && kind !== 'major') {
    return [`${describeBreaks(apiBreaks, previousVersion)}\nbut ${version} is a ${kind} step from ${previousVersion}. ${HOW_TO_DECLARE}`];
  }
  return [];
}

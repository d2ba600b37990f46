// npm run release:bump [-- --dry-run] [-- --no-commit] [-- --date=YYYY-MM-DD]
//
// Makes the next release from what landed since the last one:
//  1. reads the entries under ## [Unreleased] in CHANGELOG.md (docs/releasing.md:
//     the convention) and the change they call for: Removed or **Breaking:** ->
//     major, Added/Changed/Deprecated -> minor, Fixed/Security -> patch;
//  2. compares the built API (.jsii) with the last release's (release/api-baseline.json)
//     with jsii-diff, and refuses when the API broke and the entries do not call
//     for a major version;
//  3. writes the version into package.json and every file that names it
//     (release/versioned-files.mjs), moves the entries under ## [X.Y.Z] - date,
//     stores the API as the new baseline;
//  4. commits ("Release vX.Y.Z", the section as the body) and tags vX.Y.Z (annotated).
// --dry-run prints what it would do and writes nothing; --no-commit writes the
// files and stops (the release workflow proposes them as a pull request).
// Needs `npm run build` first (the .jsii of the code to release) and, without
// --dry-run or --no-commit, a worktree without uncommitted changes.
import { pathToFileURL } from 'node:url';
import { BASELINE, apiBreaks, baselineOf, root as defaultRoot } from './api-diff.mjs';
import { releaseChangelog, releaseSection, unreleasedEntries } from './changelog.mjs';
import { nextRelease } from './policy.mjs';
import {
  builtAssembly,
  committedBaseline,
  git,
  githubOutput,
  lastReleaseTag,
  packageJson,
  readText,
  repositoryUrl,
  tagExists,
  writeText,
} from './repo.mjs';
import { setVersion, versionDrift, versionedFiles } from './versioned-files.mjs';

/** Computes the release and, unless dryRun, writes, commits and tags it. Returns what it did. */
export function bump(root, { dryRun = false, commit = true, date = new Date().toISOString().slice(0, 10) } = {}) {
  const pkg = packageJson(root);
  const current = pkg.version;
  const changelog = readText(root, 'CHANGELOG.md');
  const files = Object.fromEntries(versionedFiles().map((file) => [file, readText(root, file)]));
  const drift = versionDrift(files, current);
  if (drift.length > 0) throw new Error(`the files that name the version disagree with package.json (${current}):\n  ${drift.join('\n  ')}`);
  const baseline = committedBaseline(root);
  if (baseline.version !== current) {
    throw new Error(
      `${BASELINE} is the API of ${baseline.version}, package.json says ${current}: the baseline must be the last release's (only release:bump changes either)`,
    );
  }
  if (!dryRun && commit) {
    const dirty = git(root, ['status', '--porcelain', '--untracked-files=no']);
    if (dirty) throw new Error(`uncommitted changes: commit or stash them first\n${dirty}`);
  }
  const assembly = builtAssembly(root);
  const previousTag = lastReleaseTag(root);
  const breaks = apiBreaks(baseline, assembly);
  const release = nextRelease({
    currentVersion: current,
    entries: unreleasedEntries(changelog),
    apiBreaks: breaks,
    since: previousTag ?? `the baseline (${baseline.version})`,
  });
  if (tagExists(root, release.tag)) throw new Error(`tag ${release.tag} exists already`);

  const nextChangelog = releaseChangelog(changelog, { version: release.version, date, previousTag, repositoryUrl: repositoryUrl(pkg) });
  const notes = releaseSection(nextChangelog, release.version);
  const result = { ...release, previousVersion: current, previousTag, date, notes, apiBreaks: breaks };
  if (dryRun) return result;

  const changed = setVersion(files, release.version);
  for (const [file, text] of Object.entries(changed)) writeText(root, file, text);
  writeText(root, 'CHANGELOG.md', nextChangelog);
  writeText(root, BASELINE, `${JSON.stringify(baselineOf({ ...assembly, version: release.version }), null, 1)}\n`);
  if (!commit) return result;

  git(root, ['add', 'CHANGELOG.md', BASELINE, ...Object.keys(changed)]);
  git(root, ['commit', '--quiet', '-m', `Release ${release.tag}`, '-m', notes]);
  git(root, ['tag', '-a', release.tag, '-m', `${release.tag}\n\n${notes}`]);
  return { ...result, commit: git(root, ['rev-parse', 'HEAD']) };
}

function main() {
  const args = process.argv.slice(2);
  const date = args.find((a) => a.startsWith('--date='))?.slice('--date='.length);
  const dryRun = args.includes('--dry-run');
  const commit = !args.includes('--no-commit');
  const result = bump(defaultRoot, { dryRun, commit, ...(date ? { date } : {}) });
  const what = dryRun ? 'would release' : commit ? 'released' : 'prepared (not committed)';
  console.log(
    `${what} ${result.tag}: a ${result.kind} step from ${result.previousVersion}${result.previousTag ? ` (${result.previousTag})` : ' (no release tag yet)'}`,
  );
  if (result.apiBreaks.length > 0) console.log(`declared breaking changes, jsii-diff agrees:\n  ${result.apiBreaks.join('\n  ')}`);
  console.log(`\n## [${result.version}] - ${result.date}\n\n${result.notes}\n`);
  if (result.commit) console.log(`commit ${result.commit}, tag ${result.tag}. Publish: git push --atomic origin HEAD ${result.tag}`);
  githubOutput({ version: result.version, tag: result.tag, kind: result.kind });
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main();
  } catch (error) {
    console.error(`release:bump: ${error.message}`);
    process.exitCode = 1;
  }
}

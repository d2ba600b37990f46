// node release/plan.mjs — what the release workflow does with this commit of main
// (written to $GITHUB_OUTPUT as action, version, tag; with --notes-file=F, the
// release notes into F when publishing):
//   publish  package.json's version has no tag yet and CHANGELOG.md has its dated
//            section (a release commit made by release:bump was merged): verified
//            here before anything is built: every file names that version, the
//            baseline is its API, and jsii-diff against the last release's assembly
//            finds no break unless the version is a major step. A failed
//            verification fails the workflow: the release refuses to go out.
//   propose  [Unreleased] has entries: the workflow runs release:bump and proposes
//            the result as the release pull request.
//   none     nothing to release.
// Needs `npm run build` first, and the history with its tags (fetch-depth: 0).
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BASELINE, apiBreaks, baselineOf, root as defaultRoot } from './api-diff.mjs';
import { releaseDate, releaseSection, unreleasedEntries } from './changelog.mjs';
import { releaseVersionProblems } from './policy.mjs';
import { builtAssembly, committedBaseline, githubOutput, lastRelease, packageJson, readText, tagExists } from './repo.mjs';
import { tagOf } from './semver.mjs';
import { versionDrift, versionedFiles } from './versioned-files.mjs';

export function plan(root) {
  const version = packageJson(root).version;
  const tag = tagOf(version);
  const changelog = readText(root, 'CHANGELOG.md');
  if (!tagExists(root, tag) && releaseDate(changelog, version)) {
    const problems = [];
    const files = Object.fromEntries(versionedFiles().map((file) => [file, readText(root, file)]));
    problems.push(...versionDrift(files, version));
    const assembly = builtAssembly(root);
    const baseline = committedBaseline(root);
    if (JSON.stringify(baseline) !== JSON.stringify(baselineOf(assembly))) {
      problems.push(`${BASELINE} is not the API of this commit: the release commit must store the API it releases (npm run release:bump does)`);
    }
    const previous = lastRelease(root);
    if (previous) {
      const breaks = apiBreaks(previous.baseline, assembly);
      problems.push(...releaseVersionProblems({ previousVersion: previous.version ?? previous.baseline.version, version, apiBreaks: breaks }));
    }
    if (problems.length > 0) throw new Error(`refusing to publish ${tag}:\n  ${problems.join('\n  ')}`);
    return { action: 'publish', version, tag, notes: releaseSection(changelog, version) };
  }
  const entries = unreleasedEntries(changelog);
  return { action: entries.length > 0 ? 'propose' : 'none', version, tag, notes: '' };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const result = plan(defaultRoot);
    console.log(`release plan: ${result.action} (package.json ${result.version})`);
    const notesFile = process.argv.find((a) => a.startsWith('--notes-file='))?.slice('--notes-file='.length);
    if (notesFile && result.action === 'publish') {
      mkdirSync(path.dirname(path.resolve(notesFile)), { recursive: true });
      writeFileSync(notesFile, `${result.notes}\n`);
    }
    githubOutput({ action: result.action, version: result.version, tag: result.tag });
  } catch (error) {
    console.error(`release plan: ${error.message}`);
    process.exitCode = 1;
  }
}

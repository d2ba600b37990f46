// CHANGELOG.md in Keep a Changelog form (https://keepachangelog.com/en/1.1.0/):
// what a change tells its users is written with the change, under
// `## [Unreleased]`, in one of the six sections below. A release turns that
// section into `## [X.Y.Z] - YYYY-MM-DD`. Pure functions of the file's text.

/** The sections Keep a Changelog defines, and the version each calls for at least. */
export const SECTIONS = {
  Added: 'minor',
  Changed: 'minor',
  Deprecated: 'minor',
  Removed: 'major',
  Fixed: 'patch',
  Security: 'patch',
};

/** An entry that starts with this (after `- `) breaks users, whatever its section: it calls for a major version. */
export const BREAKING_MARK = '**Breaking:**';

const RANK = { patch: 0, minor: 1, major: 2 };
const UNRELEASED = /^## \[Unreleased\][ \t]*$/m;

/** The lines of the `## [Unreleased]` section (without its heading), and where they sit. */
function unreleasedLines(text) {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => UNRELEASED.test(line));
  if (start < 0) throw new Error('CHANGELOG.md has no "## [Unreleased]" heading: add one above the newest release');
  let end = lines.findIndex((line, i) => i > start && /^## /.test(line));
  if (end < 0) end = lines.findIndex((line, i) => i > start && /^\[[^\]]+\]: /.test(line));
  if (end < 0) end = lines.length;
  return { lines, start, end };
}

/**
 * The entries of `## [Unreleased]`: [{ section, text }], in file order. An entry is
 * a `- ` bullet with its continuation lines. Throws, naming the line, on a heading
 * that is not one of SECTIONS or on text outside any section.
 */
export function unreleasedEntries(text) {
  const { lines, start, end } = unreleasedLines(text);
  const entries = [];
  let section;
  for (let i = start + 1; i < end; i++) {
    const line = lines[i];
    const heading = /^### (.+?)\s*$/.exec(line);
    if (heading) {
      if (!(heading[1] in SECTIONS)) {
        throw new Error(`CHANGELOG.md line ${i + 1}: section "${heading[1]}" under [Unreleased] is not one of ${Object.keys(SECTIONS).join(', ')}`);
      }
      section = heading[1];
    } else if (/^[-*] /.test(line)) {
      if (!section) throw new Error(`CHANGELOG.md line ${i + 1}: an entry under [Unreleased] before any "### Added" (or other) section heading`);
      entries.push({ section, text: line.slice(2).trim() });
    } else if (line.trim() !== '') {
      if (entries.length === 0 || !section)
        throw new Error(
          `CHANGELOG.md line ${i + 1}: text under [Unreleased] that is neither a section heading nor an entry: "${line.trim().slice(0, 60)}"`,
        );
      entries[entries.length - 1].text += `\n${line}`;
    }
  }
  return entries;
}

/** Whether an entry declares a breaking change. */
export const isBreaking = (entry) => entry.section === 'Removed' || entry.text.startsWith(BREAKING_MARK);

/** The version change the entries call for ('major', 'minor', 'patch'), or undefined without entries. */
export function bumpOf(entries) {
  let kind;
  for (const entry of entries) {
    const wanted = isBreaking(entry) ? 'major' : SECTIONS[entry.section];
    if (kind === undefined || RANK[wanted] > RANK[kind]) kind = wanted;
  }
  return kind;
}

/**
 * CHANGELOG.md with the [Unreleased] entries moved under `## [version] - date`,
 * [Unreleased] left empty above it, and the link references of Keep a Changelog
 * kept: [Unreleased] compares the new tag with HEAD, the new version compares
 * with the previous tag (or links to its release when there is none).
 */
export function releaseChangelog(text, { version, date, previousTag, repositoryUrl }) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(`release date "${date}" is not YYYY-MM-DD`);
  if (new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\]`, 'm').test(text)) throw new Error(`CHANGELOG.md already has a section for ${version}`);
  const { lines, start, end } = unreleasedLines(text);
  const body = lines.slice(start + 1, end);
  while (body.length > 0 && body[0].trim() === '') body.shift();
  while (body.length > 0 && body[body.length - 1].trim() === '') body.pop();
  const released = [lines[start], '', `## [${version}] - ${date}`, '', ...body, ''];
  let out = [...lines.slice(0, start), ...released, ...lines.slice(end)].join('\n');

  const tag = `v${version}`;
  const links = [
    `[Unreleased]: ${repositoryUrl}/compare/${tag}...HEAD`,
    previousTag ? `[${version}]: ${repositoryUrl}/compare/${previousTag}...${tag}` : `[${version}]: ${repositoryUrl}/releases/tag/${tag}`,
  ];
  if (/^\[Unreleased\]: .*$/m.test(out)) {
    out = out.replace(/^\[Unreleased\]: .*$/m, links.join('\n'));
  } else {
    out = `${out.replace(/\n*$/, '')}\n\n${links.join('\n')}\n`;
  }
  return out;
}

/** The body of the `## [version] - date` section (the release notes), or undefined. */
export function releaseSection(text, version) {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`## [${version}] - `));
  if (start < 0) return undefined;
  let end = lines.findIndex((line, i) => i > start && (/^## /.test(line) || /^\[[^\]]+\]: /.test(line)));
  if (end < 0) end = lines.length;
  return lines
    .slice(start + 1, end)
    .join('\n')
    .trim();
}

/** The date of the `## [version] - YYYY-MM-DD` heading, or undefined. */
export function releaseDate(text, version) {
  return new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\] - (\\d{4}-\\d{2}-\\d{2})\\s*$`, 'm').exec(text)?.[1];
}

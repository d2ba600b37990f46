// Semantic versions as this project releases them: MAJOR.MINOR.PATCH, no
// pre-release or build suffix (a release is a release). Pure functions.

const PATTERN = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/** The three numbers of `version`; throws on anything else (a pre-release, a `v` prefix). */
export function parseVersion(version) {
  const match = PATTERN.exec(String(version));
  if (!match) throw new Error(`version "${version}" is not MAJOR.MINOR.PATCH (three numbers, no prefix or suffix)`);
  return match.slice(1, 4).map(Number);
}

/** The version after `version` for a change of `kind` ('major', 'minor' or 'patch'). */
export function bumpVersion(version, kind) {
  const [major, minor, patch] = parseVersion(version);
  switch (kind) {
    case 'major':
      return `${major + 1}.0.0`;
    case 'minor':
      return `${major}.${minor + 1}.0`;
    case 'patch':
      return `${major}.${minor}.${patch + 1}`;
    default:
      throw new Error(`bump kind "${kind}" is not major, minor or patch`);
  }
}

/** Negative, zero or positive as `a` is lower than, equal to or higher than `b`. */
export function compareVersions(a, b) {
  const [x, y] = [parseVersion(a), parseVersion(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/**
 * The kind of change from `previous` to `next` ('major', 'minor', 'patch'), or
 * undefined when `next` is not higher. Major means the first number grew: this
 * project gives 0.x no special meaning (a breaking change of 0.y makes 1.0.0).
 */
export function bumpKind(previous, next) {
  if (compareVersions(next, previous) <= 0) return undefined;
  const [a, b] = [parseVersion(previous), parseVersion(next)];
  if (b[0] !== a[0]) return 'major';
  if (b[1] !== a[1]) return 'minor';
  return 'patch';
}

/** The git tag of a version. */
export const tagOf = (version) => `v${version}`;

/** The version of a tag made by tagOf, or undefined for any other tag. */
export function versionOfTag(tag) {
  const version = /^v(\d+\.\d+\.\d+)$/.exec(tag)?.[1];
  return version && PATTERN.test(version) ? version : undefined;
}

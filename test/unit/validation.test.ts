import { MAX_IMAGE_IDS, collapseDuplicates, parseProperties, propertiesProblems, registryReadRateProblem } from '../../lib/validation';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const valid = {
  RepositoryName: 'team/app',
  ImageIds: [{ imageTag: 'pr-42' }, { imageDigest: DIGEST }, { imageTag: 'v1', imageDigest: DIGEST }],
  DeleteOn: ['Create', 'Update', 'Delete'],
  FailOnImageFailure: 'true',
  ApiRegion: 'us-east-1',
};

describe('the shared property rules', () => {
  test('accept a valid set of properties', () => {
    expect(propertiesProblems(valid)).toEqual([]);
    expect(parseProperties({ ...valid, RegistryId: '123456789012' })).toMatchObject({ RegistryId: '123456789012' });
  });

  test.each([
    ['a one-character repository name', { RepositoryName: 'a' }, 'repositoryName "a" has 1 characters (expected 2 to 205)'],
    ['a 206-character repository name', { RepositoryName: 'a'.repeat(206) }, 'has 206 characters (expected 2 to 205)'],
    ['an uppercase repository name', { RepositoryName: 'MyRepo' }, 'repositoryName "MyRepo" is not a valid ECR Public repository name'],
    ['a doubled separator', { RepositoryName: 'my--repo' }, 'is not a valid ECR Public repository name'],
    ['a short registry ID', { RegistryId: '12345' }, 'registryId "12345" is not an AWS account ID (expected 12 digits)'],
    ['a registry alias', { RegistryId: 'my-alias' }, 'registryId "my-alias" is not an AWS account ID'],
    ['an empty imageIds', { ImageIds: [] }, 'imageIds is empty (expected at least one image ID'],
    ['imageIds that is not a list', { ImageIds: 'pr-42' }, 'imageIds must be a list of image IDs, got "pr-42"'],
    ['an entry with neither tag nor digest', { ImageIds: [{}] }, 'imageIds[0] has neither imageTag nor imageDigest'],
    ['an entry that is a string', { ImageIds: ['pr-42'] }, 'imageIds[0] must be an object with imageTag and/or imageDigest, got "pr-42"'],
    ['an unknown field', { ImageIds: [{ imageTag: 'x', tag: 'y' }] }, 'imageIds[0] has an unknown field "tag" (allowed: imageTag, imageDigest)'],
    ['an empty tag', { ImageIds: [{ imageTag: '' }] }, 'imageIds[0]: imageTag "" has 0 characters (expected 1 to 300)'],
    [
      'a 301-character tag',
      { ImageIds: [{ imageTag: 't'.repeat(301) }] },
      'has 301 characters (expected 1 to 300; a tag that can exist is 1 to 128 characters',
    ],
    [
      'a short digest',
      { ImageIds: [{ imageDigest: 'sha256:abc' }] },
      'imageIds[0]: imageDigest "sha256:abc" is not a sha256 digest (expected sha256: followed by 64 lowercase hex characters)',
    ],
    ['an uppercase digest', { ImageIds: [{ imageDigest: `sha256:${'A'.repeat(64)}` }] }, 'is not a sha256 digest'],
    ['a sha512 digest', { ImageIds: [{ imageDigest: `sha512:${'a'.repeat(128)}` }] }, 'is not a sha256 digest'],
    ['an unknown event', { DeleteOn: ['Create', 'Rollback'] }, 'deleteOn has an unknown event "Rollback" (allowed: Create, Update, Delete)'],
    ['an empty deleteOn', { DeleteOn: [] }, 'deleteOn is empty: nothing would ever be deleted'],
    ['a deleteOn that is not a list', { DeleteOn: 'Delete' }, 'deleteOn must be a list of events, got "Delete"'],
    [
      'a region without the ECR Public API',
      { ApiRegion: 'eu-west-1' },
      'apiRegion "eu-west-1" does not serve the ECR Public API (allowed: us-east-1, us-west-2)',
    ],
    ['a non-boolean failOnImageFailure', { FailOnImageFailure: 'yes' }, 'failOnImageFailure must be true or false, got "yes"'],
  ])('reject %s, saying which property, what was given and what is allowed', (_name, change, message) => {
    const problems = propertiesProblems({ ...valid, ...change });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });

  test(`reject more than ${MAX_IMAGE_IDS} image IDs without checking each`, () => {
    const ImageIds = Array.from({ length: 100_000 }, (_, i) => ({ imageTag: `t${i}` }));
    expect(propertiesProblems({ ...valid, ImageIds })).toEqual([
      `imageIds has 100000 entries (expected at most ${MAX_IMAGE_IDS}; split the deletion over several resources)`,
    ]);
  });

  test('list every problem, not only the first', () => {
    const problems = propertiesProblems({ ...valid, RepositoryName: 'X', ImageIds: [{ imageTag: '' }, { imageDigest: 'nope' }] });
    expect(problems).toHaveLength(3);
    expect(() => parseProperties({ ...valid, RepositoryName: 'X' })).toThrow(/invalid properties: repositoryName "X"/);
  });

  test('let values the caller marks as unresolved through', () => {
    const token = '${Token[TOKEN.42]}';
    const skip = (v: unknown) => typeof v === 'string' && v.includes('${Token[');
    expect(propertiesProblems({ ...valid, RepositoryName: token, RegistryId: token, ImageIds: [{ imageDigest: token }] }, skip)).toEqual([]);
  });

  test('shorten a huge value in the message', () => {
    const [problem] = propertiesProblems({ ...valid, ImageIds: [{ imageTag: 'x'.repeat(5000) }] });
    expect(problem.length).toBeLessThan(250);
  });

  test('collapse exact repeats only, keeping the first', () => {
    const ids = [{ imageTag: 'a' }, { imageTag: 'a', imageDigest: DIGEST }, { imageTag: 'a' }, { imageDigest: DIGEST }];
    expect(collapseDuplicates(ids)).toEqual({
      unique: [{ imageTag: 'a' }, { imageTag: 'a', imageDigest: DIGEST }, { imageDigest: DIGEST }],
      duplicates: [{ index: 2, firstIndex: 0 }],
    });
  });
});

describe('the selection rules', () => {
  const base = { RepositoryName: 'app', DeleteOn: ['Delete'], FailOnImageFailure: 'true', ApiRegion: 'us-east-1' };
  const problemsOf = (Select: unknown, extra: object = {}) => propertiesProblems({ ...base, Select, ...extra });

  test('accept a selection alone, or with image IDs', () => {
    expect(problemsOf({ Match: 'tagged', TagPatterns: ['pr-*'], OlderThanSeconds: '604800', KeepNewest: '10', ProtectTags: ['latest'] })).toEqual([]);
    expect(problemsOf({ Match: 'all', ProtectTags: ['v*'] }, { ImageIds: [{ imageTag: 'x' }], DryRun: 'true' })).toEqual([]);
  });

  test('ask for image IDs or a selection when both are missing', () => {
    expect(propertiesProblems(base)).toEqual(['neither imageIds nor select is given (expected image IDs to delete, a selection, or both)']);
  });

  test.each([
    ['an unknown kind', { Match: 'some' }, 'select has an unknown kind "some" (allowed: all, untagged, tagged, lifecycle)'],
    ['no patterns', { Match: 'tagged', TagPatterns: [] }, 'select.tagsMatching must be a non-empty list of tag patterns, got []'],
    [
      'an empty pattern',
      { Match: 'tagged', TagPatterns: ['pr-*', ''] },
      'select.tagsMatching[1] "" is not a tag pattern (expected 1 to 300 characters',
    ],
    ['patterns on another kind', { Match: 'all', TagPatterns: ['x'] }, 'select.tagsMatching patterns are given, but the selection is "all"'],
    ['keepNewest below 1', { Match: 'all', KeepNewest: '0' }, 'select.keepNewest must be a whole number of at least 1 (images kept), got "0"'],
    ['a fractional keepNewest', { Match: 'all', KeepNewest: '1.5' }, 'select.keepNewest must be a whole number of at least 1'],
    [
      'a zero age',
      { Match: 'all', OlderThanSeconds: '0' },
      'select.olderThan must be a whole number of at least 1 (seconds since the push: Duration.seconds(1) or longer, in whole seconds), got "0"',
    ],
    ['a negative age', { Match: 'all', OlderThanSeconds: '-5' }, 'select.olderThan must be a whole number of at least 1'],
    ['an empty protect pattern', { Match: 'all', ProtectTags: [''] }, 'select.protectTags[0] "" is not a tag pattern'],
    [
      'protecting every tag of a tag selection',
      { Match: 'tagged', TagPatterns: ['pr-*'], ProtectTags: ['*'] },
      'select.protectTags "*" protects every tag: tagsMatching(...) could never delete anything',
    ],
    [
      'protecting every tag of all images',
      { Match: 'all', ProtectTags: ['**'] },
      'select.protectTags "**" protects every tagged image: use ImageSelection.untaggedImages() instead',
    ],
    [
      'protecting the selected pattern',
      { Match: 'tagged', TagPatterns: ['pr-*'], ProtectTags: ['pr-*'] },
      'select.tagsMatching "pr-*" is also in protectTags',
    ],
    ['protecting tags of untagged images', { Match: 'untagged', ProtectTags: ['latest'] }, 'select.protectTags has no effect on untaggedImages()'],
    ['a selection that is not an object', 'all', 'select must be an ImageSelection, got "all"'],
  ])('reject %s', (_name, select, message) => {
    const problems = problemsOf(select);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });

  test('reject a dryRun that is not a boolean', () => {
    expect(problemsOf({ Match: 'all' }, { DryRun: 'maybe' })).toEqual(['dryRun must be true or false, got "maybe"']);
  });
});

describe('the registry read rate', () => {
  const base = { RepositoryName: 'app', DeleteOn: ['Delete'], FailOnImageFailure: 'true', ApiRegion: 'us-east-1', Select: { Match: 'untagged' } };

  test.each(['0.1', '2.5', '5', '100'])('accept %s reads per second (the wire carries a decimal string)', (rate) => {
    expect(propertiesProblems({ ...base, RegistryReadsPerSecond: rate })).toEqual([]);
    expect(registryReadRateProblem(Number(rate))).toBeUndefined();
  });

  test.each(['0', '0.09', '100.5', '-5', 'NaN', 'Infinity', '', ' ', 'five', '1e3'])('reject %j, saying what is allowed and why', (rate) => {
    expect(propertiesProblems({ ...base, RegistryReadsPerSecond: rate })).toEqual([
      `registryReadsPerSecond ${JSON.stringify(rate)} is not a rate of registry reads (expected a number from 0.1 to 100 reads per second; ` +
        "ECR Public's authenticated pull quota is 10 per second unless raised)",
    ]);
  });

  test('reject it without a selection: only a selection reads the registry', () => {
    const { Select: _select, ...withoutSelect } = base;
    expect(propertiesProblems({ ...withoutSelect, ImageIds: [{ imageTag: 'x' }], RegistryReadsPerSecond: '5' })).toEqual([
      'registryReadsPerSecond is given without select: only a selection reads the registry (give select, or remove registryReadsPerSecond)',
    ]);
  });

  test('let an unresolved value through at synth time', () => {
    expect(propertiesProblems({ ...base, RegistryReadsPerSecond: '${Token[TOKEN.1]}' }, (v) => v === '${Token[TOKEN.1]}')).toEqual([]);
  });
});

describe('tags and patterns take no control characters, whitespace or lone surrogates', () => {
  test.each([
    ['a NUL', 'pr\u00001', 'U+0000 at index 2'],
    ['a line feed', 'pr-1\n', 'U+000A at index 4'],
    ['a space', 'pr 1', 'U+0020 at index 2'],
    ['a no-break space', 'pr\u00a01', 'U+00A0 at index 2'],
    ['a line separator', 'pr\u20281', 'U+2028 at index 2'],
    ['a DEL', 'pr\u007f', 'U+007F at index 2'],
    ['a lone high surrogate', 'pr\ud800', 'U+D800 at index 2'],
    ['a lone low surrogate', '\udc00pr', 'U+DC00 at index 0'],
  ])('%s in an image tag, a tagsMatching pattern and a protectTags pattern', (_what, text, position) => {
    const where = position.replace('+', '\\+');
    expect(propertiesProblems({ ...valid, ImageIds: [{ imageTag: text }] })).toEqual([
      expect.stringMatching(new RegExp(`^imageIds\\[0\\]: imageTag .* has ${where} `, 's')),
    ]);
    expect(propertiesProblems({ ...valid, Select: { Match: 'tagged', TagPatterns: ['ok-*', text] } })).toEqual([
      expect.stringMatching(
        new RegExp(
          `^select\\.tagsMatching\\[1\\] .* has ${where} \\(tags and tag patterns take no control characters, whitespace or lone surrogates\\)$`,
          's',
        ),
      ),
    ]);
    expect(propertiesProblems({ ...valid, Select: { Match: 'all', ProtectTags: [text] } })).toEqual([
      expect.stringMatching(new RegExp(`^select\\.protectTags\\[0\\] .* has ${where}`, 's')),
    ]);
  });

  test('astral characters and punctuation pass: only what cannot be a tag is refused', () => {
    expect(propertiesProblems({ ...valid, ImageIds: [{ imageTag: 'v1.0_rc-1😀' }], Select: { Match: 'tagged', TagPatterns: ['v*.?'] } })).toEqual([]);
  });

  test('the repository logical ID and DeletionPolicy the construct passes are checked too', () => {
    expect(propertiesProblems({ ...valid, RepositoryLogicalId: 'Repo1', RepositoryDeletionPolicy: 'Retain' })).toEqual([]);
    expect(propertiesProblems({ ...valid, RepositoryLogicalId: 'Repo-1', RepositoryDeletionPolicy: 'Keep' })).toEqual([
      'RepositoryLogicalId "Repo-1" is not a logical ID (expected 1 to 255 letters and digits)',
      'RepositoryDeletionPolicy "Keep" is not a DeletionPolicy (allowed: Delete, Retain, Snapshot, RetainExceptOnCreate)',
    ]);
  });
});

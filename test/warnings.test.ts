/**
 * Synth-time warnings where a user would want one: a declared tag that no image
 * can have, and a stack deletion that would delete whole images from a
 * repository that outlives the stack.
 */
import { App, CfnParameter, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as fc from 'fast-check';
import { DeletionEvent, EcrPublicImageDeletion, EcrPublicImageDeletionProps, ImageSelection } from '../lib';
import { TAG_GRAMMAR, unmatchableTagWarnings } from '../lib/validation';

const DIGEST = `sha256:${'c'.repeat(64)}`;

function warningsOf(build: (stack: Stack) => void): string[] {
  const stack = new Stack(new App(), 'TestStack');
  build(stack);
  return Annotations.fromStack(stack)
    .findWarning('*', Match.anyValue())
    .map((w) => `${w.id}: ${w.entry.data}`);
}

const deletionWarnings = (props: EcrPublicImageDeletionProps) => warningsOf((stack) => new EcrPublicImageDeletion(stack, 'Deletion', props));

describe('a declared tag that no image can have', () => {
  // Whitespace and control characters are errors (validation.ts); the rest of the grammar is a warning.
  test("warns at synth time for 'pr/42', naming the property, the value and the grammar", () => {
    const warnings = deletionWarnings({ repositoryName: 'my-app', imageIds: [{ imageTag: 'pr-41' }, { imageTag: 'pr/42' }] });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^\/TestStack\/Deletion: imageIds\[1\]: imageTag "pr\/42" can never exist \(a registry tag is a letter, digit or _, then up to 127 letters, digits, _ \. or -\): nothing will be deleted for it/,
    );
    expect(warnings[0]).toContain('[ack: cdk-ecr-public-image-deletion:tagCanNeverExist]');
  });

  test.each(['-rc1', '.hidden', 'v1+build', 'ü', 'a'.repeat(129), 'pr:42'])('warns for %j', (imageTag) => {
    expect(deletionWarnings({ repositoryName: 'my-app', imageIds: [{ imageTag }] })).toEqual([expect.stringContaining('can never exist')]);
  });

  test.each(['v1.0.0', 'latest', '_x', 'A-b_c.d', 'a'.repeat(128)])('stays silent for %j', (imageTag) => {
    expect(deletionWarnings({ repositoryName: 'my-app', imageIds: [{ imageTag, imageDigest: DIGEST }] })).toEqual([]);
  });

  test('warns for a tagsMatching pattern that can match no tag, not for one that can', () => {
    const warnings = deletionWarnings({ repositoryName: 'my-app', select: ImageSelection.tagsMatching('pr-*', 'pr/*', '-x*', '*.rc?') });
    expect(warnings).toEqual([
      expect.stringContaining('select.tagsMatching[1] "pr/*" can match no tag'),
      expect.stringContaining('select.tagsMatching[2] "-x*" can match no tag'),
    ]);
  });

  test('lets a token through: its value is unknown until deployment', () => {
    const warnings = warningsOf((stack) => {
      const tag = new CfnParameter(stack, 'Tag').valueAsString;
      new EcrPublicImageDeletion(stack, 'Deletion', { repositoryName: 'my-app', imageIds: [{ imageTag: tag }] });
    });
    expect(warnings).toEqual([]);
  });

  test('never warns for a tag of the grammar, nor for a pattern that matches it (property)', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(TAG_GRAMMAR),
        fc.array(fc.constantFrom('keep', 'question', 'star-before'), { minLength: 128, maxLength: 128 }),
        (tag, edits) => {
          // A pattern that matches `tag`: some characters become `?`, some get a `*` before them.
          const pattern = [...tag].map((c, i) => (edits[i] === 'question' ? '?' : edits[i] === 'star-before' ? `*${c}` : c)).join('');
          const warnings = unmatchableTagWarnings({
            RepositoryName: 'my-app',
            ImageIds: [{ imageTag: tag }],
            Select: { Match: 'tagged', TagPatterns: [pattern] },
            DeleteOn: ['Create'],
            FailOnImageFailure: 'true',
            ApiRegion: 'us-east-1',
          });
          expect(warnings).toEqual([]);
        },
      ),
    );
  });

  test('warns for any tag outside the grammar (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 300 }).filter((tag) => !TAG_GRAMMAR.test(tag)),
        (tag) => {
          const warnings = unmatchableTagWarnings({
            RepositoryName: 'r',
            ImageIds: [{ imageTag: tag }],
            DeleteOn: ['Create'],
            FailOnImageFailure: 'true',
            ApiRegion: 'us-east-1',
          });
          expect(warnings).toEqual([expect.stringContaining('can never exist')]);
        },
      ),
    );
  });
});

describe('a stack deletion that deletes whole images from a repository that outlives the stack', () => {
  function withRepository(policy: RemovalPolicy | undefined, deletion: (stack: Stack, repo: ecr.CfnPublicRepository) => void): string[] {
    return warningsOf((stack) => {
      const repo = new ecr.CfnPublicRepository(stack, 'Repository', { repositoryName: 'my-app' });
      deletion(stack, repo);
      // Applied after the deletion: the warning reads the policy at synthesis.
      if (policy !== undefined) repo.applyRemovalPolicy(policy);
    });
  }

  test('emptyOnDelete on a RETAIN repository warns that it will never empty it, naming both constructs', () => {
    const warnings = withRepository(RemovalPolicy.RETAIN, (stack, repo) => EcrPublicImageDeletion.emptyOnDelete(stack, 'EmptyRepo', repo));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^\/TestStack\/EmptyRepo: EcrPublicImageDeletion 'TestStack\/EmptyRepo' empties its repository \(allImages\(\)\) when CloudFormation deletes the repository, but its repository 'TestStack\/Repository' is kept \(DeletionPolicy Retain\): the stack's deletion keeps the repository, and so every image in it/,
    );
    expect(warnings[0]).toContain('[ack: cdk-ecr-public-image-deletion:deletesFromRetainedRepository]');
  });

  test.each<[string, (repo: ecr.CfnPublicRepository) => Omit<EcrPublicImageDeletionProps, 'repositoryName'>]>([
    ['untaggedImages() with the default deleteOn', () => ({ select: ImageSelection.untaggedImages() })],
    ['a digest on DELETE', () => ({ imageIds: [{ imageDigest: DIGEST }], deleteOn: [DeletionEvent.DELETE] })],
    ['allImages() narrowed, on DELETE', () => ({ select: ImageSelection.allImages().protectTags('latest'), deleteOn: [DeletionEvent.DELETE] })],
  ])('warns for %s', (_, props) => {
    for (const policy of [RemovalPolicy.RETAIN, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE]) {
      const warnings = withRepository(
        policy,
        (stack, repo) => new EcrPublicImageDeletion(stack, 'Deletion', { repositoryName: repo.ref, ...props(repo) }),
      );
      expect(warnings).toEqual([
        expect.stringMatching(
          /but its repository 'TestStack\/Repository' is kept .*(keeps the repository, and so every image in it|would delete whole images from a repository that outlives it)/,
        ),
      ]);
    }
  });

  test.each<[string, RemovalPolicy | undefined, Omit<EcrPublicImageDeletionProps, 'repositoryName'>]>([
    [
      'emptyOnDelete on a repository the stack deletes',
      RemovalPolicy.DESTROY,
      { select: ImageSelection.allImages(), deleteOn: [DeletionEvent.DELETE] },
    ],
    ['emptyOnDelete on a repository with no removal policy', undefined, { select: ImageSelection.allImages(), deleteOn: [DeletionEvent.DELETE] }],
    [
      'tags on DELETE (the per-PR case)',
      RemovalPolicy.RETAIN,
      { imageIds: [{ imageTag: 'pr-42' }], select: ImageSelection.tagsMatching('pr-42-*'), deleteOn: [DeletionEvent.DELETE] },
    ],
    [
      'whole images at deployments only',
      RemovalPolicy.RETAIN,
      { select: ImageSelection.allImages(), deleteOn: [DeletionEvent.CREATE, DeletionEvent.UPDATE] },
    ],
    ['a dry run', RemovalPolicy.RETAIN, { select: ImageSelection.allImages(), deleteOn: [DeletionEvent.DELETE], dryRun: true }],
  ])('stays silent for %s', (_, policy, props) => {
    expect(withRepository(policy, (stack, repo) => new EcrPublicImageDeletion(stack, 'Deletion', { repositoryName: repo.ref, ...props }))).toEqual(
      [],
    );
  });

  test('does not say it for a repository named literally (its removal policy is not known); repositoryNameNotRef asks for its ref', () => {
    const warnings = withRepository(
      RemovalPolicy.RETAIN,
      (stack) => new EcrPublicImageDeletion(stack, 'Deletion', { repositoryName: 'my-app', select: ImageSelection.allImages() }),
    );
    expect(warnings).toEqual([expect.stringContaining('[ack: cdk-ecr-public-image-deletion:repositoryNameNotRef]')]);
  });
});

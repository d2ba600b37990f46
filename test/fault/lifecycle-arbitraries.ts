/**
 * The generators of the model-based lifecycles (model-lifecycles.test.ts):
 * random repositories, declarations, selections and event sequences, and how
 * a generated declaration becomes the resource properties the construct writes.
 */
import { createHash } from 'node:crypto';
import * as fc from 'fast-check';
import { ModelProperties, ModelSelection, RequestType } from '../support/custom-resource-model';
import { ModelImageId } from '../support/ecr-model';

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

/** Tags images may carry; with at most 15 in use, some are always absent (declared tags that do not exist). */
export const TAG_POOL = [
  'latest',
  'stable',
  'v1',
  'v2',
  'v3',
  'pr-1',
  'pr-2',
  'pr-3',
  'dev',
  'edge',
  'rc',
  'nightly',
  'canary',
  'beta',
  'alpha',
  'old',
  'x',
  'y',
];
export const EVENTS: readonly RequestType[] = ['Create', 'Update', 'Delete'];

/** A declared image, by reference: resolved to a real tag or digest when the event is sent. */
export type DeclRef =
  | { readonly kind: 'tag'; readonly tag: string }
  /** The digest of the image pushed `image`-th in this sequence; past the last one, a digest no image has. */
  | { readonly kind: 'digest'; readonly image: number }
  /** A tag and a digest together (only against the model: see the file comment). */
  | { readonly kind: 'tagAndDigest'; readonly tag: string; readonly image: number };

export const tagRef = fc.record({ kind: fc.constant('tag' as const), tag: fc.constantFrom(...TAG_POOL) });
export const digestRef = fc.record({ kind: fc.constant('digest' as const), image: fc.nat({ max: 7 }) });
export const pairRef = fc.record({ kind: fc.constant('tagAndDigest' as const), tag: fc.constantFrom(...TAG_POOL), image: fc.nat({ max: 7 }) });

/** One to six references; small pools make repeats (exact duplicates) common. */
export const declarationArb = (withPairs: boolean) =>
  fc.array(withPairs ? fc.oneof(tagRef, digestRef, pairRef) : fc.oneof(tagRef, digestRef), { minLength: 1, maxLength: 6 });

export const deleteOnArb = fc.subarray([...EVENTS], { minLength: 1 });

/** Patterns over TAG_POOL: some match several tags, some one, some none. */
export const PATTERNS = ['pr-*', 'v?', '*a*', 'x', 'n*y', 'zz*'];
export const PROTECT = ['v*', 'latest', 'st*', 'e?ge'];
export const protectArb = fc.option(fc.subarray(PROTECT, { minLength: 1, maxLength: 2 }), { nil: undefined });
/** A selection as the construct writes it; never one that validation refuses (protectTags on untaggedImages, a pattern also protected). */
export const selectionArb: fc.Arbitrary<ModelSelection> = fc.oneof(
  { weight: 3, arbitrary: protectArb.map((ProtectTags): ModelSelection => ({ Match: 'all', ...(ProtectTags ? { ProtectTags } : {}) })) },
  { weight: 1, arbitrary: fc.constant<ModelSelection>({ Match: 'untagged' }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.subarray(PATTERNS, { minLength: 1, maxLength: 2 }), protectArb)
      .map(([TagPatterns, ProtectTags]): ModelSelection => ({ Match: 'tagged', TagPatterns, ...(ProtectTags ? { ProtectTags } : {}) })),
  },
);

export interface PropsSpec {
  readonly decl: DeclRef[];
  readonly deleteOn: RequestType[];
  readonly failOnImageFailure: boolean;
  readonly withRegistryId: boolean;
  /** A selection, run after the declared IDs. */
  readonly select?: ModelSelection;
  /** The repository given by name only (no logical ID: emptied only when the stack is deleted). */
  readonly nameOnly?: boolean;
}
export const propsArb = (withPairs = false): fc.Arbitrary<PropsSpec> =>
  fc.record({ decl: declarationArb(withPairs), deleteOn: deleteOnArb, failOnImageFailure: fc.boolean(), withRegistryId: fc.boolean() });

/** Declarations with selections too: an emptier (allImages on Delete, nothing declared) one time in three. */
export const selectingPropsArb: fc.Arbitrary<PropsSpec> = fc.oneof(
  { weight: 2, arbitrary: propsArb(true) },
  {
    weight: 2,
    arbitrary: fc.record({
      decl: fc.array(fc.oneof(tagRef, digestRef, pairRef), { maxLength: 3 }),
      deleteOn: deleteOnArb,
      failOnImageFailure: fc.boolean(),
      withRegistryId: fc.boolean(),
      select: selectionArb,
      nameOnly: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.boolean().map((nameOnly): PropsSpec => ({
      decl: [],
      deleteOn: ['Delete'],
      failOnImageFailure: true,
      withRegistryId: false,
      select: { Match: 'all' },
      nameOnly,
    })),
  },
);

/** The initial repository: one to five images, each with one to three tags of its own. */
export const repositoryArb = fc.record({
  tagCounts: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 5 }),
  tagOrder: fc.shuffledSubarray(TAG_POOL, { minLength: TAG_POOL.length, maxLength: TAG_POOL.length }),
});

export type CreateFailure = 'none' | 'accessDenied' | 'missingRepository' | 'invalid' | 'controlCharacter';
export type Middle =
  | {
      readonly kind: 'update';
      readonly decl: DeclRef[] | null;
      readonly deleteOn: RequestType[] | null;
      readonly fails: boolean;
      /** The rollback of a failed Update is refused too: it must still succeed. */
      readonly rollbackFails: boolean;
    }
  | { readonly kind: 'retry' }
  | { readonly kind: 'push'; readonly tags: number; readonly pick: number };

export const middleArb: fc.Arbitrary<Middle> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      // null keeps the previous value: an Update that changes only the images, or only deleteOn.
      decl: fc.option(declarationArb(true), { nil: null }),
      deleteOn: fc.option(deleteOnArb, { nil: null }),
      // One Update in four is refused (AccessDenied) and rolled back.
      fails: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
      rollbackFails: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'retry' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('push' as const), tags: fc.integer({ min: 1, max: 2 }), pick: fc.nat({ max: 17 }) }) },
);

/**
 * How the resource's life ends, and what the stack is then:
 * - 'delete': the stack is deleted (DELETE_IN_PROGRESS); 'twice': and the Delete is delivered again;
 * - 'removed': an update removes (or renames, or moves) the deletion; the repository stays;
 * - 'repositoryRemoved': an update removes the repository with it;
 * - 'rolledBack': the update that added it fails and its rollback removes it; the repository stays;
 * - 'none': it lives on.
 */
export type End = 'delete' | 'twice' | 'removed' | 'repositoryRemoved' | 'rolledBack' | 'none';
export const END_STATE: Record<Exclude<End, 'none'>, { readonly stackStatus: string; readonly templateHasRepository: boolean }> = {
  delete: { stackStatus: 'DELETE_IN_PROGRESS', templateHasRepository: true },
  twice: { stackStatus: 'DELETE_IN_PROGRESS', templateHasRepository: true },
  removed: { stackStatus: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', templateHasRepository: true },
  repositoryRemoved: { stackStatus: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', templateHasRepository: false },
  rolledBack: { stackStatus: 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', templateHasRepository: true },
};

export interface LifecycleSpec {
  readonly create: PropsSpec;
  readonly createFailure: CreateFailure;
  readonly retryCreate: boolean;
  readonly middle: Middle[];
  readonly end: End;
}
export const lifecycleArb: fc.Arbitrary<LifecycleSpec> = fc.record({
  create: selectingPropsArb,
  createFailure: fc.constantFrom<CreateFailure>(
    'none',
    'none',
    'none',
    'none',
    'none',
    'accessDenied',
    'missingRepository',
    'invalid',
    'controlCharacter',
  ),
  retryCreate: fc.boolean(),
  middle: fc.array(middleArb, { maxLength: 3 }),
  end: fc.constantFrom<End>('delete', 'delete', 'twice', 'removed', 'repositoryRemoved', 'rolledBack', 'none'),
});

export const sequenceArb = fc.record({ repository: repositoryArb, lifecycles: fc.array(lifecycleArb, { minLength: 1, maxLength: 2 }) });
export type SequenceSpec = typeof sequenceArb extends fc.Arbitrary<infer T> ? T : never;

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

export const REGISTRY_ID = '123456789012';

export function missingDigest(index: number): string {
  return `sha256:${createHash('sha256').update(`no-such-image-${index}`).digest('hex')}`;
}

export function resolve(decl: readonly DeclRef[], digests: readonly string[]): ModelImageId[] {
  const digestOf = (image: number) => digests[image] ?? missingDigest(image);
  return decl.map((ref) => {
    if (ref.kind === 'tag') return { imageTag: ref.tag };
    if (ref.kind === 'digest') return { imageDigest: digestOf(ref.image) };
    return { imageTag: ref.tag, imageDigest: digestOf(ref.image) };
  });
}

export function toProperties(spec: PropsSpec, repositoryName: string, digests: readonly string[]): ModelProperties {
  return {
    RepositoryName: repositoryName,
    ...(spec.withRegistryId ? { RegistryId: REGISTRY_ID } : {}),
    ...(spec.decl.length > 0 || !spec.select ? { ImageIds: resolve(spec.decl, digests) } : {}),
    ...(spec.select ? { Select: spec.select } : {}),
    // As the construct writes it: the logical ID only for allImages(), and only with the repository construct.
    ...(spec.select?.Match === 'all' && !spec.nameOnly ? { RepositoryLogicalId: 'Repo' } : {}),
    DeleteOn: spec.deleteOn,
    FailOnImageFailure: spec.failOnImageFailure ? 'true' : 'false',
    ApiRegion: 'us-east-1',
  };
}

export const idKey = (id: { imageTag?: string; imageDigest?: string }) => `${id.imageTag ?? ''}|${id.imageDigest ?? ''}`;
export const sortedKeys = (ids: ReadonlyArray<{ imageTag?: string; imageDigest?: string }>) => ids.map(idKey).sort();

/**
 * Multi-architecture images under every selection, on random repository
 * shapes (buildx pushes with attestations, Docker manifest lists with
 * per-architecture tags, nested indexes, children shared between indexes,
 * orphaned indexes), in both server behaviours: ECR Public refusing to delete
 * what an index references, or allowing it (the field report).
 *
 * Checked against a reference model written apart from lambda/select.ts:
 * after the event, every manifest that a remaining index references still
 * exists; what the selection covers and no kept index references is gone; a
 * dry run lists exactly what the real run deletes; and when a manifest cannot
 * be read, no image is deleted.
 */
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import * as fc from 'fast-check';
import type { WireImageId, WireSelection } from '../../lib/contract';
import { OpenReader, executePlan } from '../../lambda/execute-plan';
import type { DeletePlan } from '../../lambda/plan';
import type { ReferenceRead } from '../../lambda/select';
import {
  EcrPublicEmulator,
  MEDIA_TYPES,
  ReferencedImageDeletion,
  SeedImage,
  digestOf,
  singleImage,
  startEcrPublicEmulator,
} from '../../local/ecr-public';

type ServerBehaviour = ReferencedImageDeletion;
type FixtureImage = SeedImage & { readonly pushedAt: number };
const OCI_INDEX = MEDIA_TYPES.ociIndex;
const DOCKER_MANIFEST_LIST = MEDIA_TYPES.dockerManifestList;

let emulator: EcrPublicEmulator;
let client: ECRPUBLICClient;
beforeAll(async () => {
  emulator = await startEcrPublicEmulator();
  client = new ECRPUBLICClient({ region: 'us-east-1', endpoint: emulator.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
});
afterAll(async () => {
  client.destroy();
  await emulator.close();
});

/** An index (OCI index, or Docker manifest list) listing `children`, content-addressed as a registry stores it. */
function indexOf(children: readonly FixtureImage[], tags: string[], pushedAt: number, mediaType: string = OCI_INDEX): FixtureImage {
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType,
    manifests: children.map((child) => ({ mediaType: child.mediaType, digest: child.digest, size: Buffer.byteLength(child.manifest) })),
  });
  return {
    manifest,
    mediaType,
    digest: digestOf(manifest),
    tags,
    pushedAt,
    references: children.map((child) => child.digest),
    blobs: [],
    role: 'index',
  };
}

const NOW = Date.UTC(2026, 10, 26, 12);
const DAY = 86_400_000;
jest.setTimeout(120_000);

// ---------------------------------------------------------------- shapes

type Kind = 'plain' | 'buildx' | 'list' | 'nested' | 'orphan';
interface Unit {
  readonly kind: Kind;
  readonly tags: string[];
  readonly ageDays: number;
  /** Also reference a child of an earlier unit (a child shared between indexes). */
  readonly share?: number;
}

const unitArb: fc.Arbitrary<Unit> = fc.record(
  {
    kind: fc.constantFrom<Kind>('plain', 'buildx', 'list', 'nested', 'orphan'),
    tags: fc.subarray(['pr', 'rel', 'keep']),
    ageDays: fc.integer({ min: 0, max: 20 }),
    share: fc.nat({ max: 50 }),
  },
  { requiredKeys: ['kind', 'tags', 'ageDays'] },
);

/** Builds a repository from units; digests are unique, index digests content-addressed. */
function repositoryOf(units: readonly Unit[]): FixtureImage[] {
  const images: FixtureImage[] = [];
  const children: FixtureImage[] = [];
  let counter = 0;
  const leaf = (pushedAt: number, tags: string[] = []): FixtureImage => {
    const image = { ...singleImage(`leaf-${++counter}`, { format: 'oci', tags, pushedAt }), pushedAt };
    images.push(image);
    children.push(image);
    return image;
  };
  units.forEach((unit, i) => {
    const pushedAt = NOW - unit.ageDays * DAY - i * 1000;
    const tags = unit.tags.map((kind) => `${kind}-${i}`);
    const shared = unit.share !== undefined && children.length > 0 ? [children[unit.share % children.length]] : [];
    const push = (index: FixtureImage) => images.push(index);
    switch (unit.kind) {
      case 'plain':
        leaf(pushedAt, tags);
        break;
      case 'buildx': {
        const platforms = [leaf(pushedAt - 10), leaf(pushedAt - 10), leaf(pushedAt - 10), leaf(pushedAt - 10)];
        push(indexOf([...platforms, ...shared], tags, pushedAt));
        break;
      }
      case 'list': {
        const platforms = [leaf(pushedAt - 10, [`arch-${i}-amd64`]), leaf(pushedAt - 10, [`arch-${i}-arm64`])];
        push(indexOf([...platforms, ...shared], tags, pushedAt, DOCKER_MANIFEST_LIST));
        break;
      }
      case 'nested': {
        const inner = indexOf([leaf(pushedAt - 20), leaf(pushedAt - 20)], [], pushedAt - 10);
        push(inner);
        push(indexOf([inner, leaf(pushedAt - 10), ...shared], tags, pushedAt));
        break;
      }
      case 'orphan':
        push(indexOf([leaf(pushedAt - 10), leaf(pushedAt - 10), ...shared], [], pushedAt));
        break;
    }
  });
  return images;
}

const selectionArb: fc.Arbitrary<WireSelection> = fc.record(
  {
    Match: fc.constantFrom<WireSelection['Match']>('all', 'untagged', 'tagged'),
    TagPatterns: fc.constantFrom(['pr-*'], ['pr-*', 'rel-*'], ['arch-*'], ['*']),
    KeepNewest: fc.constantFrom('1', '2', '4'),
    ProtectTags: fc.constantFrom(['keep-*'], ['rel-*']),
    OlderThanSeconds: fc.constantFrom(String(DAY / 1000), String((10 * DAY) / 1000)),
  },
  { requiredKeys: ['Match'] },
);

// ---------------------------------------------------------------- reference model

const isIndexType = (mediaType: string) => mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
const globToRegex = (patterns: readonly string[]) =>
  new RegExp(
    `^(${patterns
      .map((p) =>
        p
          .replace(/[.+^${}()|[\]\\-]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.'),
      )
      .join('|')})$`,
  );

/** What the repository holds after the event, by the rules, as digest -> sorted tags. */
function expectedAfter(images: readonly FixtureImage[], selection: WireSelection): Map<string, string[]> {
  const protect = selection.ProtectTags ? globToRegex(selection.ProtectTags) : undefined;
  const pattern = globToRegex(selection.TagPatterns ?? []);
  const olderThanMs = selection.OlderThanSeconds ? Number(selection.OlderThanSeconds) * 1000 : undefined;
  const covered = images.filter(
    (image) =>
      (selection.Match === 'all' ||
        (selection.Match === 'untagged' && image.tags.length === 0) ||
        (selection.Match === 'tagged' && image.tags.some((t) => pattern.test(t)))) &&
      (olderThanMs === undefined || image.pushedAt < NOW - olderThanMs) &&
      !image.tags.some((t) => protect?.test(t)),
  );
  let chosen = covered;
  if (selection.KeepNewest) {
    const referencedAnywhere = new Set(images.flatMap((image) => image.references ?? []));
    const topLevel = covered
      .filter((image) => !referencedAnywhere.has(image.digest))
      .sort((a, b) => b.pushedAt - a.pushedAt || a.digest.localeCompare(b.digest));
    const kept = new Set(topLevel.slice(0, Number(selection.KeepNewest)).map((image) => image.digest));
    chosen = covered.filter((image) => !kept.has(image.digest));
  }
  const tagsLeft = new Map(
    chosen.map((image) => [image.digest, selection.Match === 'tagged' ? image.tags.filter((t) => !pattern.test(t)) : ([] as string[])]),
  );
  const goes = (image: FixtureImage) => tagsLeft.has(image.digest) && tagsLeft.get(image.digest)!.length === 0;
  // What stays: whatever the selection does not remove, then all that a staying index references, to a fixpoint.
  const stays = new Set(images.filter((image) => !goes(image)).map((image) => image.digest));
  const rescued = new Set<string>();
  for (let changed = true; changed;) {
    changed = false;
    for (const image of images) {
      if (!stays.has(image.digest)) continue;
      for (const child of image.references ?? []) {
        if (!stays.has(child) && images.some((i) => i.digest === child)) {
          stays.add(child);
          rescued.add(child);
          changed = true;
        }
      }
    }
  }
  return new Map(
    images
      .filter((image) => stays.has(image.digest))
      .map((image) => [
        image.digest,
        (rescued.has(image.digest) || !tagsLeft.has(image.digest) ? image.tags : tagsLeft.get(image.digest)!).slice().sort(),
      ]),
  );
}

/** Applies image IDs in order with ECR Public's semantics, nothing refused: what a list of deletions does. */
function applied(images: readonly FixtureImage[], ids: readonly WireImageId[]): Map<string, string[]> {
  const state = new Map(images.map((image) => [image.digest, [...image.tags]]));
  for (const id of ids) {
    if (id.imageDigest !== undefined) {
      state.delete(id.imageDigest);
      continue;
    }
    for (const [digest, tags] of state) {
      if (!tags.includes(id.imageTag!)) continue;
      const left = tags.filter((t) => t !== id.imageTag);
      if (left.length === 0) state.delete(digest);
      else state.set(digest, left);
    }
  }
  return new Map([...state].map(([digest, tags]) => [digest, tags.sort()]));
}

// ---------------------------------------------------------------- running the event

interface EventRun {
  readonly after: Map<string, string[]>;
  readonly deleted: WireImageId[];
  readonly reads: string[];
  readonly keptUnknown: number;
}

/** Runs a selection through executePlan on a fresh copy of the repository. */
let repositories = 0;

async function runEvent(
  images: FixtureImage[],
  selection: WireSelection,
  behaviour: ServerBehaviour,
  options: { dryRun?: boolean; unreadable?: (digest: string) => boolean } = {},
): Promise<EventRun> {
  const repositoryName = `prop/repo-${++repositories}`;
  emulator.referencedImageDeletion = behaviour;
  emulator.createRepository(repositoryName);
  emulator.seed(repositoryName, images);
  const reads: string[] = [];
  const openReader: OpenReader = async () => ({
    stats: { manifests: 0, requests: 0, throttled: 0 },
    read: async (digests) => {
      const held = new Map(emulator.images(repositoryName).map((image) => [image.digest, image]));
      return new Map<string, ReferenceRead>(
        digests.map((digest) => {
          reads.push(digest);
          if (options.unreadable?.(digest)) return [digest, { unknown: 'HTTP 503' }];
          const image = held.get(digest);
          return [digest, image ? { references: [...image.references] } : { unknown: 'HTTP 404' }];
        }),
      );
    },
  });
  const plan: DeletePlan = {
    action: 'delete',
    requestType: 'Update',
    properties: { RepositoryName: repositoryName, DeleteOn: ['Update'], FailOnImageFailure: 'true', ApiRegion: 'us-east-1' },
    imageIds: [],
    selection,
    dryRun: options.dryRun ?? false,
    duplicatesCollapsed: 0,
  };
  const outcome = await executePlan(client, plan, { openReader, now: () => NOW });
  const after = emulator.snapshot(repositoryName);
  emulator.store.repositories.delete(repositoryName);
  return { after, deleted: outcome.deleted as WireImageId[], reads, keptUnknown: outcome.selection?.keptUnknown ?? 0 };
}

/** Every manifest that a remaining index references, and that existed before, still exists. */
function brokenReferences(images: readonly FixtureImage[], after: Map<string, string[]>): string[] {
  const existed = new Set(images.map((image) => image.digest));
  return images
    .filter((image) => after.has(image.digest))
    .flatMap((image) =>
      (image.references ?? []).filter((child) => existed.has(child) && !after.has(child)).map((child) => `${image.digest} -> ${child}`),
    );
}

const repositoryArb = fc.array(unitArb, { minLength: 1, maxLength: 7 }).map(repositoryOf);
const behaviourArb = fc.constantFrom<ServerBehaviour>('refuse', 'allow');

describe('multi-architecture images under random selections and repository shapes', () => {
  test('after the event, every remaining index has all it references, and the repository is what the model says', async () => {
    await fc.assert(
      fc.asyncProperty(repositoryArb, selectionArb, behaviourArb, async (images, selection, behaviour) => {
        const { after, reads } = await runEvent(images, selection, behaviour);
        expect(brokenReferences(images, after)).toEqual([]);
        expect(after).toEqual(expectedAfter(images, selection));
        // Each index manifest is read at most once per event.
        expect(new Set(reads).size).toBe(reads.length);
      }),
      { numRuns: 150 },
    );
  });

  test('a dry run lists exactly what the real run deletes', async () => {
    await fc.assert(
      fc.asyncProperty(repositoryArb, selectionArb, behaviourArb, async (images, selection, behaviour) => {
        const dry = await runEvent(images, selection, behaviour, { dryRun: true });
        expect(dry.after).toEqual(new Map(images.map((image) => [image.digest, [...image.tags].sort()])));
        const real = await runEvent(images, selection, behaviour);
        expect(applied(images, dry.deleted)).toEqual(real.after);
      }),
      { numRuns: 100 },
    );
  });

  test('when an index manifest cannot be read, no image is deleted and every kept reference holds', async () => {
    await fc.assert(
      fc.asyncProperty(repositoryArb, selectionArb, behaviourArb, fc.nat(), async (images, selection, behaviour, seed) => {
        const indexes = images.filter((image) => isIndexType(image.mediaType)).map((image) => image.digest);
        fc.pre(indexes.length > 0);
        const unreadable = indexes[seed % indexes.length];
        const { after, reads, keptUnknown } = await runEvent(images, selection, behaviour, { unreadable: (digest) => digest === unreadable });
        expect(brokenReferences(images, after)).toEqual([]);
        if (reads.includes(unreadable)) {
          // Only tag removals that leave an image in place may have happened.
          expect([...after.keys()].sort()).toEqual(images.map((image) => image.digest).sort());
          // What a readable registry would have let go is counted as kept for unknown references.
          if (expectedAfter(images, selection).size < images.length) expect(keptUnknown).toBeGreaterThan(0);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('keepNewest counts images as users see them', () => {
  test('allImages().keepNewest(3) keeps the three newest buildx pushes, each with its platform images and attestations', async () => {
    const images = repositoryOf([0, 1, 2, 3, 4].map((i) => ({ kind: 'buildx' as const, tags: ['rel'], ageDays: 10 - i })));
    const { after } = await runEvent(images, { Match: 'all', KeepNewest: '3' }, 'allow');
    // 3 indexes and their 4 children each: 15 manifests, not 3.
    expect(after.size).toBe(15);
    expect([...after.values()].flat().sort()).toEqual(['rel-2', 'rel-3', 'rel-4']);
  });
});

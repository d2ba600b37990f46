/**
 * Multi-architecture images under every selection, ImageSelections and
 * lifecycle policies alike, on random repository shapes (buildx pushes with
 * attestations, Docker manifest lists with per-architecture tags, nested
 * indexes, children shared between indexes, orphaned indexes, images and
 * indexes signed with OCI 1.1 referrers), in both server behaviours: ECR
 * Public refusing to delete what an index references, or allowing it (the
 * field report).
 *
 * Checked against a reference model written apart from lambda/select.ts and
 * lambda/image-groups.ts (images as users see them, decided by the reference
 * evaluator of test/support/lifecycle-reference.ts for a policy): after the
 * event, every manifest that a remaining index references still exists, and
 * so does every referrer of a remaining image (zero kept references broken);
 * what the rules expire and nothing that stays needs is gone, each image
 * expired by the one rule the reference names (the per-rule counts); a dry
 * run lists exactly what the real run deletes, declared image IDs included;
 * when a manifest cannot be read, no image it could reach is deleted (none
 * pushed before it) and nothing the model keeps; when deletions fail,
 * what stays keeps what it needs; and the listing's order changes nothing.
 */
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import * as fc from 'fast-check';
import type { LifecyclePolicyDocument, WireImageId, WireSelection } from '../../lib/contract';
import { lifecyclePolicyProblems } from '../../lib/validation';
import { OpenReader, executePlan } from '../../lambda/execute-plan';
import { PUSH_ORDER_MARGIN_MS, decidesImageByImage } from '../../lambda/partial-selection';
import type { DeletePlan } from '../../lambda/plan';
import type { ManifestRead } from '../../lambda/select';
import { referenceExpirations } from '../support/lifecycle-reference';
import {
  EcrPublicEmulator,
  MEDIA_TYPES,
  ReferencedImageDeletion,
  SeedImage,
  cosignSignature,
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

type Kind = 'plain' | 'buildx' | 'list' | 'nested' | 'orphan' | 'signed' | 'signedIndex';
interface Unit {
  readonly kind: Kind;
  readonly tags: string[];
  readonly ageDays: number;
  /** Also reference a child of an earlier unit (a child shared between indexes). */
  readonly share?: number;
}

const unitArb: fc.Arbitrary<Unit> = fc.record(
  {
    kind: fc.constantFrom<Kind>('plain', 'buildx', 'list', 'nested', 'orphan', 'signed', 'signedIndex'),
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
    // A child pushed before the index that shares it: PutImage refuses an index whose images the repository does not hold.
    const sharable = children.filter((child) => child.pushedAt <= pushedAt - 10);
    const shared = unit.share !== undefined && sharable.length > 0 ? [sharable[unit.share % sharable.length]] : [];
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
      case 'signed': {
        // An image and its signature (untagged, pushed a second later, its subject the image).
        const signed = leaf(pushedAt, tags);
        images.push({ ...cosignSignature(signed), pushedAt: pushedAt + 1000 });
        break;
      }
      case 'signedIndex': {
        const index = indexOf([leaf(pushedAt - 10), leaf(pushedAt - 10)], tags, pushedAt);
        push(index);
        images.push({ ...cosignSignature(index), pushedAt: pushedAt + 1000 });
        break;
      }
    }
  });
  return images;
}

const imageSelectionArb: fc.Arbitrary<WireSelection> = fc.record(
  {
    Match: fc.constantFrom<WireSelection['Match']>('all', 'untagged', 'tagged'),
    TagPatterns: fc.constantFrom(['pr-*'], ['pr-*', 'rel-*'], ['arch-*'], ['*']),
    KeepNewest: fc.constantFrom('1', '2', '4'),
    ProtectTags: fc.constantFrom(['keep-*'], ['rel-*']),
    OlderThanSeconds: fc.constantFrom(String(DAY / 1000), String((10 * DAY) / 1000)),
  },
  { requiredKeys: ['Match'] },
);

/** A lifecycle policy private ECR accepts, over the units' tags: up to three tagged rules, an untagged rule, an any rule last. */
const policyArb: fc.Arbitrary<LifecyclePolicyDocument> = fc
  .record({
    tagged: fc.array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom(['pr-*'], ['rel-*'], ['arch-*'], ['keep-*'], ['pr-*', 'keep-*'], ['*-amd64']).map((tagPatternList) => ({ tagPatternList })),
          fc.constantFrom(['pr'], ['rel'], ['rel', 'keep'], ['arch']).map((tagPrefixList) => ({ tagPrefixList })),
        ),
        fc.boolean(),
      ),
      { maxLength: 3 },
    ),
    untagged: fc.option(fc.boolean(), { nil: undefined }),
    any: fc.option(fc.boolean(), { nil: undefined }),
    counts: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 5, maxLength: 5 }),
    days: fc.array(fc.constantFrom(1, 5, 10), { minLength: 5, maxLength: 5 }),
    priorities: fc.uniqueArray(fc.integer({ min: 1, max: 20 }), { minLength: 5, maxLength: 5 }),
  })
  .map(({ tagged, untagged, any, counts, days, priorities }) => {
    const sorted = [...priorities].sort((a, b) => a - b);
    const count = (byCount: boolean, i: number) =>
      byCount
        ? { countType: 'imageCountMoreThan', countNumber: counts[i] }
        : { countType: 'sinceImagePushed', countUnit: 'days', countNumber: days[i] };
    const selections = [
      ...tagged.map(([list, byCount], i) => ({ tagStatus: 'tagged', ...list, ...count(byCount, i) })),
      ...(untagged === undefined ? [] : [{ tagStatus: 'untagged', ...count(untagged, 3) }]),
    ];
    const rules = selections.map((selection, i) => ({ rulePriority: sorted[i], selection, action: { type: 'expire' } }));
    if (any !== undefined) rules.push({ rulePriority: sorted[4], selection: { tagStatus: 'any', ...count(any, 4) }, action: { type: 'expire' } });
    return { rules } as unknown as LifecyclePolicyDocument;
  })
  .filter((policy) => policy.rules.length > 0 && lifecyclePolicyProblems(policy).length === 0);

/** An ImageSelection, or a lifecycle policy (its compact text, as the construct sends it). */
const selectionArb: fc.Arbitrary<WireSelection> = fc.oneof(
  imageSelectionArb,
  policyArb.map((policy): WireSelection => ({ Match: 'lifecycle', LifecyclePolicyText: JSON.stringify(policy) })),
);

// ---------------------------------------------------------------- reference model

const isIndexType = (mediaType: string) => mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
/** The digest a manifest's `subject` names, read from its bytes. */
const subjectOf = (image: SeedImage): string | undefined => (JSON.parse(image.manifest) as { subject?: { digest: string } }).subject?.digest;
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

/**
 * Images as users see them, by the rules, quadratic and apart from lambda/image-groups.ts: a top-level image is
 * a manifest no index lists that is not a referrer (an untagged image manifest that no index lists, whose subject is
 * in the repository); its image is everything it reaches through what indexes list and through referrers.
 */
function imagesAsUsersSeeThem(images: readonly FixtureImage[], referrersKnown: boolean) {
  const digests = new Set(images.map((image) => image.digest));
  const listed = new Set(images.flatMap((image) => image.references ?? []).filter((digest) => digests.has(digest)));
  const isReferrer = (image: FixtureImage) =>
    referrersKnown && image.tags.length === 0 && !isIndexType(image.mediaType) && !listed.has(image.digest) && digests.has(subjectOf(image) ?? '');
  const tops = images.filter((image) => !listed.has(image.digest) && !isReferrer(image));
  const reach = (top: FixtureImage): FixtureImage[] => {
    const found = [top];
    for (let i = 0; i < found.length; i++) {
      const next = images.filter(
        (other) => (found[i].references ?? []).includes(other.digest) || (isReferrer(other) && subjectOf(other) === found[i].digest),
      );
      for (const image of next) if (!found.includes(image)) found.push(image);
    }
    return found;
  };
  return tops.map((top) => {
    const members = reach(top);
    return { top, members, tags: [...new Set(members.flatMap((image) => image.tags))] };
  });
}

/** Digest of each top-level image the selection expires -> the priority of the rule that expires it. */
function expiredImages(groups: ReturnType<typeof imagesAsUsersSeeThem>, selection: WireSelection): Map<string, number> {
  if (selection.Match === 'lifecycle') {
    const policy = JSON.parse(selection.LifecyclePolicyText!) as LifecyclePolicyDocument;
    return referenceExpirations(
      policy,
      groups.map(({ top, tags }) => ({ digest: top.digest, tags, pushedAt: top.pushedAt })),
      NOW,
    );
  }
  const protect = selection.ProtectTags ? globToRegex(selection.ProtectTags) : undefined;
  const pattern = globToRegex(selection.TagPatterns ?? []);
  const olderThanMs = selection.OlderThanSeconds ? Number(selection.OlderThanSeconds) * 1000 : undefined;
  const candidates = groups
    .filter(
      ({ top, tags }) =>
        (selection.Match === 'all' ||
          (selection.Match === 'untagged' && tags.length === 0) ||
          (selection.Match === 'tagged' && tags.some((t) => pattern.test(t)))) &&
        (olderThanMs === undefined || top.pushedAt < NOW - olderThanMs) &&
        !tags.some((t) => protect?.test(t)),
    )
    .sort((a, b) => b.top.pushedAt - a.top.pushedAt || (a.top.digest < b.top.digest ? -1 : 1));
  return new Map(candidates.slice(Number(selection.KeepNewest ?? 0)).map(({ top }) => [top.digest, 1]));
}

/**
 * What the repository holds after the event, by the rules, as digest -> sorted tags; and, per rule priority,
 * how many images the event expired (of which something went or lost a tag).
 */
function expectedAfter(images: readonly FixtureImage[], selection: WireSelection): Map<string, string[]> {
  return modelOf(images, selection).after;
}

function modelOf(
  images: readonly FixtureImage[],
  selection: WireSelection,
): { after: Map<string, string[]>; perRule: Map<number, number>; ruleOf: Map<string, number> } {
  // Rules that select tagged images only do not look for referrers (untagged images no index lists): they stay.
  const policy = selection.Match === 'lifecycle' ? (JSON.parse(selection.LifecyclePolicyText!) as LifecyclePolicyDocument) : undefined;
  const referrersKnown = policy ? policy.rules.some((rule) => rule.selection.tagStatus !== 'tagged') : selection.Match !== 'tagged';
  const groups = imagesAsUsersSeeThem(images, referrersKnown);
  const expired = expiredImages(groups, selection);
  const pattern = globToRegex(selection.TagPatterns ?? []);
  const tagsOnly = selection.Match === 'tagged';
  // A manifest changes only when every image it is part of expires.
  const imagesOf = (image: FixtureImage) => groups.filter((group) => group.members.includes(image));
  const allExpire = (image: FixtureImage) => imagesOf(image).length > 0 && imagesOf(image).every((group) => expired.has(group.top.digest));
  const whole = (group: (typeof groups)[number]) => !tagsOnly || group.tags.every((t) => pattern.test(t));
  const tagsLeft = new Map<string, string[]>();
  for (const image of images) {
    if (!allExpire(image)) continue;
    if (imagesOf(image).some(whole)) tagsLeft.set(image.digest, []);
    else if (image.tags.some((t) => pattern.test(t)))
      tagsLeft.set(
        image.digest,
        image.tags.filter((t) => !pattern.test(t)),
      );
  }
  // An untagged manifest of such an image goes once all that holds it (the indexes listing it, its subject) goes.
  const goes = (image: FixtureImage) => tagsLeft.get(image.digest)?.length === 0;
  const holders = (image: FixtureImage) => {
    const indexes = images.filter((other) => (other.references ?? []).includes(image.digest));
    if (indexes.length > 0 || !referrersKnown) return indexes;
    return images.filter((other) => other.digest === subjectOf(image) && image.tags.length === 0 && !isIndexType(image.mediaType));
  };
  for (let changed = true; changed;) {
    changed = false;
    for (const image of images) {
      if (tagsLeft.has(image.digest) || image.tags.length > 0 || !allExpire(image) || holders(image).length === 0) continue;
      if (holders(image).every(goes)) {
        tagsLeft.set(image.digest, []);
        changed = true;
      }
    }
  }
  // What stays: whatever the selection does not remove, then all that a staying index references, and every
  // untagged referrer of a staying image, to a fixpoint.
  const stays = new Set(images.filter((image) => !goes(image)).map((image) => image.digest));
  const rescued = new Set<string>();
  for (let changed = true; changed;) {
    changed = false;
    for (const image of images) {
      const subject = subjectOf(image);
      if (!stays.has(image.digest) && image.tags.length === 0 && subject !== undefined && stays.has(subject)) {
        stays.add(image.digest);
        rescued.add(image.digest);
        changed = true;
      }
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
  const changedManifests = new Set([...tagsLeft.keys()].filter((digest) => !rescued.has(digest)));
  const perRule = new Map<number, number>();
  // allImages() without a narrowing reads nothing (it deletes everything, whatever makes one image): it counts manifests.
  const emptying = selection.Match === 'all' && !selection.KeepNewest && !selection.OlderThanSeconds && !selection.ProtectTags;
  // Each manifest that goes or loses a tag, with the rule that expires its image (the first by priority, when two images
  // share it: a platform image two indexes list).
  const ruleOf = new Map(
    [...changedManifests].map((digest) => [
      digest,
      Math.min(...groups.filter((group) => group.members.some((image) => image.digest === digest)).map((group) => expired.get(group.top.digest)!)),
    ]),
  );
  if (emptying) return { after: new Map(), perRule: changedManifests.size > 0 ? new Map([[1, changedManifests.size]]) : perRule, ruleOf };
  for (const group of groups) {
    const priority = expired.get(group.top.digest);
    if (priority !== undefined && group.members.some((image) => changedManifests.has(image.digest)))
      perRule.set(priority, (perRule.get(priority) ?? 0) + 1);
  }
  const after = new Map(
    images
      .filter((image) => stays.has(image.digest))
      .map((image) => [
        image.digest,
        (rescued.has(image.digest) || !tagsLeft.has(image.digest) ? image.tags : tagsLeft.get(image.digest)!).slice().sort(),
      ]),
  );
  return { after, perRule, ruleOf };
}

/** Applies image IDs in order with ECR Public's semantics, nothing refused: what a list of deletions does. */
function applied(images: readonly FixtureImage[], ids: readonly WireImageId[]): Map<string, string[]> {
  const state = new Map(images.map((image) => [image.digest, [...image.tags]]));
  for (const id of ids) {
    if (id.imageTag === undefined) {
      state.delete(id.imageDigest!);
      continue;
    }
    for (const [digest, tags] of state) {
      // A tag with a digest removes the tag only from that image.
      if (!tags.includes(id.imageTag) || (id.imageDigest !== undefined && id.imageDigest !== digest)) continue;
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
  /** Per rule priority, the images it expired (the RuleCounts attribute), zeros left out. */
  readonly perRule: Map<number, number>;
  /** Each manifest the first round deletes or takes tags from, with the rule that expires its image (the log line's). */
  readonly ruleOf: Map<string, number>;
}

/** Runs a selection through executePlan on a fresh copy of the repository. */
let repositories = 0;

async function runEvent(
  images: FixtureImage[],
  selection: WireSelection,
  behaviour: ServerBehaviour,
  options: {
    dryRun?: boolean;
    unreadable?: (digest: string) => boolean;
    /** Declared image IDs, deleted before the selection runs. */
    imageIds?: WireImageId[];
    /** Images whose deletion fails (KmsError), whatever names them. */
    failing?: readonly string[];
    listingOrder?: 'push' | 'digest';
  } = {},
): Promise<EventRun> {
  const repositoryName = `prop/repo-${++repositories}`;
  emulator.referencedImageDeletion = behaviour;
  emulator.createRepository(repositoryName);
  emulator.seed(repositoryName, images);
  emulator.deletionFailures.clear();
  for (const digest of options.failing ?? []) emulator.deletionFailures.set(digest, 'KmsError');
  emulator.listing.order = options.listingOrder ?? 'push';
  const reads: string[] = [];
  const openReader: OpenReader = async () => ({
    stats: { manifests: 0, requests: 0, pulls: 0, throttled: 0, tokens: 0, pacedWaitMs: 0, notRead: 0, deadline: Number.POSITIVE_INFINITY },
    read: async (digests) => {
      const held = new Map(emulator.images(repositoryName).map((image) => [image.digest, image]));
      return new Map<string, ManifestRead>(
        digests.map((digest) => {
          reads.push(digest);
          if (options.unreadable?.(digest)) return [digest, { unknown: 'HTTP 503' }];
          const image = held.get(digest);
          if (!image) return [digest, { unknown: 'HTTP 404' }];
          return [digest, { references: [...image.references], mediaType: image.mediaType, ...(image.subject ? { subject: image.subject } : {}) }];
        }),
      );
    },
  });
  const plan: DeletePlan = {
    action: 'delete',
    requestType: 'Update',
    properties: { RepositoryName: repositoryName, DeleteOn: ['Update'], FailOnImageFailure: 'true', ApiRegion: 'us-east-1' },
    imageIds: options.imageIds ?? [],
    selection,
    dryRun: options.dryRun ?? false,
    duplicatesCollapsed: 0,
  };
  const outcome = await executePlan(client, plan, { openReader, now: () => NOW });
  const after = emulator.snapshot(repositoryName);
  emulator.store.repositories.delete(repositoryName);
  const perRule = new Map((outcome.selection?.rules ?? []).filter((rule) => rule.expired > 0).map((rule) => [rule.priority, rule.expired]));
  const ruleOf = new Map((outcome.selection?.expired ?? []).map((image) => [image.imageDigest, image.rule]));
  return { after, deleted: outcome.deleted as WireImageId[], reads, keptUnknown: outcome.selection?.keptUnknown ?? 0, perRule, ruleOf };
}

/** Every manifest that a remaining index references, and every referrer of a remaining image, that existed before, still exists. */
function brokenReferences(images: readonly FixtureImage[], after: Map<string, string[]>): string[] {
  const existed = new Set(images.map((image) => image.digest));
  const children = images
    .filter((image) => after.has(image.digest))
    .flatMap((image) =>
      (image.references ?? []).filter((child) => existed.has(child) && !after.has(child)).map((child) => `${image.digest} -> ${child}`),
    );
  const referrers = images
    .filter((image) => !after.has(image.digest) && image.tags.length === 0 && after.has(subjectOf(image) ?? ''))
    .map((image) => `${image.digest} (referrer) -> ${subjectOf(image)}`);
  return [...children, ...referrers];
}

const repositoryArb = fc.array(unitArb, { minLength: 1, maxLength: 7 }).map(repositoryOf);
const behaviourArb = fc.constantFrom<ServerBehaviour>('refuse', 'allow');

describe('multi-architecture images under random selections and repository shapes', () => {
  test('after the event, every remaining index has all it references, and the repository is what the model says, whatever the listing order', async () => {
    await fc.assert(
      fc.asyncProperty(
        repositoryArb,
        selectionArb,
        behaviourArb,
        fc.constantFrom<'push' | 'digest'>('push', 'digest'),
        async (images, selection, behaviour, listingOrder) => {
          const { after, reads, perRule, ruleOf } = await runEvent(images, selection, behaviour, { listingOrder });
          expect(brokenReferences(images, after)).toEqual([]);
          const model = modelOf(images, selection);
          expect(after).toEqual(model.after);
          // Each image is expired by one rule at most, the one the reference evaluator names (priorities respected),
          // and each rule's count is the model's.
          expect(perRule).toEqual(model.perRule);
          // Each manifest that goes, by the rule of its image (a refused one goes in a later round, not in the first's report).
          for (const [digest, rule] of ruleOf) expect([digest, rule]).toEqual([digest, model.ruleOf.get(digest)]);
          if (behaviour === 'allow') expect(ruleOf).toEqual(model.ruleOf);
          // Each index manifest is read at most once per event.
          expect(new Set(reads).size).toBe(reads.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a dry run lists exactly what the real run deletes, declared image IDs that the selection meets included', async () => {
    await fc.assert(
      fc.asyncProperty(
        repositoryArb,
        selectionArb,
        behaviourArb,
        fc.array(fc.nat(), { maxLength: 3 }),
        async (images, selection, behaviour, picks) => {
          // Declared: tags and digests of images no index references (deleting a referenced one is the server's to refuse).
          const referenced = new Set(images.flatMap((image) => image.references ?? []));
          const candidates = images
            .filter((image) => !referenced.has(image.digest))
            .flatMap((image): WireImageId[] => [{ imageDigest: image.digest }, ...image.tags.map((imageTag) => ({ imageTag }))]);
          const imageIds = candidates.length === 0 ? [] : [...new Set(picks.map((pick) => candidates[pick % candidates.length]))];
          const dry = await runEvent(images, selection, behaviour, { dryRun: true, imageIds });
          expect(dry.after).toEqual(new Map(images.map((image) => [image.digest, [...image.tags].sort()])));
          const real = await runEvent(images, selection, behaviour, { imageIds });
          expect(applied(images, dry.deleted)).toEqual(real.after);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('when deletions fail (KmsError), what stays keeps what it needs, in every pass and round', async () => {
    await fc.assert(
      fc.asyncProperty(
        repositoryArb,
        selectionArb,
        behaviourArb,
        fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
        async (images, selection, behaviour, picks) => {
          const failing = picks.map((pick) => images[pick % images.length].digest);
          // The case left open (docs/multi-arch-safety.md): when the selection deletes every image, nothing is read, so an
          // untagged index, or an untagged image with a referrer, whose deletion fails may lose an untagged index it lists, or
          // its referrer, deleted in the same pass (all of them images the user asked to delete). Tagged ones go a pass earlier.
          const sameRank = (digest: string) => {
            const image = images.find((i) => i.digest === digest)!;
            const listsIndex = (image.references ?? []).some((child) => isIndexType(images.find((i) => i.digest === child)?.mediaType ?? ''));
            const hasReferrer = images.some((i) => subjectOf(i) === digest);
            return image.tags.length === 0 && (listsIndex || hasReferrer);
          };
          fc.pre(!(expectedAfter(images, selection).size === 0 && failing.some(sameRank)));
          const { after } = await runEvent(images, selection, behaviour, { failing });
          expect(brokenReferences(images, after)).toEqual([]);
          // An image whose deletion failed is still there.
          expect(failing.filter((digest) => !after.has(digest))).toEqual([]);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('when the manifest of an index that stays cannot be read, no image it could reference is deleted, and every kept reference holds', async () => {
    await fc.assert(
      fc.asyncProperty(repositoryArb, selectionArb, behaviourArb, fc.nat(), async (images, selection, behaviour, seed) => {
        const indexes = images.filter((image) => isIndexType(image.mediaType));
        fc.pre(indexes.length > 0);
        const unreadable = indexes[seed % indexes.length];
        const { after, reads, keptUnknown } = await runEvent(images, selection, behaviour, { unreadable: (digest) => digest === unreadable.digest });
        expect(brokenReferences(images, after)).toEqual([]);
        // Whatever was unread, nothing goes that the model (every manifest known) keeps.
        const expected = expectedAfter(images, selection);
        expect(images.filter((image) => !after.has(image.digest) && expected.has(image.digest)).map((image) => image.digest)).toEqual([]);
        // An index that stays and cannot be read keeps every image pushed before it (it may reference those: PutImage
        // refuses an index whose images are not in the repository), within the margin; under keepNewest, every image
        // (one that goes was read only to order the passes).
        if (reads.includes(unreadable.digest) && after.has(unreadable.digest)) {
          const mayGo = (image: FixtureImage) => decidesImageByImage(selection) && image.pushedAt > unreadable.pushedAt + PUSH_ORDER_MARGIN_MS;
          expect(images.filter((image) => !after.has(image.digest) && !mayGo(image)).map((image) => image.digest)).toEqual([]);
          // What a readable registry would have let go is counted as kept for unknown references.
          if (images.some((image) => !expected.has(image.digest) && !mayGo(image))) expect(keptUnknown).toBeGreaterThan(0);
        }
      }),
      { numRuns: 150 },
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

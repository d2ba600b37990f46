/**
 * The multi-architecture act of `npm run demo`: a repository of buildx pushes
 * on the project's local ECR Public, shown as a tree of indexes and their
 * children, a selection's dry run, the real run through the shipped handler
 * bundle, and the tree after it with each image's reason (the handler's own,
 * from its log line), in both server
 * behaviours (ECR Public refusing to delete what an index lists, or allowing
 * it), and once more with the registry down.
 */
import type { WireSelection } from '../lib/contract';
import { ImageSelection } from '../lib/selection';
import { isIndex } from '../lambda/select';
import {
  EcrPublicEmulator,
  ImageSummary,
  ReferencedImageDeletion,
  buildxIndex,
  dockerManifestList,
  singleImage,
  startEcrPublicEmulator,
} from '../local/ecr-public';
import { LocalCustomResource, ResponseServer } from '../test/support/local-cloudformation';
import { logLineOf } from './log-line-of';

const DAY = 86_400_000;
const REPOSITORY = 'demo/multiarch';

function seed(emulator: EcrPublicEmulator, now: number): void {
  emulator.createRepository(REPOSITORY);
  emulator.seed(REPOSITORY, [
    ...dockerManifestList('v1.0.0', { tags: ['v1.0.0'], pushedAt: now - 90 * DAY, platformTags: (p) => [`v1.0.0-${p.split('/')[1]}`] }).images,
    ...buildxIndex('v1.1.0', { pushedAt: now - 60 * DAY }).images,
    ...buildxIndex('v1.2.0', { tags: ['v1.2.0'], pushedAt: now - 30 * DAY }).images,
    singleImage('hotfix', { tags: ['hotfix'], pushedAt: now - 20 * DAY }),
    ...buildxIndex('v2.0.0', { tags: ['v2.0.0', 'latest'], pushedAt: now - DAY }).images,
  ]);
}

const short = (digest: string) => digest.slice(7, 19);
const nameOf = (image: ImageSummary | undefined) => (image ? (image.tags[0] ?? short(image.digest)) : '?');

/**
 * Why each image of the act stays, as the handler's log line of the run says
 * (its keptImages, with each reason): the labels are the handler's own, never
 * the demo's guess, so they add up to the counts the run reports.
 */
function reasonsLogged(images: ImageSummary[], stdout: string, keepNewest: string): Map<string, string> {
  const byDigest = new Map(images.map((image) => [image.digest, image]));
  const why = new Map<string, string>();
  for (const kept of logLineOf(stdout)?.line.keptImages ?? []) {
    const reason =
      kept.reason === 'newest'
        ? `one of the newest ${keepNewest}`
        : kept.reason === 'protected'
          ? 'protected'
          : kept.reason === 'referenced'
            ? `child of ${nameOf(byDigest.get(kept.referencedBy ?? ''))}`
            : kept.reason === 'referrer'
              ? `signature or SBOM of ${nameOf(byDigest.get(kept.subject ?? ''))}`
              : 'references unknown: kept';
    // A platform image or attestation is kept with the image (index) it is part of: one image as users see it.
    why.set(kept.imageDigest, kept.partOf ? `part of ${nameOf(byDigest.get(kept.partOf))}, ${reason}` : reason);
  }
  return why;
}

function printTree(images: ImageSummary[], why?: Map<string, string>): void {
  const referenced = new Set(images.flatMap((image) => image.references));
  const byDigest = new Map(images.map((image) => [image.digest, image]));
  const line = (image: ImageSummary, depth: number) => {
    const kind = isIndex(image) ? 'index' : 'image';
    const reason = why ? `  <- ${why.get(image.digest) ?? 'not selected'}` : '';
    console.log(`     ${'   '.repeat(depth)}${short(image.digest)} ${kind.padEnd(5)} ${image.tags.join(', ') || '(untagged)'}${reason}`);
    for (const child of image.references) {
      const found = byDigest.get(child);
      if (found) line(found, depth + 1);
      else console.log(`     ${'   '.repeat(depth + 1)}${short(child)} MISSING: this index is broken`);
    }
  };
  for (const image of [...images].reverse()) if (!referenced.has(image.digest)) line(image, 0);
}

/** The image IDs of an attribute, each by its tag, or by the first tag of its image when it has one. */
const listIds = (json: string | undefined, images: ImageSummary[]) =>
  (JSON.parse(json ?? '[]') as Array<{ imageTag?: string; imageDigest?: string }>)
    .map((id) => id.imageTag ?? nameOf(images.find((image) => image.digest === id.imageDigest)))
    .join(', ') || '-';

async function play(behaviour: ReferencedImageDeletion, server: ResponseServer, selectionText: string, selection: WireSelection): Promise<void> {
  const emulator = await startEcrPublicEmulator({ referencedImageDeletion: behaviour });
  try {
    const now = Date.now();
    seed(emulator, now);
    const env = { AWS_ENDPOINT_URL_ECR_PUBLIC: emulator.endpoint, ECR_PUBLIC_REGISTRY_ENDPOINT: emulator.registryEndpoint };
    const props = (extra: object = {}) => ({
      RepositoryName: REPOSITORY,
      Select: selection,
      DeleteOn: ['Create', 'Update', 'Delete'],
      FailOnImageFailure: 'true',
      DryRun: 'false',
      ApiRegion: 'us-east-1',
      ...extra,
    });
    console.log(`\n   server behaviour "${behaviour}": ${REPOSITORY} before, ${selectionText}`);
    printTree(emulator.images(REPOSITORY));
    const before = emulator.images(REPOSITORY);
    const dry = await new LocalCustomResource(server, { env }).create(props({ DryRun: 'true' }));
    console.log(`   dry run would delete: ${listIds(dry.response?.body.Data?.ImageIds, before)}`);
    const real = await new LocalCustomResource(server, { env }).create(props());
    const data = real.response?.body.Data ?? {};
    const keptWithTheirImage = (logLineOf(real.stdout)?.line.keptImages ?? []).filter((kept) => kept.partOf !== undefined).length;
    console.log(
      `   real run ${real.response?.body.Status}: deleted ${listIds(data.ImageIds, before)}; ` +
        `kept with the image they are part of ${keptWithTheirImage}; kept as referenced ${data.KeptReferencedCount}`,
    );
    console.log('   after, with the reason of each image:');
    const why = reasonsLogged(before, real.stdout, selection.KeepNewest ?? '');
    printTree(
      before.filter((image) => emulator.images(REPOSITORY).some((left) => left.digest === image.digest)),
      why,
    );

    // The registry down: nothing whose references are unknown goes.
    emulator.faults.registry.configure({ serverError: 1 });
    const again = buildxIndex('v2.1.0', { pushedAt: now - 40 * DAY });
    emulator.seed(REPOSITORY, again.images);
    const down = await new LocalCustomResource(server, { env, remainingMs: 20_000 }).create(props());
    const downData = down.response?.body.Data ?? {};
    console.log(
      `   registry down, after pushing an untagged index: ${down.response?.body.Status}, deleted ${downData.DeletedCount}, ` +
        `kept because references unknown ${downData.KeptUnknownCount}`,
    );
    const downWhy = reasonsLogged(emulator.images(REPOSITORY), down.stdout, selection.KeepNewest ?? '');
    printTree(emulator.images(REPOSITORY), downWhy);
  } finally {
    await emulator.close();
  }
}

/** Plays the act; returns when both behaviours have run. */
export async function multiarchAct(server: ResponseServer): Promise<void> {
  const selection = ImageSelection.allImages().keepNewest(2).protectTags('v1.0.0');
  console.log('\n7. MULTI-ARCHITECTURE IMAGES: allImages().keepNewest(2).protectTags("v1.0.0") on buildx pushes');
  console.log(
    '   Played twice: ECR Public does not document whether it refuses to delete an image that an index still references\n' +
      '   (ImageReferencedByManifestList), and a field report says it did not. Every index must stay whole either way, so the act\n' +
      '   runs once on a server that refuses such deletions and once on one that allows them. Each image is labelled with the\n' +
      "   handler's own reason, from its log line.",
  );
  for (const behaviour of ['refuse', 'allow'] as const) {
    await play(behaviour, server, 'allImages().keepNewest(2).protectTags("v1.0.0")', selection._toWire());
  }
}

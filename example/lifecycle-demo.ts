/**
 * The lifecycle-policy act of `npm run demo`: a private repository's
 * lifecycle policy of three rules, given to a public repository on the
 * project's local ECR Public, with images pushed over the last 50 days
 * (releases as buildx pushes, a signature, pull-request images, untagged
 * build leftovers). A dry run first, then the real run, through the shipped
 * handler bundle; each image is labelled with the rule that expires or keeps
 * it, from the handler's own log line, never from a guess of the demo's.
 */
import { Duration, aws_ecr as ecr } from 'aws-cdk-lib';
import { ImageSelection } from '../lib/selection';
import { isIndex } from '../lambda/select';
import { ImageSummary, buildxIndex, cosignSignature, singleImage, startEcrPublicEmulator } from '../local/ecr-public';
import { LocalCustomResource, ResponseServer } from '../test/support/local-cloudformation';
import { LogLine, logLineOf } from './log-line-of';

const DAY = 86_400_000;
const REPOSITORY = 'demo/lifecycle';

/** The policy, as a team keeps it for its private repositories (aws-cdk-lib's LifecycleRule). */
const RULES: ecr.LifecycleRule[] = [
  { rulePriority: 1, description: 'Keep the 3 newest releases', tagPatternList: ['v*'], maxImageCount: 3 },
  { rulePriority: 2, description: 'Pull-request images go after 14 days', tagPrefixList: ['pr-'], maxImageAge: Duration.days(14) },
  { rulePriority: 3, description: 'Untagged images go after a day', tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.days(1) },
];

const short = (digest: string) => digest.slice(7, 19);
const nameOf = (image: ImageSummary | undefined) => (image ? (image.tags[0] ?? short(image.digest)) : '?');
const ruleInWords = (priority: number) => `rule ${priority} (${RULES.find((rule) => rule.rulePriority === priority)?.description})`;

/** Each image's label, from the log line: the rule that expires it, or why it stays. */
function labels(line: LogLine | undefined, images: readonly ImageSummary[], dryRun: boolean): Map<string, string> {
  const byDigest = new Map(images.map((image) => [image.digest, image]));
  const label = new Map<string, string>();
  for (const id of line?.deletedImageIds ?? []) {
    if (id.imageDigest !== undefined && id.rule !== undefined)
      label.set(id.imageDigest, `${dryRun ? 'would be expired' : 'expired'} by ${ruleInWords(id.rule)}`);
  }
  for (const kept of line?.keptImages ?? []) {
    const reason =
      kept.reason === 'newest'
        ? `kept by ${ruleInWords(kept.rule ?? 0)}: one of its newest`
        : kept.reason === 'unknown'
          ? 'kept: a manifest could not be read'
          : `kept (${kept.reason})`;
    label.set(kept.imageDigest, kept.partOf ? `part of ${nameOf(byDigest.get(kept.partOf))}, ${reason}` : reason);
  }
  return label;
}

/** How long ago, in words. */
const ago = (now: number, at: number) =>
  now - at < DAY ? `${Math.round((now - at) / 3_600_000)} hours ago` : `${Math.round((now - at) / DAY)} days ago`;

/** The images as users see them (an index with its platform images and attestations, and its signature): top-level ones first. */
function imagesAsUsersSeeThem(images: readonly ImageSummary[]): Array<{ top: ImageSummary; members: ImageSummary[] }> {
  const listed = new Set(images.flatMap((image) => image.references));
  const isReferrer = (image: ImageSummary) => image.subject !== undefined && image.tags.length === 0 && !listed.has(image.digest);
  return images
    .filter((image) => !listed.has(image.digest) && !isReferrer(image))
    .sort((a, b) => b.pushedAt - a.pushedAt)
    .map((top) => ({
      top,
      members: images.filter((image) => top.references.includes(image.digest) || (isReferrer(image) && image.subject === top.digest)),
    }));
}

/**
 * Each image as users see it, with its label from the log line; a platform
 * image, attestation or signature is shown only when its label is not its
 * image's (the handler labels each manifest: "part of" an image kept, or
 * expired by the same rule).
 */
function printImages(images: readonly ImageSummary[], label: Map<string, string>, now: number): void {
  const labelOf = (image: ImageSummary) => label.get(image.digest) ?? 'no rule expires it';
  for (const { top, members } of imagesAsUsersSeeThem(images)) {
    const own = labelOf(top);
    const sameAsTop = (member: ImageSummary) => labelOf(member) === own || labelOf(member) === `part of ${nameOf(top)}, ${own}`;
    const withIt = members.filter(sameAsTop);
    const others = members.filter((member) => !sameAsTop(member));
    const parts = withIt.length > 0 ? ` (with ${withIt.length} platform images, attestations and signatures)` : '';
    console.log(
      `     ${short(top.digest)} ${isIndex(top) ? 'index' : 'image'} ${top.tags.join(', ') || '(untagged)'}${parts}, pushed ${ago(now, top.pushedAt)}  <- ${own}`,
    );
    for (const member of others) console.log(`        ${short(member.digest)} ${member.tags.join(', ') || '(untagged)'}  <- ${labelOf(member)}`);
  }
}

/** Plays the act on a local ECR Public of its own. */
export async function lifecycleAct(server: ResponseServer): Promise<void> {
  console.log("\n8. A PRIVATE ECR LIFECYCLE POLICY on a public repository: ImageSelection.fromLifecycleRules, private ECR's meaning");
  console.log('   The rules, as a team keeps them for its private repositories (aws-cdk-lib lifecycleRules):');
  for (const rule of RULES) console.log(`     rule ${rule.rulePriority}: ${rule.description}`);
  console.log(
    '   Every rule looks at the whole repository; an image belongs to the first rule whose tags select it, and only that rule\n' +
      '   may expire it. A multi-architecture push (an index, its platform images and attestations, its signature) is one image.',
  );
  const emulator = await startEcrPublicEmulator();
  try {
    const now = Date.now();
    emulator.createRepository(REPOSITORY);
    const releases = [0, 1, 2, 3, 4].map((n) => buildxIndex(`v1.${n}.0`, { tags: [`v1.${n}.0`], pushedAt: now - (50 - 10 * n) * DAY }));
    emulator.seed(REPOSITORY, [
      ...releases.flatMap((release) => release.images),
      cosignSignature(releases[4].index),
      singleImage('pr-7', { tags: ['pr-7'], pushedAt: now - 20 * DAY }),
      singleImage('pr-8', { tags: ['pr-8'], pushedAt: now - 3 * DAY }),
      ...buildxIndex('leftover', { pushedAt: now - 30 * DAY }).images,
      singleImage('cache-1', { pushedAt: now - 5 * DAY }),
      singleImage('cache-2', { pushedAt: now - 2 * 3_600_000 }),
    ]);
    const env = { AWS_ENDPOINT_URL_ECR_PUBLIC: emulator.endpoint, ECR_PUBLIC_REGISTRY_ENDPOINT: emulator.registryEndpoint };
    const props = (dryRun: boolean) => ({
      RepositoryName: REPOSITORY,
      Select: ImageSelection.fromLifecycleRules(RULES)._toWire(),
      DeleteOn: ['Create', 'Update', 'Delete'],
      FailOnImageFailure: 'true',
      DryRun: String(dryRun),
      ApiRegion: 'us-east-1',
    });
    const before = emulator.images(REPOSITORY);

    const dry = await new LocalCustomResource(server, { env }).create(props(true));
    const wouldExpire = new Map<number, string[]>();
    const images = imagesAsUsersSeeThem(before);
    for (const id of logLineOf(dry.stdout)?.line.deletedImageIds ?? []) {
      const head = images.find(({ top }) => top.digest === id.imageDigest)?.top;
      if (head && id.rule !== undefined) wouldExpire.set(id.rule, [...(wouldExpire.get(id.rule) ?? []), nameOf(head)]);
    }
    console.log(
      `\n   Dry run (like get-lifecycle-policy-preview): ${dry.response?.body.Status}, RuleCounts ${dry.response?.body.Data?.RuleCounts}; would expire:`,
    );
    for (const [rule, names] of [...wouldExpire].sort(([a], [b]) => a - b)) console.log(`     by ${ruleInWords(rule)}: ${names.join(', ')}`);

    const real = await new LocalCustomResource(server, { env }).create(props(false));
    const logged = logLineOf(real.stdout)?.line;
    console.log(
      `\n   Real run: ${real.response?.body.Status}, RuleCounts ${real.response?.body.Data?.RuleCounts}, ` +
        `${emulator.images(REPOSITORY).length} of ${before.length} manifests left`,
    );
    console.log(`   The reason: ${real.response?.body.Reason}`);
    console.log('   Each image, with the rule that expired it or why it stays (from the log line of the run):');
    const label = labels(logged, before, false);
    // An image gone that the log line does not name would be a deletion nobody asked for: the demo would say so.
    const left = new Set(emulator.images(REPOSITORY).map((image) => image.digest));
    for (const image of before) if (!left.has(image.digest) && !label.has(image.digest)) label.set(image.digest, 'GONE, BUT NO RULE EXPIRED IT');
    for (const image of before)
      if (left.has(image.digest) && label.get(image.digest)?.startsWith('expired')) label.set(image.digest, 'EXPIRED, BUT STILL THERE');
    printImages(before, label, now);
  } finally {
    await emulator.close();
  }
}

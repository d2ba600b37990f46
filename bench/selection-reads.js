// Manifest reads per selection: the shipped handler (assets/handler/index.js, or the bundle given as the first
// argument) runs one Create event per case against the local ECR Public in this process, without latency, and the
// emulator counts the registry's manifest requests (the first attempts without a token included). Run it with two
// bundles to compare (a build of another commit): node bench/selection-reads.js [bundle.js]. Not in run.js: it
// measures counts, not time. docs/multi-arch-safety.md ("What it costs") has its figures.
'use strict';
const path = require('node:path');
const { singleImage } = require('../local/ecr-public');
const { startBenchEcrPublic, buildxRepositoryImages } = require('./local-ecr-public');
const { runNode } = require('./stats');

const RUNNER = path.join(__dirname, '..', 'test', 'support', 'invoke-handler.cjs');
const BUNDLE = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'assets', 'handler', 'index.js'));
const REPOSITORY = 'bench/reads';

const CASES = [
  [
    'untaggedImages(), 1,000 plain images, half untagged',
    () => Array.from({ length: 1000 }, (_, i) => singleImage(`r${i}`, { tags: i % 2 ? [] : [`t${i}`] })),
    { Match: 'untagged' },
  ],
  ['untaggedImages(), 10,000 buildx images, every index tagged', () => buildxRepositoryImages(10_000, { taggedEvery: 1 }), { Match: 'untagged' }],
  ['untaggedImages(), 10,000 buildx images, 1 index in 5 tagged', () => buildxRepositoryImages(10_000, { taggedEvery: 5 }), { Match: 'untagged' }],
  ['allImages().keepNewest(10), 10,000 buildx images', () => buildxRepositoryImages(10_000, { taggedEvery: 1 }), { Match: 'all', KeepNewest: '10' }],
  ['allImages() (emptying), 10,000 buildx images', () => buildxRepositoryImages(10_000, { taggedEvery: 1 }), { Match: 'all' }],
  [
    'untaggedImages().olderThan(7 days), 1,000 plain images pushed now, half untagged (nothing can go)',
    () => Array.from({ length: 1000 }, (_, i) => singleImage(`n${i}`, { tags: i % 2 ? [] : [`t${i}`], pushedAt: Date.now() })),
    { Match: 'untagged', OlderThanSeconds: String(7 * 86_400) },
  ],
  [
    'lifecycle policy (build-* keep 100, untagged after 7 days), 10,000 buildx images, 1 index in 5 tagged',
    () => buildxRepositoryImages(10_000, { taggedEvery: 5 }),
    {
      Match: 'lifecycle',
      LifecyclePolicyText: JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            selection: { tagStatus: 'tagged', tagPatternList: ['build-*'], countType: 'imageCountMoreThan', countNumber: 100 },
            action: { type: 'expire' },
          },
          {
            rulePriority: 2,
            selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 },
            action: { type: 'expire' },
          },
        ],
      }),
    },
  ],
];

async function selectionReads() {
  const server = await startBenchEcrPublic();
  const rows = [];
  try {
    for (const [label, images, select] of CASES) {
      server.load(REPOSITORY, images());
      const listed = server.remaining(REPOSITORY);
      const requestId = `reads-${rows.length}`;
      const event = {
        RequestType: 'Create',
        ServiceToken: 'bench',
        ResponseURL: server.responseUrl(requestId),
        StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/bench/1',
        RequestId: requestId,
        LogicalResourceId: 'Deletion',
        ResourceType: 'Custom::EcrPublicImageDeletion',
        ResourceProperties: {
          ServiceToken: 'bench',
          RepositoryName: REPOSITORY,
          Select: select,
          DeleteOn: ['Create'],
          FailOnImageFailure: 'false',
          DryRun: 'false',
          ApiRegion: 'us-east-1',
        },
      };
      await runNode([RUNNER, BUNDLE], {
        input: JSON.stringify({ event, remainingMs: 600_000 }),
        env: { ...server.env, PATH: process.env.PATH, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench' },
        timeoutMs: 600_000,
      });
      const data = server.response(requestId)?.Data ?? {};
      rows.push({
        label,
        listed,
        manifestReads: server.stats('manifests').calls,
        deleted: Number(data.DeletedCount),
        keptUnknown: Number(data.KeptUnknownCount),
      });
      console.log(JSON.stringify(rows[rows.length - 1]));
    }
  } finally {
    await server.close();
  }
  return rows;
}

if (require.main === module)
  selectionReads().catch((error) => {
    console.error(error);
    process.exit(1);
  });

module.exports = { selectionReads };

// The selection's decision alone (lambda/select.ts, pure: no I/O), at 100,000 images: how long selectImages takes,
// the manifests it needs read and given back until it needs none, for this build and, when given, a baseline build of
// the same file (e.g. main's compiled lambda/select.js) in the same run: node bench/select-decision.js [baseline.js].
// Since issue 19 every selection goes through the rule engine (lambda/rules.ts) on images grouped as users see them
// (lambda/image-groups.ts); the baseline of main before it decided with its own matching and ranking.
// Not in run.js: a micro-benchmark of one step. bench/README.md ("The selection's decision alone") has its figures.
'use strict';
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { median } = require('./stats');

const OURS = path.join(__dirname, '..', 'lambda', 'select.js');
const BASELINE = process.argv[2] ? path.resolve(process.argv[2]) : undefined;
const NOW = Date.UTC(2026, 5, 1);
const PLAIN = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const digest = (n) => `sha256:${n.toString(16).padStart(64, '0')}`;

/** n single-platform images, one in `untaggedEvery` untagged, pushed an hour apart. */
function plainRepository(n, untaggedEvery = 2) {
  const listing = [];
  for (let i = 0; i < n; i++)
    listing.push({ digest: digest(i + 1), tags: i % untaggedEvery === 0 ? [] : [`v${i}`], pushedAt: NOW - i * 3_600_000, mediaType: PLAIN });
  return { listing, manifests: new Map() };
}

/** n manifests as buildx pushes: an index (tagged one in `taggedEvery`) and 4 untagged children each. */
function buildxRepository(n, taggedEvery = 2) {
  const listing = [];
  const manifests = new Map();
  let next = 1;
  for (let push = 0; push < n / 5; push++) {
    const pushedAt = NOW - push * 3_600_000;
    const children = [0, 1, 2, 3].map(() => digest(next++));
    for (const child of children) listing.push({ digest: child, tags: [], pushedAt: pushedAt - 1000, mediaType: PLAIN });
    const index = digest(next++);
    listing.push({ digest: index, tags: push % taggedEvery === 0 ? [`build-${push}`] : [], pushedAt, mediaType: INDEX });
    manifests.set(index, { references: children, mediaType: INDEX });
  }
  return { listing, manifests };
}

const policy = (rules) => ({
  Match: 'lifecycle',
  LifecyclePolicyText: JSON.stringify({ rules: rules.map(([rulePriority, selection]) => ({ rulePriority, selection, action: { type: 'expire' } })) }),
});
const POLICY = policy([
  [1, { tagStatus: 'tagged', tagPatternList: ['v*', 'build-*'], countType: 'imageCountMoreThan', countNumber: 100 }],
  [2, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 }],
  [3, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 5000 }],
]);

const CASES = [
  ['untaggedImages(), 100,000 plain images, half untagged', () => plainRepository(100_000), { Match: 'untagged' }],
  [
    "tagsMatching('v*').keepNewest(100), 100,000 plain images",
    () => plainRepository(100_000),
    { Match: 'tagged', TagPatterns: ['v*'], KeepNewest: '100' },
  ],
  [
    'untaggedImages().olderThan(7 days), 100,000 buildx manifests',
    () => buildxRepository(100_000),
    { Match: 'untagged', OlderThanSeconds: String(7 * 86_400) },
  ],
  ['allImages().keepNewest(10), 100,000 buildx manifests', () => buildxRepository(100_000), { Match: 'all', KeepNewest: '10' }],
  ['a lifecycle policy of 3 rules, 100,000 plain images', () => plainRepository(100_000), POLICY],
  ['a lifecycle policy of 3 rules, 100,000 buildx manifests', () => buildxRepository(100_000), POLICY],
];

/** Selects as the handler does: what it needs is read (from `manifests`, else an image manifest), and it selects again. */
function decide(selectImages, { listing, manifests }, selection) {
  const known = new Map();
  let result = selectImages(listing, selection, NOW, known);
  let calls = 1;
  while (result.needs.length > 0) {
    for (const need of result.needs) known.set(need, manifests.get(need) ?? { references: [] });
    result = selectImages(listing, selection, NOW, known);
    calls++;
  }
  return { ids: result.passes.flat().length, calls };
}

function time(selectImages, repository, selection) {
  const runs = [];
  let outcome;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    outcome = decide(selectImages, repository, selection);
    runs.push(performance.now() - started);
  }
  return { ms: median(runs), ...outcome };
}

function main() {
  const ours = require(OURS).selectImages;
  const baseline = BASELINE ? require(BASELINE).selectImages : undefined;
  for (const [label, make, selection] of CASES) {
    const repository = make();
    const row = { label, ours: time(ours, repository, selection) };
    if (baseline) row.baseline = time(baseline, repository, selection);
    // A ratio only where both decide the same deletions: main before issue 19's second phase deleted nothing for a policy.
    if (row.baseline && row.baseline.ids === row.ours.ids) row.ratio = Number((row.ours.ms / row.baseline.ms).toFixed(2));
    console.log(JSON.stringify(row));
  }
}

main();

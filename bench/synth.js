// Synth scaling: stacks with 1, 10 and 100 deletions of 5 images each, written
// with EcrPublicImageDeletion and with aws-cdk-lib's AwsCustomResource (one
// BatchDeleteImage call on Create and on Delete, IAM scoped to the same
// repository ARN). Both variants are built and synthesized in this process,
// interleaved, so they share the JIT and the machine's state.
'use strict';
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { App, Aws, Stack } = require('aws-cdk-lib');
const cr = require('aws-cdk-lib/custom-resources');
const { EcrPublicImageDeletion } = require('../lib');
const { imageIds } = require('./events');
const { median } = require('./stats');

const IMAGES = 5;

function repositoryArn(name) {
  return `arn:${Aws.PARTITION}:ecr-public::${Aws.ACCOUNT_ID}:repository/${name}`;
}

const VARIANTS = {
  ours: (stack, i) => new EcrPublicImageDeletion(stack, `Deletion${i}`, { repositoryName: `repo-${i}`, imageIds: imageIds(IMAGES) }),
  awsCustomResource: (stack, i) => {
    const call = {
      service: 'ecr-public',
      action: 'BatchDeleteImage',
      region: 'us-east-1',
      parameters: { repositoryName: `repo-${i}`, imageIds: imageIds(IMAGES) },
      physicalResourceId: cr.PhysicalResourceId.of(`deletion-${i}`),
    };
    return new cr.AwsCustomResource(stack, `Deletion${i}`, {
      onCreate: call,
      onDelete: call,
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: [repositoryArn(`repo-${i}`)] }),
    });
  },
};

/** Builds and synthesizes one stack; returns times and what the template holds. */
function synthOnce(variant, count) {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  try {
    const started = performance.now();
    const app = new App({ outdir });
    const stack = new Stack(app, 'Bench');
    for (let i = 0; i < count; i++) VARIANTS[variant](stack, i);
    const built = performance.now();
    const assembly = app.synth();
    const done = performance.now();
    const artifact = assembly.getStackByName('Bench');
    const file = readFileSync(path.join(outdir, artifact.templateFile));
    const resources = Object.values(artifact.template.Resources);
    const count_ = (type) => resources.filter((r) => r.Type === type).length;
    return {
      constructMs: built - started,
      synthMs: done - built,
      templateBytes: file.length,
      functions: count_('AWS::Lambda::Function'),
      resources: resources.length,
      policies: count_('AWS::IAM::Policy'),
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * Repetitions per count: a small stack synthesizes in about 10 ms, where the
 * machine's noise is as large as the difference measured, so it gets more.
 */
const REPETITIONS = { 1: 101, 10: 21, 100: 9 };

async function synthScaling({ counts = [1, 10, 100], repetitions = REPETITIONS, log = () => {} } = {}) {
  const repetitionsOf = (count) => (typeof repetitions === 'number' ? repetitions : (repetitions[count] ?? 9));
  const variants = Object.keys(VARIANTS);
  // Warm-up: the first synth loads and compiles most of aws-cdk-lib.
  for (const variant of variants) synthOnce(variant, 1);
  const rows = [];
  for (const count of counts) {
    const samples = Object.fromEntries(variants.map((v) => [v, []]));
    for (let r = 0; r < repetitionsOf(count); r++) {
      for (const variant of variants) samples[variant].push(synthOnce(variant, count));
    }
    for (const variant of variants) {
      const s = samples[variant];
      const last = s[s.length - 1];
      rows.push({
        variant,
        count,
        repetitions: s.length,
        synthMs: median(s.map((x) => x.synthMs)),
        constructAndSynthMs: median(s.map((x) => x.constructMs + x.synthMs)),
        templateBytes: last.templateBytes,
        bytesPerInstance: last.templateBytes / count,
        functions: last.functions,
        resources: last.resources,
        policies: last.policies,
      });
    }
    log(`  synth ${count}: ${variants.map((v) => `${v} ${median(samples[v].map((x) => x.synthMs)).toFixed(1)} ms`).join(', ')}`);
  }
  // What one more instance adds: (bytes at the largest count - bytes at the smallest) / difference.
  const marginal = {};
  for (const variant of variants) {
    const mine = rows.filter((r) => r.variant === variant);
    const first = mine[0];
    const last = mine[mine.length - 1];
    marginal[variant] = (last.templateBytes - first.templateBytes) / (last.count - first.count);
  }
  const pairs = counts.map((count) => ({
    count,
    ours: rows.find((row) => row.variant === 'ours' && row.count === count),
    theirs: rows.find((row) => row.variant === 'awsCustomResource' && row.count === count),
  }));
  const bytesLosingCounts = pairs.filter((p) => p.ours.bytesPerInstance > p.theirs.bytesPerInstance).map((p) => p.count);
  const synthLosingCounts = pairs.filter((p) => p.ours.synthMs > p.theirs.synthMs).map((p) => p.count);
  return {
    repetitions: Object.fromEntries(counts.map((count) => [count, repetitionsOf(count)])),
    images: IMAGES,
    counts,
    rows,
    marginalBytesPerInstance: marginal,
    goals: {
      oneFunction: pairs.every((p) => p.ours.functions === 1),
      synthTimeAtMost: synthLosingCounts.length === 0,
      synthLosingCounts,
      bytesPerInstanceAtMost: bytesLosingCounts.length === 0,
      bytesLosingCounts,
    },
  };
}

module.exports = { synthScaling };

if (require.main === module) {
  synthScaling({ log: console.log }).then((r) => console.log(JSON.stringify(r, null, 1)));
}

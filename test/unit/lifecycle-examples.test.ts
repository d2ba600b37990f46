/**
 * AWS's worked examples of lifecycle policies, with their documented outcomes
 * (test/support/lifecycle-examples.ts has them, from "Examples of lifecycle
 * policies in Amazon ECR"). Every example is decided by the engine
 * (lambda/rules.ts, through selection-rules.ts) and by the reference
 * evaluator (test/support/lifecycle-reference.ts), and both must give the
 * documented result: which images expire, and by which rule.
 *
 * The examples that archive images, or select by pull or archive time, are
 * refused (ECR Public has no archive and records no pull times): the end of
 * this file.
 */
import type { LifecyclePolicyDocument } from '../../lib/contract';
import { lifecyclePolicyTextProblems } from '../../lib/validation';
import { evaluateRules } from '../../lambda/rules';
import { rulesOf } from '../../lambda/selection-rules';
import { ALL_IMAGES_B_POLICY, ExampleImage, LIFECYCLE_EXAMPLES } from '../support/lifecycle-examples';
import { referenceExpirations } from '../support/lifecycle-reference';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

/** An example's image at NOW, with a digest made from its letter (so that a tie in push time is decided the same way). */
const asImage = (image: ExampleImage) => ({
  name: image.name,
  digest: `sha256:${image.name.charCodeAt(0).toString(16).padStart(64, '0')}`,
  tags: image.tags,
  pushedAt: NOW - image.ageMs,
});
type ImageAtNow = ReturnType<typeof asImage>;

/** Name -> priority of the rule that expires it, as the engine decides. */
function engineOutcome(policy: object, images: ImageAtNow[]): Record<string, number> {
  const text = JSON.stringify(policy);
  expect(lifecyclePolicyTextProblems(text)).toEqual([]);
  const { images: decisions } = evaluateRules(images, rulesOf({ Match: 'lifecycle', LifecyclePolicyText: text }), NOW);
  return Object.fromEntries(decisions.flatMap((decision, index) => (decision.outcome === 'expire' ? [[images[index].name, decision.priority]] : [])));
}

/** Name -> priority of the rule that expires it, as the reference evaluator decides. */
function referenceOutcome(policy: object, images: ImageAtNow[]): Record<string, number> {
  const expired = referenceExpirations(policy as LifecyclePolicyDocument, images, NOW);
  return Object.fromEntries(images.filter((i) => expired.has(i.digest)).map((i) => [i.name, expired.get(i.digest)!]));
}

function expectOutcome(policy: object, images: ImageAtNow[], expected: Readonly<Record<string, number>>): void {
  expect(engineOutcome(policy, images)).toEqual(expected);
  expect(referenceOutcome(policy, images)).toEqual(expected);
}

describe('every example of the page, with its documented outcome', () => {
  test.each(LIFECYCLE_EXAMPLES.map((example) => [example.title, example] as const))('%s', (_title, example) => {
    expectOutcome(example.policy, example.images.map(asImage), example.expected);
  });
});

describe('Filtering on all images, example B, rule by rule', () => {
  test('rule 3 cannot mark A, B, C or E, which higher rules identified; each says which rule keeps it and why', () => {
    const example = LIFECYCLE_EXAMPLES.find((e) => e.policy === ALL_IMAGES_B_POLICY && !e.dependsOnDigests)!;
    const images = example.images.map(asImage);
    const { images: decisions, rules } = evaluateRules(
      images,
      rulesOf({ Match: 'lifecycle', LifecyclePolicyText: JSON.stringify(ALL_IMAGES_B_POLICY) }),
      NOW,
    );
    const byName = Object.fromEntries(decisions.map((decision, index) => [images[index].name, decision]));
    expect(byName.C).toMatchObject({ outcome: 'keep', reason: 'amongNewest', priority: 1 });
    expect(byName.E).toMatchObject({ outcome: 'keep', reason: 'tooRecent', priority: 2 });
    // The per-rule preview: how many images each rule identifies and expires.
    expect(rules.map(({ priority, selected, expired }) => ({ priority, selected, expired }))).toEqual([
      { priority: 1, selected: 2, expired: 1 },
      { priority: 2, selected: 2, expired: 1 },
      { priority: 3, selected: 5, expired: 1 },
    ]);
  });
});

describe('the examples that ECR Public cannot honour are refused, naming the rule and the field', () => {
  const refusal = (policy: object) => lifecyclePolicyTextProblems(JSON.stringify(policy));

  test('Filtering on last pulled time (transition to archive)', () => {
    const policy = {
      rules: [
        {
          rulePriority: 1,
          description: 'Archive images not pulled in 90 days',
          selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 },
          action: { type: 'transition', targetStorageClass: 'archive' },
        },
      ],
    };
    expect(refusal(policy)).toEqual([
      'select.lifecyclePolicy rules[0] (rulePriority 1): selection.countType "sinceImagePulled" cannot be honoured by ECR Public: ECR Public records no pull times (allowed: imageCountMoreThan, sinceImagePushed)',
      'select.lifecyclePolicy rules[0] (rulePriority 1): action.type "transition" cannot be honoured by ECR Public, which has no archive storage class to move images to (allowed: expire)',
    ]);
  });

  test('Filtering on archive transition time (expire from archive)', () => {
    const policy = {
      rules: [
        {
          rulePriority: 1,
          description: 'Expire images archived for more than 365 days',
          selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 365 },
          action: { type: 'expire' },
        },
      ],
    };
    expect(refusal(policy)).toEqual([
      'select.lifecyclePolicy rules[0] (rulePriority 1): selection.storageClass "archive" cannot be honoured by ECR Public, which has no archive storage class (allowed: standard)',
      'select.lifecyclePolicy rules[0] (rulePriority 1): selection.countType "sinceImageTransitioned" cannot be honoured by ECR Public: ECR Public has no archive storage class, so no image is ever transitioned (allowed: imageCountMoreThan, sinceImagePushed)',
    ]);
  });

  test('Archiving images older than a number of days (sinceImagePushed, but transition)', () => {
    const policy = {
      rules: [
        {
          rulePriority: 1,
          description: 'Archive production images older than 30 days',
          selection: { tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 },
          action: { type: 'transition', targetStorageClass: 'archive' },
        },
      ],
    };
    expect(refusal(policy)).toEqual([
      'select.lifecyclePolicy rules[0] (rulePriority 1): action.type "transition" cannot be honoured by ECR Public, which has no archive storage class to move images to (allowed: expire)',
    ]);
  });
});

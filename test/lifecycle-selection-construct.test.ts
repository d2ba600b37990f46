/**
 * Lifecycle policies as a selection of EcrPublicImageDeletion: what the
 * construct writes for the handler (the policy text), that fromLifecycleRules
 * writes exactly what aws-cdk-lib writes for a private repository with the
 * same rules (and refuses what it refuses), the synth-time errors, and the
 * room a policy has in a schedule's event.
 */
import { App, CfnParameter, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import * as fc from 'fast-check';
import { EcrPublicImageDeletion, ImageSelection } from '../lib';
import { SCHEDULE_INPUT_MAX_CHARS, SCHEDULED_POLICY_MAX_CHARS } from '../lib/contract';

const newStack = () => new Stack(new App(), 'Lifecycle', { env: { region: 'us-east-1' } });
const policyTextOf = (template: Template): string => {
  const [resource] = Object.values(template.findResources('Custom::EcrPublicImageDeletion'));
  return resource.Properties.Select.LifecyclePolicyText;
};

/** The LifecyclePolicyText aws-cdk-lib writes for a private repository with these rules; undefined when it writes none. */
function privateEcrText(rules: ecr.LifecycleRule[]): string | undefined {
  const stack = newStack();
  new ecr.Repository(stack, 'Private', { lifecycleRules: rules });
  const [repository] = Object.values(Template.fromStack(stack).findResources('AWS::ECR::Repository'));
  return repository.Properties?.LifecyclePolicy?.LifecyclePolicyText;
}

/** Ours: the text, or the error. */
function ourText(rules: ecr.LifecycleRule[]): string {
  return ImageSelection.fromLifecycleRules(rules)._toWire().LifecyclePolicyText!;
}

describe('fromLifecycleRules writes what aws-cdk-lib writes for a private repository', () => {
  const mixed: ecr.LifecycleRule[] = [
    { description: 'No priority: numbered after the highest given', tagPatternList: ['pr-*'], maxImageAge: Duration.days(7) },
    { description: 'At most 100 in all', maxImageCount: 100 },
    { rulePriority: 5, tagStatus: ecr.TagStatus.TAGGED, tagPrefixList: ['v'], maxImageCount: 10 },
    { rulePriority: 2, tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.hours(48) },
  ];

  test('defaults, priorities and order: the same text', () => {
    expect(ourText(mixed)).toBe(privateEcrText(mixed));
    expect(JSON.parse(ourText(mixed)).rules.map((r: { rulePriority: number }) => r.rulePriority)).toEqual([5, 2, 6, 7]);
  });

  test('the construct hands that text to the handler, with nothing else in the selection', () => {
    const stack = newStack();
    new EcrPublicImageDeletion(stack, 'Policy', { repositoryName: 'app', select: ImageSelection.fromLifecycleRules(mixed) });
    Template.fromStack(stack).hasResourceProperties('Custom::EcrPublicImageDeletion', {
      Select: { Match: 'lifecycle', LifecyclePolicyText: privateEcrText(mixed) },
    });
  });

  const ruleArb: fc.Arbitrary<ecr.LifecycleRule> = fc
    .record(
      {
        rulePriority: fc.integer({ min: 1, max: 8 }),
        description: fc.constantFrom('a rule', 'Keep "quoted" things', ''),
        tagStatus: fc.constantFrom(ecr.TagStatus.ANY, ecr.TagStatus.TAGGED, ecr.TagStatus.UNTAGGED),
        tagPrefixList: fc.array(fc.constantFrom('v', 'pr-', 'release'), { maxLength: 2 }),
        tagPatternList: fc.array(fc.constantFrom('v*', '*-rc*', 'a*b*c*d*e', 'a*b*c*d*e*f', 'x'), { maxLength: 2 }),
        maxImageCount: fc.integer({ min: 0, max: 20 }),
        maxImageAge: fc.oneof(fc.integer({ min: 1, max: 30 }).map(Duration.days), fc.integer({ min: 1, max: 72 }).map(Duration.hours)),
      },
      { requiredKeys: [] },
    )
    .map((rule) => rule as ecr.LifecycleRule);

  test('over random rules: aws-cdk-lib refuses exactly what we refuse, and writes the same text for the rest', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 5 }), (rules) => {
        let theirs: string | undefined;
        let theirError: unknown;
        try {
          theirs = privateEcrText(rules);
        } catch (error) {
          theirError = error;
        }
        if (theirError !== undefined) {
          expect(() => ourText(rules)).toThrow(/ImageSelection.fromLifecycleRules has invalid rules/);
        } else if (rules.length === 0) {
          // aws-cdk-lib writes no policy for no rules; ours is an empty policy, which the construct refuses.
          expect(ourText(rules)).toBe('{"rules":[]}');
        } else {
          expect(ourText(rules)).toBe(theirs);
        }
      }),
      { numRuns: 400 },
    );
  });

  test.each<[string, ecr.LifecycleRule[], string]>([
    [
      'a tagged rule without a list',
      [{ tagStatus: ecr.TagStatus.TAGGED, maxImageCount: 1 }],
      'rules[0]: TagStatus.TAGGED needs a tagPrefixList or a tagPatternList (got neither, or only empty lists)',
    ],
    [
      'a list on an untagged rule',
      [{ tagStatus: ecr.TagStatus.UNTAGGED, tagPrefixList: ['v'], maxImageCount: 1 }],
      'rules[0]: tagPrefixList and tagPatternList go with TagStatus.TAGGED only (tagStatus is "untagged")',
    ],
    [
      'both lists',
      [{ tagPrefixList: ['v'], tagPatternList: ['v*'], maxImageCount: 1 }],
      'rules[0]: tagPrefixList and tagPatternList are both given (a rule takes one or the other)',
    ],
    [
      'five wildcards',
      [{ tagPatternList: ['a*b*c*d*e*f'], maxImageCount: 1 }],
      'rules[0]: tagPatternList[0] "a*b*c*d*e*f" has 5 wildcards (expected at most 4 * a pattern)',
    ],
    ['neither count nor age', [{ tagPatternList: ['v*'] }], 'rules[0]: give exactly one of maxImageAge and maxImageCount (got neither)'],
    ['two ANY rules', [{ maxImageCount: 1 }, { maxImageCount: 2 }], 'rules[1]: a second TagStatus.ANY rule, after rules[0] (a policy has one)'],
    [
      'a prioritized ANY rule with unprioritized rules',
      [
        { rulePriority: 9, maxImageCount: 1 },
        { tagPatternList: ['v*'], maxImageCount: 2 },
      ],
      'rules[0]: the TagStatus.ANY rule has rulePriority 9, but rules[1] has none (remove the rulePriority of the ANY rule: it then goes last)',
    ],
    [
      'an ANY rule below another',
      [
        { rulePriority: 1, maxImageCount: 1 },
        { rulePriority: 3, tagPatternList: ['v*'], maxImageCount: 2 },
      ],
      'rules[0]: the TagStatus.ANY rule has rulePriority 1, lower than rulePriority 3 of rules[1] (the ANY rule is evaluated last: give it the highest priority, or none)',
    ],
    [
      'an age in hours that are not whole days',
      [{ maxImageAge: Duration.hours(36) }],
      "rules[0]: maxImageAge '36 hours' cannot be converted into a whole number of days.",
    ],
  ])('refuses %s, naming the rule', (_name, rules, problem) => {
    expect(() => ourText(rules)).toThrow(`ImageSelection.fromLifecycleRules has invalid rules:\n  - ${problem}`);
  });

  test('refuses tokens: the policy is written at synth time', () => {
    const stack = newStack();
    const count = new CfnParameter(stack, 'Count', { type: 'Number' }).valueAsNumber;
    expect(() => ourText([{ maxImageCount: count }])).toThrow(
      'rules[0].maxImageCount is a token: the policy is written at synth time (for values known at deploy time, give its text to fromLifecyclePolicyText)',
    );
  });
});

describe('fromLifecyclePolicyText', () => {
  const pretty = JSON.stringify(
    {
      rules: [
        {
          rulePriority: 1,
          description: 'Keep only one untagged image, expire all others',
          selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 },
          action: { type: 'expire' },
        },
      ],
    },
    undefined,
    4,
  );

  test('the text travels without whitespace', () => {
    const stack = newStack();
    new EcrPublicImageDeletion(stack, 'Policy', { repositoryName: 'app', select: ImageSelection.fromLifecyclePolicyText(pretty) });
    expect(policyTextOf(Template.fromStack(stack))).toBe(JSON.stringify(JSON.parse(pretty)));
  });

  test('a policy private ECR accepts and ECR Public honours synthesizes without a warning, with a schedule too', () => {
    const stack = newStack();
    const repo = new ecr.CfnPublicRepository(stack, 'Repo', { repositoryName: 'app' });
    repo.applyRemovalPolicy(RemovalPolicy.DESTROY);
    new EcrPublicImageDeletion(stack, 'Policy', {
      repositoryName: repo.ref,
      select: ImageSelection.fromLifecyclePolicyText(pretty),
      schedule: events.Schedule.rate(Duration.days(1)),
    });
    new EcrPublicImageDeletion(stack, 'Rules', {
      repositoryName: repo.ref,
      select: ImageSelection.fromLifecycleRules([{ tagPatternList: ['v*'], maxImageCount: 5 }, { maxImageAge: Duration.days(90) }]),
    });
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  test('what private ECR refuses, or ECR Public cannot honour, fails the synth with every problem and the construct path', () => {
    const stack = newStack();
    const text = JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 30 },
          action: { type: 'expire' },
        },
        { rulePriority: 2, selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 0 }, action: { type: 'expire' } },
      ],
    });
    expect(
      () => new EcrPublicImageDeletion(stack, 'Policy', { repositoryName: 'app', select: ImageSelection.fromLifecyclePolicyText(text) }),
    ).toThrow(
      "EcrPublicImageDeletion 'Lifecycle/Policy' has invalid properties:\n" +
        '  - select.lifecyclePolicy rules[0] (rulePriority 1): selection.countType "sinceImagePulled" cannot be honoured by ECR Public: ECR Public records no pull times (allowed: imageCountMoreThan, sinceImagePushed)\n' +
        '  - select.lifecyclePolicy rules[1] (rulePriority 2): selection.countNumber 0 is not a whole number of at least 1\n' +
        '  - select.lifecyclePolicy rules[0] (rulePriority 1): tagStatus "any" must have the highest rulePriority (it is evaluated last), but rules[1] has rulePriority 2',
    );
  });

  test('text that is not JSON fails the synth, saying so', () => {
    expect(
      () =>
        new EcrPublicImageDeletion(newStack(), 'Policy', { repositoryName: 'app', select: ImageSelection.fromLifecyclePolicyText('{"rules": [}') }),
    ).toThrow(/select\.lifecyclePolicy is not JSON: /);
  });

  test('the ImageSelection narrowing methods do not apply to a policy', () => {
    expect(
      () =>
        new EcrPublicImageDeletion(newStack(), 'Policy', {
          repositoryName: 'app',
          select: ImageSelection.fromLifecyclePolicyText(pretty).protectTags('latest'),
        }),
    ).toThrow(
      'select.protectTags does not apply to a lifecycle policy (fromLifecycleRules, fromLifecyclePolicyText): say it with a rule of the policy',
    );
  });

  test('a policy known at deploy time only is checked by the handler, and cannot go with a schedule', () => {
    const stack = newStack();
    const text = Fn.importValue('SharedLifecyclePolicy');
    new EcrPublicImageDeletion(stack, 'Imported', { repositoryName: 'app', select: ImageSelection.fromLifecyclePolicyText(text) });
    Template.fromStack(stack).hasResourceProperties('Custom::EcrPublicImageDeletion', {
      Select: { Match: 'lifecycle', LifecyclePolicyText: { 'Fn::ImportValue': 'SharedLifecyclePolicy' } },
    });
    expect(
      () =>
        new EcrPublicImageDeletion(stack, 'Scheduled', {
          repositoryName: 'app',
          select: ImageSelection.fromLifecyclePolicyText(text),
          schedule: events.Schedule.rate(Duration.days(1)),
        }),
    ).toThrow(/schedule is given with a lifecycle policy known only at deploy time/);
  });
});

describe('a policy in the schedule event', () => {
  /** A policy whose text, escaped inside the event's JSON, takes exactly `size` characters. */
  function policyOfEscapedSize(size: number): string {
    const base = {
      rules: [
        {
          rulePriority: 1,
          description: '',
          selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 },
          action: { type: 'expire' },
        },
      ],
    };
    const escaped = (text: string) => JSON.stringify(text).length - 2;
    base.rules[0].description = 'x'.repeat(size - escaped(JSON.stringify(base)));
    const text = JSON.stringify(base);
    expect(escaped(text)).toBe(size);
    return text;
  }

  test(`a policy of ${SCHEDULED_POLICY_MAX_CHARS} escaped characters fits the ${SCHEDULE_INPUT_MAX_CHARS}-character input, with every other field at its longest`, () => {
    const stack = newStack();
    const deletion = new EcrPublicImageDeletion(stack, 'Longest', {
      repositoryName: 'a'.repeat(205),
      registryId: '123456789012',
      select: ImageSelection.fromLifecyclePolicyText(policyOfEscapedSize(SCHEDULED_POLICY_MAX_CHARS)),
      schedule: events.Schedule.rate(Duration.days(1)),
      failOnImageFailure: false,
      apiRegion: 'us-west-2',
    });
    (deletion.resource.node.defaultChild as unknown as { overrideLogicalId(id: string): void }).overrideLogicalId('L'.repeat(255));
    const [rule] = Object.values(Template.fromStack(stack).findResources('AWS::Events::Rule'));
    const input: string = rule.Properties.Targets[0].Input;
    expect(typeof input).toBe('string');
    expect(input.length).toBeLessThanOrEqual(SCHEDULE_INPUT_MAX_CHARS);
    // The reserve is not a guess: the rest of the event takes this much at its longest.
    expect(input.length - SCHEDULED_POLICY_MAX_CHARS).toBeLessThan(SCHEDULE_INPUT_MAX_CHARS - SCHEDULED_POLICY_MAX_CHARS);
  });

  test('one more character fails the synth, saying how much room there is', () => {
    expect(
      () =>
        new EcrPublicImageDeletion(newStack(), 'TooLong', {
          repositoryName: 'app',
          select: ImageSelection.fromLifecyclePolicyText(policyOfEscapedSize(SCHEDULED_POLICY_MAX_CHARS + 1)),
          schedule: events.Schedule.rate(Duration.days(1)),
        }),
    ).toThrow(`select.lifecyclePolicy takes ${SCHEDULED_POLICY_MAX_CHARS + 1} characters in the schedule's event`);
  });

  test('without a schedule, a policy may take the 30,720 characters private ECR allows', () => {
    const stack = newStack();
    new EcrPublicImageDeletion(stack, 'Long', { repositoryName: 'app', select: ImageSelection.fromLifecyclePolicyText(policyOfEscapedSize(30_000)) });
    expect(policyTextOf(Template.fromStack(stack)).length).toBeLessThanOrEqual(30_720);
  });
});

describe('a repository that outlives the stack', () => {
  test('a policy run on the stack deletion of a retained repository is warned about, as other deletions of whole images are', () => {
    const stack = newStack();
    const repo = new ecr.CfnPublicRepository(stack, 'Repo', { repositoryName: 'app' });
    repo.applyRemovalPolicy(RemovalPolicy.RETAIN);
    new EcrPublicImageDeletion(stack, 'Policy', { repositoryName: repo.ref, select: ImageSelection.fromLifecycleRules([{ maxImageCount: 3 }]) });
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.anyValue());
    expect(warnings.map((w) => w.entry.data)).toEqual([
      expect.stringContaining('deletes the images its lifecycle policy expires when the stack is deleted'),
    ]);
  });
});

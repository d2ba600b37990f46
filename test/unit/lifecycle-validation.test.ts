/**
 * The rules of a valid lifecycle policy (lib/validation.ts): private ECR's,
 * from "Lifecycle policy properties in Amazon ECR" and the evaluation rules of
 * "Automate the cleanup of images by using lifecycle policies", and the
 * refusals of what ECR Public cannot honour. Each error names the rule (index
 * and priority), the field, the value and what is allowed.
 */
import { SCHEDULED_POLICY_MAX_CHARS } from '../../lib/contract';
import {
  InvalidPropertiesError,
  lifecyclePolicyProblems,
  lifecyclePolicyTextProblems,
  parseLifecyclePolicyText,
  propertiesProblems,
  scheduledPolicyProblem,
  selectionProblems,
} from '../../lib/validation';

const P = 'select.lifecyclePolicy';
const expire = { type: 'expire' };
const rule = (rulePriority: unknown, selection: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  rulePriority,
  selection,
  action: expire,
  ...extra,
});
const keep = (countNumber: unknown = 1) => ({ countType: 'imageCountMoreThan', countNumber });
const days = (countNumber: unknown = 7) => ({ countType: 'sinceImagePushed', countUnit: 'days', countNumber });
const problemsOf = (...rules: unknown[]) => lifecyclePolicyProblems({ rules });

describe('a policy private ECR accepts and ECR Public honours has no problem', () => {
  test.each([
    ['one untagged rule by age', [rule(1, { tagStatus: 'untagged', ...days(14) })]],
    [
      'tagged by pattern, untagged, any last',
      [
        rule(1, { tagStatus: 'tagged', tagPatternList: ['prod*'], ...keep(3) }),
        rule(2, { tagStatus: 'untagged', ...days(1) }),
        rule(9, { tagStatus: 'any', ...keep(50) }),
      ],
    ],
    [
      'tagged by prefixes, with a description and storageClass standard',
      [rule(10, { tagStatus: 'tagged', tagPrefixList: ['alpha', 'beta'], storageClass: 'standard', ...days(5) }, { description: 'Rule 1' })],
    ],
    [
      'priorities need not be sequential',
      [rule(5, { tagStatus: 'tagged', tagPatternList: ['*test*1*2*3', 'test*1*2*3*'], ...keep() }), rule(100, { tagStatus: 'any', ...keep() })],
    ],
    [
      'two rules with different prefix sets that share a prefix',
      [
        rule(1, { tagStatus: 'tagged', tagPrefixList: ['prod'], ...keep() }),
        rule(2, { tagStatus: 'tagged', tagPrefixList: ['prod', 'beta'], ...keep() }),
      ],
    ],
    [
      'the same patterns in two rules (the documented uniqueness is of prefixes)',
      [
        rule(1, { tagStatus: 'tagged', tagPatternList: ['prod*'], ...keep() }),
        rule(2, { tagStatus: 'tagged', tagPatternList: ['prod*'], ...days() }),
      ],
    ],
  ])('%s', (_name, rules) => {
    expect(problemsOf(...rules)).toEqual([]);
  });

  test('50 rules, the quota, pass', () => {
    const rules = Array.from({ length: 50 }, (_, i) => rule(i + 1, { tagStatus: 'tagged', tagPrefixList: [`p${i}`], ...keep() }));
    expect(problemsOf(...rules)).toEqual([]);
  });
});

describe('what ECR Public cannot honour is refused, saying why', () => {
  test('sinceImagePulled: no pull times', () => {
    expect(problemsOf(rule(3, { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 }))).toEqual([
      `${P} rules[0] (rulePriority 3): selection.countType "sinceImagePulled" cannot be honoured by ECR Public: ECR Public records no pull times (allowed: imageCountMoreThan, sinceImagePushed)`,
    ]);
  });

  test('sinceImageTransitioned and storageClass archive: no archive', () => {
    expect(
      problemsOf(rule(1, { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 365 })),
    ).toEqual([
      `${P} rules[0] (rulePriority 1): selection.storageClass "archive" cannot be honoured by ECR Public, which has no archive storage class (allowed: standard)`,
      `${P} rules[0] (rulePriority 1): selection.countType "sinceImageTransitioned" cannot be honoured by ECR Public: ECR Public has no archive storage class, so no image is ever transitioned (allowed: imageCountMoreThan, sinceImagePushed)`,
    ]);
  });

  test('action transition: nowhere to move images to', () => {
    expect(
      problemsOf({ rulePriority: 2, selection: { tagStatus: 'any', ...days(30) }, action: { type: 'transition', targetStorageClass: 'archive' } }),
    ).toEqual([
      `${P} rules[0] (rulePriority 2): action.type "transition" cannot be honoured by ECR Public, which has no archive storage class to move images to (allowed: expire)`,
    ]);
  });
});

describe("private ECR's rules", () => {
  test('priorities are unique: the second rule with a priority names the first', () => {
    expect(
      problemsOf(
        rule(1, { tagStatus: 'tagged', tagPatternList: ['a*'], ...keep() }),
        rule(1, { tagStatus: 'tagged', tagPatternList: ['b*'], ...keep() }),
      ),
    ).toEqual([`${P} rules[1] (rulePriority 1): rulePriority 1 is also the priority of rules[0] (priorities are unique in a policy)`]);
  });

  test('a priority is a whole number of at least 1', () => {
    expect(
      problemsOf(
        rule(0, { tagStatus: 'untagged', ...keep() }),
        rule('2', { tagStatus: 'any', ...keep() }),
        rule(1.5, { tagStatus: 'tagged', tagPrefixList: ['x'], ...keep() }),
      ),
    ).toEqual([
      `${P} rules[0]: rulePriority 0 is not a whole number of at least 1`,
      `${P} rules[1]: rulePriority "2" is not a whole number of at least 1`,
      `${P} rules[2]: rulePriority 1.5 is not a whole number of at least 1`,
    ]);
  });

  test(`at most 50 rules (the "Rules per lifecycle policy" quota), at least one`, () => {
    const rules = Array.from({ length: 51 }, (_, i) => rule(i + 1, { tagStatus: 'tagged', tagPrefixList: [`p${i}`], ...keep() }));
    expect(problemsOf(...rules)).toEqual([`${P}.rules has 51 rules (expected at most 50, Amazon ECR's quota "Rules per lifecycle policy")`]);
    expect(problemsOf()).toEqual([`${P}.rules is empty (expected 1 to 50 rules)`]);
  });

  test('countNumber is a whole number of at least 1', () => {
    expect(
      problemsOf(
        rule(1, { tagStatus: 'untagged', ...keep(0) }),
        rule(2, { tagStatus: 'tagged', tagPrefixList: ['a'], ...days(2.5) }),
        rule(3, { tagStatus: 'any', countType: 'imageCountMoreThan' }),
      ),
    ).toEqual([
      `${P} rules[0] (rulePriority 1): selection.countNumber 0 is not a whole number of at least 1`,
      `${P} rules[1] (rulePriority 2): selection.countNumber 2.5 is not a whole number of at least 1`,
      `${P} rules[2] (rulePriority 3): selection.countNumber is missing (expected a whole number of at least 1)`,
    ]);
  });

  test('countUnit "days" goes with sinceImagePushed, and only with it', () => {
    expect(
      problemsOf(
        rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 3 }),
        rule(2, { tagStatus: 'tagged', tagPrefixList: ['a'], countType: 'sinceImagePushed', countUnit: 'hours', countNumber: 3 }),
        rule(3, { tagStatus: 'any', countType: 'imageCountMoreThan', countUnit: 'days', countNumber: 3 }),
      ),
    ).toEqual([
      `${P} rules[0] (rulePriority 1): selection.countUnit is missing (sinceImagePushed counts days: "countUnit": "days")`,
      `${P} rules[1] (rulePriority 2): selection.countUnit "hours" is not a unit (allowed: days)`,
      `${P} rules[2] (rulePriority 3): selection.countUnit "days" is given with countType "imageCountMoreThan" (countUnit goes with sinceImagePushed only)`,
    ]);
  });

  test('one rule selects untagged images', () => {
    expect(problemsOf(rule(1, { tagStatus: 'untagged', ...keep() }), rule(2, { tagStatus: 'untagged', ...days() }))).toEqual([
      `${P} rules[1] (rulePriority 2): a second rule selects untagged images, after rules[0] (a policy has one untagged rule)`,
    ]);
  });

  test('the any rule has the highest priority, and there is one', () => {
    expect(problemsOf(rule(5, { tagStatus: 'any', ...keep() }), rule(7, { tagStatus: 'untagged', ...days() }))).toEqual([
      `${P} rules[0] (rulePriority 5): tagStatus "any" must have the highest rulePriority (it is evaluated last), but rules[1] has rulePriority 7`,
    ]);
    expect(problemsOf(rule(1, { tagStatus: 'any', ...keep() }), rule(2, { tagStatus: 'any', ...days() }))).toEqual([
      `${P} rules[0] (rulePriority 1): tagStatus "any" must have the highest rulePriority (it is evaluated last), but rules[1] has rulePriority 2`,
    ]);
  });

  test('tagged needs one tag list, and not both; untagged and any take none', () => {
    expect(
      problemsOf(
        rule(1, { tagStatus: 'tagged', ...keep() }),
        rule(2, { tagStatus: 'tagged', tagPrefixList: ['a'], tagPatternList: ['b*'], ...keep() }),
        rule(3, { tagStatus: 'untagged', tagPrefixList: ['a'], ...keep() }),
        rule(4, { tagStatus: 'any', tagPatternList: ['a*'], ...keep() }),
      ),
    ).toEqual([
      `${P} rules[0] (rulePriority 1): selection.tagStatus "tagged" needs a tagPatternList or a tagPrefixList (the tags the rule selects)`,
      `${P} rules[1] (rulePriority 2): selection has both tagPrefixList and tagPatternList (a rule takes one or the other)`,
      `${P} rules[2] (rulePriority 3): selection.tagPrefixList is given, but tagStatus is "untagged" (the tag lists go with tagStatus "tagged" only)`,
      `${P} rules[3] (rulePriority 4): selection.tagPatternList is given, but tagStatus is "any" (the tag lists go with tagStatus "tagged" only)`,
    ]);
  });

  test('a tag list is a non-empty list of non-empty strings; a pattern has at most four wildcards', () => {
    expect(
      problemsOf(
        rule(1, { tagStatus: 'tagged', tagPrefixList: [], ...keep() }),
        rule(2, { tagStatus: 'tagged', tagPatternList: ['ok*', '', 7], ...keep() }),
        rule(3, { tagStatus: 'tagged', tagPatternList: ['*test*1*2*3', 'test*1*2*3*4*5*6'], ...keep() }),
      ),
    ).toEqual([
      `${P} rules[0] (rulePriority 1): selection.tagPrefixList must be a non-empty list of tag prefixes, got []`,
      `${P} rules[1] (rulePriority 2): selection.tagPatternList[1] "" is not one of the tag patterns (* matches any run of characters) (expected a non-empty string)`,
      `${P} rules[1] (rulePriority 2): selection.tagPatternList[2] 7 is not one of the tag patterns (* matches any run of characters) (expected a non-empty string)`,
      `${P} rules[2] (rulePriority 3): selection.tagPatternList[1] "test*1*2*3*4*5*6" has 6 wildcards (expected at most 4 * a pattern)`,
    ]);
  });

  test('the rules of a policy have unique sets of tag prefixes', () => {
    expect(
      problemsOf(
        rule(1, { tagStatus: 'tagged', tagPrefixList: ['prod', 'beta'], ...keep() }),
        rule(2, { tagStatus: 'tagged', tagPrefixList: ['beta', 'prod'], ...days() }),
      ),
    ).toEqual([
      `${P} rules[1] (rulePriority 2): selection.tagPrefixList ["beta","prod"] is the set of prefixes of rules[0] (the rules of a policy have unique sets of tag prefixes)`,
    ]);
  });

  test('unknown fields and values are refused, as the schema of private ECR refuses them', () => {
    expect(
      lifecyclePolicyProblems({
        rules: [
          {
            rulePriority: 1,
            selection: { tagStatus: 'Tagged', tagPatternlist: ['a*'], countType: 'imageCountMoreThan', countNumber: 1 },
            action: { type: 'delete' },
            note: 'x',
          },
        ],
        version: 2,
      }),
    ).toEqual([
      `${P} has an unknown field "version" (allowed: rules)`,
      `${P} rules[0] (rulePriority 1) has an unknown field "note" (allowed: rulePriority, description, selection, action)`,
      `${P} rules[0] (rulePriority 1): selection has an unknown field "tagPatternlist" (allowed: tagStatus, tagPatternList, tagPrefixList, storageClass, countType, countUnit, countNumber)`,
      `${P} rules[0] (rulePriority 1): selection.tagStatus "Tagged" is not a tag status (allowed: tagged, untagged, any)`,
      `${P} rules[0] (rulePriority 1): action.type "delete" is not an action (allowed: expire)`,
    ]);
  });

  test('missing parts are named', () => {
    expect(lifecyclePolicyProblems({ rules: [{ rulePriority: 1 }, 'rule', { selection: {}, action: {} }] })).toEqual([
      `${P} rules[0] (rulePriority 1): selection must be an object with tagStatus, countType and countNumber, got undefined`,
      `${P} rules[0] (rulePriority 1): action must be an object with type "expire", got undefined`,
      `${P} rules[1] must be an object with rulePriority, selection and action, got "rule"`,
      `${P} rules[2]: rulePriority is missing (expected a whole number of at least 1, unique in the policy)`,
      `${P} rules[2]: selection.tagStatus is missing (allowed: tagged, untagged, any)`,
      `${P} rules[2]: selection.countType is missing (allowed: imageCountMoreThan, sinceImagePushed)`,
      `${P} rules[2]: selection.countNumber is missing (expected a whole number of at least 1)`,
      `${P} rules[2]: action.type is missing (allowed: expire)`,
    ]);
    expect(lifecyclePolicyProblems([])).toEqual([`${P} must be a JSON object with "rules", got []`]);
    expect(lifecyclePolicyProblems({ rules: {} })).toEqual([`${P}.rules must be a list of rules, got {}`]);
  });

  test('targetStorageClass goes with transition only', () => {
    expect(
      problemsOf({ rulePriority: 1, selection: { tagStatus: 'any', ...keep() }, action: { type: 'expire', targetStorageClass: 'archive' } }),
    ).toEqual([`${P} rules[0] (rulePriority 1): action.targetStorageClass "archive" is given, but it goes with type "transition" only`]);
  });
});

describe('the policy as text', () => {
  const valid = JSON.stringify({ rules: [rule(1, { tagStatus: 'untagged', ...days(14) })] });

  test('text that is not JSON says where it breaks', () => {
    expect(lifecyclePolicyTextProblems('{"rules": [')).toEqual([expect.stringMatching(/^select\.lifecyclePolicy is not JSON: /)]);
    expect(lifecyclePolicyTextProblems(42)).toEqual([`${P} must be the JSON text of a lifecycle policy, got 42`]);
  });

  test('longer than the 30,720 characters of "Lifecycle policy length" is refused', () => {
    const rules = Array.from({ length: 50 }, (_, i) =>
      rule(i + 1, { tagStatus: 'tagged', tagPrefixList: [`p${i}`], ...keep() }, { description: 'x'.repeat(600) }),
    );
    const text = JSON.stringify({ rules });
    expect(text.length).toBeGreaterThan(30_720);
    expect(lifecyclePolicyTextProblems(text)).toEqual([
      `${P} has ${text.length} characters without whitespace (expected at most 30720, Amazon ECR's "Lifecycle policy length")`,
    ]);
  });

  test('parseLifecyclePolicyText returns the document, or throws with every problem', () => {
    expect(parseLifecyclePolicyText(valid)).toEqual(JSON.parse(valid));
    expect(() => parseLifecyclePolicyText('{"rules":[]}')).toThrow(InvalidPropertiesError);
  });

  test('a lifecycle selection is the policy text alone: the ImageSelection narrowing methods do not apply to it', () => {
    expect(selectionProblems({ Match: 'lifecycle', LifecyclePolicyText: valid })).toEqual([]);
    expect(selectionProblems({ Match: 'lifecycle', LifecyclePolicyText: valid, KeepNewest: '2', ProtectTags: ['latest'] })).toEqual([
      'select.keepNewest does not apply to a lifecycle policy (fromLifecycleRules, fromLifecyclePolicyText): say it with a rule of the policy',
      'select.protectTags does not apply to a lifecycle policy (fromLifecycleRules, fromLifecyclePolicyText): say it with a rule of the policy',
    ]);
    expect(selectionProblems({ Match: 'all', LifecyclePolicyText: valid })).toEqual([
      'select has a lifecycle policy, but the selection is "all", not a lifecycle policy',
    ]);
  });

  test('the handler checks the policy before any call (the same rules, through propertiesProblems)', () => {
    const properties = {
      RepositoryName: 'app',
      Select: {
        Match: 'lifecycle',
        LifecyclePolicyText: JSON.stringify({
          rules: [rule(1, { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 9 })],
        }),
      },
      DeleteOn: ['Create'],
      FailOnImageFailure: 'true',
      ApiRegion: 'us-east-1',
    };
    expect(propertiesProblems(properties)).toEqual([
      expect.stringContaining('selection.countType "sinceImagePulled" cannot be honoured by ECR Public'),
    ]);
    // At synth time, a token is let through, for the handler to check.
    expect(propertiesProblems(properties, (value) => value === properties.Select.LifecyclePolicyText)).toEqual([]);
  });
});

describe('a policy on a schedule', () => {
  test(`fits when its escaped text takes at most ${SCHEDULED_POLICY_MAX_CHARS} characters`, () => {
    // Each " of the text takes two characters in the schedule's event.
    const fits = JSON.stringify({ rules: [rule(1, { tagStatus: 'any', ...keep() }, { description: 'x'.repeat(SCHEDULED_POLICY_MAX_CHARS - 200) })] });
    const escaped = JSON.stringify(fits).length - 2;
    expect(escaped).toBeLessThanOrEqual(SCHEDULED_POLICY_MAX_CHARS);
    expect(scheduledPolicyProblem(fits)).toBeUndefined();
    const over = fits.replace('"x', `"${'x'.repeat(SCHEDULED_POLICY_MAX_CHARS - escaped + 1)}x`);
    expect(scheduledPolicyProblem(over)).toBe(
      `${P} takes ${SCHEDULED_POLICY_MAX_CHARS + 1} characters in the schedule's event (its compact text, quotes escaped), over the ${SCHEDULED_POLICY_MAX_CHARS} a schedule carries (an EventBridge target input holds 8192): shorten the policy (its descriptions first), or remove schedule`,
    );
  });

  test('a policy known only at deploy time cannot be scheduled', () => {
    expect(scheduledPolicyProblem('${Token[X]}', () => true)).toMatch(/^schedule is given with a lifecycle policy known only at deploy time/);
  });
});

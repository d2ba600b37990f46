/**
 * The response builder is total: for any reason and any lists it ends, and the
 * body it builds stays under CloudFormation's 4,096-byte limit. Each call runs
 * under a watchdog (vm's timeout), so a builder that loops forever fails the
 * test instead of hanging it.
 *
 * @jest-environment ./test/support/failure-aware-environment.ts
 */
import * as vm from 'node:vm';
import type { ImageFailure, ImageIdentifier } from '@aws-sdk/client-ecr-public';
import * as fc from 'fast-check';
import { CUT_MARKER, MAX_REASON_BYTES, MAX_RESPONSE_BYTES, ResponseBody, buildResponse, cutReason, jsonTextBytes } from '../../lambda/response';
import type { PlanOutcome } from '../../lambda/execute-plan';
import type { Verdict } from '../../lambda/verdict';
import { printFiguresOnFailure } from '../support/figures';

/** Runs `work` and fails if it does not end within `ms` (a synchronous loop included). */
function within<T>(ms: number, work: () => T): T {
  return vm.runInNewContext('work()', { work }, { timeout: ms }) as T;
}

const base = {
  PhysicalResourceId: 'EcrPublicImageDeletion-PrImages-6f1c2b0e-0000-4000-8000-000000000000',
  StackId:
    'arn:aws:cloudformation:eu-west-1:123456789012:stack/a-stack-with-a-long-name-of-128-characters-at-most/4f5d2a10-0000-11ef-0000-0a0b0c0d0e0f',
  RequestId: '6f1c2b0e-0000-4000-8000-000000000000',
  LogicalResourceId: 'EmptierOfTheRepositoryWithAVeryLongLogicalIdThatCdkGeneratesFromTheConstructPath0A1B2C3D',
};
const bytesOf = (body: ResponseBody) => Buffer.byteLength(JSON.stringify(body));

/** Text that JSON makes longer or UTF-8 spells in several bytes: control characters, quotes, lone and paired surrogates, astral characters. */
const hardChar = fc.constantFrom('\u0000', '\u0007', '\u001f', '\u007f', '"', '\\', '\ud800', '\udfff', '\u2028', '😀', 'é', '中', 'a', ' ');
const hardText = (maxLength: number) =>
  fc.oneof(fc.string({ unit: hardChar, maxLength }), fc.string({ unit: 'binary', maxLength }), fc.string({ unit: 'grapheme', maxLength }));

const imageIdArb: fc.Arbitrary<ImageIdentifier> = fc.record(
  { imageTag: hardText(300), imageDigest: fc.constant(`sha256:${'a'.repeat(64)}`) },
  { requiredKeys: [] },
);
const failureArb: fc.Arbitrary<ImageFailure> = fc.record({
  imageId: imageIdArb,
  failureCode: fc.constantFrom('ImageNotFound', 'ImageTagDoesNotMatchDigest', 'InvalidImageTag'),
  failureReason: hardText(200),
});

const figures = { runs: 0 };
printFiguresOnFailure('response builder property runs', () => figures);

describe('cutReason', () => {
  test('ends and fits for a budget below the marker (it used to loop forever there)', () => {
    for (const budget of [0, 1, 5, jsonTextBytes(CUT_MARKER) - 1]) {
      const cut = within(1000, () => cutReason('x'.repeat(100), budget));
      expect(jsonTextBytes(cut)).toBeLessThanOrEqual(budget);
    }
  });

  test('counts the bytes JSON escaping adds: 400 control characters cut to the budget, not to 400 bytes', () => {
    const cut = cutReason('\u0001'.repeat(400), 600);
    expect(cut.endsWith(CUT_MARKER)).toBe(true);
    expect(jsonTextBytes(cut)).toBeLessThanOrEqual(600);
    expect(jsonTextBytes(cut)).toBeGreaterThan(600 - 6);
  });

  test('never splits a surrogate pair', () => {
    const kept = cutReason('😀'.repeat(1000), 100).replace(CUT_MARKER, '');
    expect(kept.length).toBeGreaterThan(0);
    expect(kept).toBe('😀'.repeat(kept.length / 2));
  });

  test('property: any text, any budget: ends, fits, is the text when it fits and a prefix plus the marker when not', () => {
    fc.assert(
      fc.property(hardText(3000), fc.integer({ min: -10, max: 5000 }), (reason, budget) => {
        figures.runs++;
        const cut = within(2000, () => cutReason(reason, budget));
        expect(jsonTextBytes(cut)).toBeLessThanOrEqual(Math.max(0, budget));
        if (jsonTextBytes(reason) <= budget) {
          expect(cut).toBe(reason);
        } else if (budget >= jsonTextBytes(CUT_MARKER)) {
          expect(cut.endsWith(CUT_MARKER)).toBe(true);
          expect(reason.startsWith(cut.slice(0, cut.length - CUT_MARKER.length))).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

const rulesCountArb = fc.record({ priority: fc.integer({ min: 1, max: 9999 }), expired: fc.integer({ min: 0, max: 100_000 }) });
/** A selection's view with these rule counts (the rest empty). */
const selectionWith = (rules: Array<{ priority: number; expired: number }>): NonNullable<PlanOutcome['selection']> => ({
  listed: 0,
  pages: 0,
  matched: 0,
  keptNewest: 0,
  keptProtected: 0,
  keptReferenced: 0,
  keptReferrers: 0,
  keptUnknown: 0,
  keptMoved: 0,
  reads: { asked: 0, fromCache: 0, fromRegistry: 0, notRead: 0, pulls: 0, throttled: 0, pacedWaitSeconds: 0, cacheStored: 0, cacheUnwritten: 0 },
  unknownCount: 0,
  unknownCauses: [],
  kept: [],
  rules: rules.map((rule) => ({ ...rule, selected: rule.expired, keptNewest: 0, keptTooRecent: 0, keptProtected: 0 })),
  expired: [],
});

describe('buildResponse', () => {
  test('RuleCounts of a policy of 50 rules, each with 100,000 images, fits with room left for the lists', () => {
    const rules = Array.from({ length: 50 }, (_, i) => ({ priority: 9950 + i, expired: 100_000 }));
    const deleted = Array.from({ length: 100 }, (_, i): ImageIdentifier => ({ imageDigest: `sha256:${i.toString(16).padStart(64, '0')}` }));
    const body = buildResponse(
      { ...base, Status: 'SUCCESS' },
      { status: 'SUCCESS', reason: 'x'.repeat(400) },
      { deleted, failures: [], selection: selectionWith(rules) },
    );
    expect(bytesOf(body)).toBeLessThan(MAX_RESPONSE_BYTES);
    expect(Object.keys(JSON.parse(body.Data!.RuleCounts))).toHaveLength(50);
    // What the attribute takes in the body, escapes included: under 1 KB, so the lists keep most of the room.
    expect(Buffer.byteLength(JSON.stringify(body.Data!.RuleCounts))).toBeLessThan(1024);
    expect(JSON.parse(body.Data!.ImageIds).length).toBeGreaterThan(20);
  });

  test('RuleCounts is {} without a selection', () => {
    const body = buildResponse({ ...base, Status: 'SUCCESS' }, { status: 'SUCCESS', reason: 'deleted' }, { deleted: [], failures: [] });
    expect(body.Data!.RuleCounts).toBe('{}');
  });

  test('a FAILED reason of 2,000 control characters (12,000 bytes once escaped) fits, and the builder ends', () => {
    const body = within(2000, () => buildResponse({ ...base, Status: 'FAILED' }, { status: 'FAILED', reason: '\u0000'.repeat(2000) }, undefined));
    expect(bytesOf(body)).toBeLessThan(MAX_RESPONSE_BYTES);
    expect(body.Reason.endsWith(CUT_MARKER)).toBe(true);
  });

  test('a list that would make the body exactly 4,096 bytes is cut by one item: CloudFormation takes less than 4,096', () => {
    const verdict: Verdict = { status: 'SUCCESS', reason: 'deleted' };
    const id = (tag: string): ImageIdentifier => ({ imageTag: tag, imageDigest: `sha256:${'a'.repeat(64)}` });
    const cost = (item: unknown) => Buffer.byteLength(JSON.stringify(JSON.stringify(item))) - 2 + 1;
    const n = 20;
    // The body with no item in the list (each too large to fit), for this count of deleted IDs.
    const head = { ...base, Status: 'SUCCESS' as const };
    const empty = bytesOf(buildResponse(head, verdict, { deleted: Array.from({ length: n }, () => id('x'.repeat(5000))), failures: [] }));
    // n items whose costs add up to exactly what fills the body to 4,096 bytes.
    const items = Array.from({ length: n - 1 }, (_, i) => id(`t${i}`));
    const used = items.reduce((sum, item) => sum + cost(item), 0);
    const last = id('x'.repeat(MAX_RESPONSE_BYTES - empty - used - cost(id(''))));
    items.push(last);
    expect(items.reduce((sum, item) => sum + cost(item), 0)).toBe(MAX_RESPONSE_BYTES - empty);
    const body = buildResponse(head, verdict, { deleted: items, failures: [] });
    // Uncut, it would be exactly 4,096 bytes.
    const uncut = { ...body, Data: { ...body.Data!, ImageIds: JSON.stringify(items), Truncated: 'false' } };
    expect(bytesOf(uncut)).toBe(MAX_RESPONSE_BYTES);
    expect(bytesOf(body)).toBeLessThan(MAX_RESPONSE_BYTES);
    expect(body.Data).toMatchObject({ Truncated: 'true', DeletedCount: String(n) });
    expect(JSON.parse(body.Data!.ImageIds)).toHaveLength(n - 1);
  });

  test('property: any verdict, any reason, any lists: ends under 4,096 bytes with exact counts', () => {
    const verdictArb: fc.Arbitrary<Verdict> = fc.record({ status: fc.constantFrom('SUCCESS' as const, 'FAILED' as const), reason: hardText(20_000) });
    fc.assert(
      fc.property(
        verdictArb,
        fc.option(
          fc.record({
            deleted: fc.array(imageIdArb, { maxLength: 300 }),
            failures: fc.array(failureArb, { maxLength: 300 }),
            dryRun: fc.boolean(),
            // A lifecycle policy's 50 rules at most (priorities up to 4 digits), each with a count of up to 100,000 images.
            rules: fc.option(fc.uniqueArray(rulesCountArb, { maxLength: 50, selector: (rule) => rule.priority }), { nil: undefined }),
          }),
          { nil: undefined },
        ),
        (verdict, generated) => {
          figures.runs++;
          const outcome = generated && { ...generated, selection: generated.rules ? selectionWith(generated.rules) : undefined };
          const body = within(5000, () => buildResponse({ ...base, Status: verdict.status }, verdict, outcome));
          expect(bytesOf(body)).toBeLessThan(MAX_RESPONSE_BYTES);
          expect(jsonTextBytes(body.Reason)).toBeLessThanOrEqual(MAX_REASON_BYTES);
          expect(body.Status).toBe(verdict.status);
          if (verdict.status === 'SUCCESS') {
            expect(body.Data?.DeletedCount).toBe(String(outcome?.deleted.length ?? 0));
            expect(body.Data?.FailureCount).toBe(String(outcome?.failures.length ?? 0));
            const kept = JSON.parse(body.Data!.ImageIds) as ImageIdentifier[];
            expect(kept).toEqual((outcome?.deleted ?? []).slice(0, kept.length).map((id) => JSON.parse(JSON.stringify(id))));
            // The count per rule is whole, never cut.
            const counts = Object.fromEntries((generated?.rules ?? []).map((rule) => [String(rule.priority), rule.expired]));
            expect(JSON.parse(body.Data!.RuleCounts)).toEqual(counts);
          } else {
            expect(body.Data).toBeUndefined();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

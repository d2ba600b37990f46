/**
 * A VerifiedManifest is what the reference cache may store: made only from
 * bytes that hashed to their digest (lambda/verified-manifest.ts). The
 * guarantee is checked here at run time and at compile time (`tsc` fails on
 * an unused @ts-expect-error, so the type errors below are asserted).
 */
import * as fc from 'fast-check';
import { createHash } from 'node:crypto';
import { MAX_MANIFEST_BYTES, VerifiedManifest, verifyManifest } from '../../lambda/verified-manifest';
import { MEDIA_TYPES, buildxIndex, singleImage } from '../../local/ecr-public';

const digestOf = (bytes: Uint8Array | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const bytesOf = (value: unknown) => Buffer.from(JSON.stringify(value));
const OTHER = `sha256:${'e'.repeat(64)}`;

test('an index: its digest, media type and the digests it lists, in order', () => {
  const { index, images } = buildxIndex('app', { attestations: true });
  const bytes = Buffer.from(index.manifest);
  const verified = verifyManifest(digestOf(bytes), bytes, 'application/json');
  expect(verified).toBeInstanceOf(VerifiedManifest);
  const manifest = verified as VerifiedManifest;
  expect(manifest.digest).toBe(index.digest);
  expect(manifest.mediaType).toBe(index.mediaType);
  expect(manifest.references).toEqual(JSON.parse(index.manifest).manifests.map((m: { digest: string }) => m.digest));
  expect(manifest.references.length).toBe(images.length - 1);
  expect(manifest.subject).toBeUndefined();
  expect(Object.isFrozen(manifest.references)).toBe(true);
});

test('an image manifest lists nothing; a referrer names its subject', () => {
  const image = singleImage('plain', { format: 'oci' });
  const plain = verifyManifest(image.digest, Buffer.from(image.manifest)) as VerifiedManifest;
  expect([plain.references, plain.subject, plain.mediaType]).toEqual([[], undefined, MEDIA_TYPES.ociManifest]);
  const referrer = bytesOf({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: OTHER, size: 2 },
    layers: [],
    subject: { mediaType: MEDIA_TYPES.ociManifest, digest: image.digest, size: image.manifest.length },
  });
  expect((verifyManifest(digestOf(referrer), referrer) as VerifiedManifest).subject).toBe(image.digest);
});

test("without a mediaType of its own, the answer's Content-Type (parameters dropped)", () => {
  const bytes = bytesOf({ schemaVersion: 2, manifests: [] });
  expect((verifyManifest(digestOf(bytes), bytes, `${MEDIA_TYPES.ociIndex}; charset=utf-8`) as VerifiedManifest).mediaType).toBe(MEDIA_TYPES.ociIndex);
  expect((verifyManifest(digestOf(bytes), bytes) as VerifiedManifest).mediaType).toBeUndefined();
});

test.each([
  ['bytes of another digest', () => ({ digest: OTHER, bytes: bytesOf({ manifests: [] }) }), /^the registry served a manifest with digest sha256:/],
  ['a digest that is not sha256', () => ({ digest: `sha512:${'a'.repeat(128)}`, bytes: bytesOf({}) }), /is not a sha256 digest/],
  ['bytes that are not JSON', () => ({ bytes: Buffer.from('{"manifests": [') }), /^not a manifest: /],
  ['JSON that is not an object', () => ({ bytes: bytesOf([1, 2]) }), /not a JSON object/],
  ['a "manifests" that is not a list', () => ({ bytes: bytesOf({ manifests: { digest: OTHER } }) }), /"manifests" is not a list/],
  [
    'an entry without a digest',
    () => ({ bytes: bytesOf({ manifests: [{ digest: OTHER }, { size: 3 }] }) }),
    /entry 1 of "manifests" has no valid digest/,
  ],
  ['an entry with a digest that is not one', () => ({ bytes: bytesOf({ manifests: [{ digest: 'latest' }] }) }), /entry 0 of "manifests"/],
  ['a subject without a digest', () => ({ bytes: bytesOf({ subject: { size: 3 } }) }), /"subject" has no valid digest/],
  ['more than 4 MiB', () => ({ bytes: Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20) }), /more than the 4194304 a manifest may have/],
])('%s: not verified, and why', (_what, make, problem) => {
  const { digest, bytes } = make() as { digest?: string; bytes: Buffer };
  const verified = verifyManifest(digest ?? digestOf(bytes), bytes);
  expect(verified).not.toBeInstanceOf(VerifiedManifest);
  expect((verified as { problem: string }).problem).toMatch(problem);
});

test('any change to the bytes, one byte is enough, is caught', () => {
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[0-9a-f]{64}$/), { maxLength: 8 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (hexes, at, flip) => {
      const bytes = bytesOf({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: hexes.map((hex) => ({ digest: `sha256:${hex}` })) });
      const digest = digestOf(bytes);
      expect((verifyManifest(digest, bytes) as VerifiedManifest).references).toEqual(hexes.map((hex) => `sha256:${hex}`));
      const changed = Buffer.from(bytes);
      changed[at % changed.length] ^= flip;
      expect(verifyManifest(digest, changed)).toHaveProperty('problem');
    }),
  );
});

test('only verify makes one: a copy of the same shape is not one, at compile time or at run time', () => {
  const image = singleImage('copy');
  const verified = verifyManifest(image.digest, Buffer.from(image.manifest)) as VerifiedManifest;
  const copy = { digest: verified.digest, mediaType: verified.mediaType, references: verified.references, subject: verified.subject };
  // @ts-expect-error a structural copy lacks the private brand
  const asVerified: VerifiedManifest = copy;
  expect(VerifiedManifest.is(asVerified)).toBe(false);
  expect(VerifiedManifest.is(verified)).toBe(true);
  // @ts-expect-error the constructor is private: nothing outside verify makes one
  expect(() => new VerifiedManifest(image.digest, undefined, [], undefined)).not.toThrow();
});

/**
 * Images as users see them (lambda/image-groups.ts): which manifests of a
 * listing make one image, for the rule engine to rank, age and expire.
 */
import { ManifestLinks, groupImages } from '../../lambda/image-groups';

const d = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const manifest = (n: number, tags: string[] = [], pushedAt = 1000 * n) => ({ digest: d(n), tags, pushedAt });
/** Links from a table: index -> what it lists; referrer -> its subject. */
const links = (references: Record<number, number[]>, subjects: Record<number, number> = {}): ManifestLinks => ({
  referencesOf: (digest) => (references[parseInt(digest.slice(7), 16)] ?? []).map(d),
  subjectOf: (digest) => {
    const subject = subjects[parseInt(digest.slice(7), 16)];
    return subject === undefined ? undefined : d(subject);
  },
});

test('an index with its platform images and attestations is one image: the index digest and push time, every tag', () => {
  const listing = [manifest(1, ['v1-amd64']), manifest(2), manifest(3, ['v1'], 5000), manifest(4, ['other'])];
  const groups = groupImages(listing, links({ 3: [1, 2] }));
  expect(groups.images).toEqual([
    { digest: d(3), tags: ['v1', 'v1-amd64'], pushedAt: 5000 },
    { digest: d(4), tags: ['other'], pushedAt: 4000 },
  ]);
  expect(groups.membersOf(d(3))).toEqual([d(3), d(1), d(2)]);
  expect(groups.holders.get(d(1))).toEqual([d(3)]);
});

test('nested indexes: the outer index is the image, with the inner one and what it lists', () => {
  const listing = [manifest(1), manifest(2), manifest(3), manifest(4, ['multi'])];
  const groups = groupImages(listing, links({ 4: [3], 3: [1, 2] }));
  expect(groups.images.map((image) => image.digest)).toEqual([d(4)]);
  expect([...groups.membersOf(d(4))].sort()).toEqual([d(1), d(2), d(3), d(4)]);
});

test('a platform image two indexes list belongs to both images', () => {
  const listing = [manifest(1, ['shared-tag']), manifest(2, ['a']), manifest(3, ['b'])];
  const groups = groupImages(listing, links({ 2: [1], 3: [1] }));
  expect(groups.groupsOf(d(1))).toEqual([d(2), d(3)]);
  // Its tag counts for both: neither image is untagged, and a protected tag on it protects both.
  expect(groups.images.map((image) => image.tags)).toEqual([
    ['a', 'shared-tag'],
    ['b', 'shared-tag'],
  ]);
});

test('a referrer is part of the image it refers to, and a referrer of a referrer too; a tagged manifest with a subject is an image', () => {
  const listing = [manifest(1, ['v1']), manifest(2), manifest(3), manifest(4, ['sig-tag'])];
  const groups = groupImages(listing, links({}, { 2: 1, 3: 2, 4: 1 }));
  expect(groups.images.map((image) => image.digest)).toEqual([d(1), d(4)]);
  expect(groups.membersOf(d(1))).toEqual([d(1), d(2), d(3)]);
  expect(groups.holders.get(d(3))).toEqual([d(2)]);
});

test('a referrer whose subject is not listed is an image of its own', () => {
  const groups = groupImages([manifest(1)], links({}, { 1: 99 }));
  expect(groups.images.map((image) => image.digest)).toEqual([d(1)]);
});

test('a cycle of references (which content addressing rules out) puts its manifests in no image: nothing decides for them', () => {
  const listing = [manifest(1), manifest(2), manifest(3, ['top'])];
  const groups = groupImages(listing, links({ 1: [2], 2: [1] }));
  expect(groups.images.map((image) => image.digest)).toEqual([d(3)]);
  expect(groups.groupsOf(d(1))).toEqual([]);
  expect(groups.groupsOf(d(2))).toEqual([]);
});

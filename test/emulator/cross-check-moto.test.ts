/**
 * The emulator's JSON API against moto (an independent ECR implementation, in
 * Python): the same scenarios through the same SDK calls, for the operations
 * moto implements correctly, must give the same answers. Digests are compared
 * through the image each names (moto computes its own digests, see below).
 *
 * Intended differences, each a test below that shows moto's known bug next to
 * the emulator's documented behaviour (so a moto release that fixes one fails
 * its test, and the difference can be dropped):
 * - moto's digest is not the sha256 of the manifest's bytes;
 * - a tag+digest pair: moto deletes the whole image, ECR Public removes the tag;
 * - an untagged image deleted by digest: moto reports no imageIds;
 * - a tag that names another image than the digest: moto has no ImageTagDoesNotMatchDigest;
 * - DescribeImages paging: moto ignores maxResults and sends no nextToken;
 * - manifest lists: moto does not refuse deleting an image that a remaining index lists.
 */
import {
  BatchDeleteImageCommand,
  BatchDeleteImageResponse,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRPUBLICClient,
  PutImageCommand,
} from '@aws-sdk/client-ecr-public';
import { createHash } from 'node:crypto';
import { EcrPublicEmulator, buildxIndex, singleImage, startEcrPublicEmulator } from '../../local/ecr-public';
import { RunningBackend, describeWithBackends, startMoto } from '../support/backends';

/** One backend under test: its client and, per backend, which image (by name) each digest is. */
interface Side {
  readonly name: 'emulator' | 'moto';
  readonly client: ECRPUBLICClient;
  readonly names: Map<string, string>;
}

const clientFor = (endpoint: string) =>
  new ECRPUBLICClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });

const errorName = (promise: Promise<unknown>) =>
  promise.then(
    () => 'no error',
    (error: Error) => error.name,
  );

describeWithBackends(['moto'], 'the cross-check of the JSON API against moto')('the emulator answers as moto does', () => {
  let moto: RunningBackend;
  let emulator: EcrPublicEmulator;
  let sides: Side[];
  let repoCount = 0;

  beforeAll(async () => {
    moto = await startMoto();
    emulator = await startEcrPublicEmulator();
    sides = [
      { name: 'emulator', client: clientFor(emulator.endpoint), names: new Map() },
      { name: 'moto', client: clientFor(moto.endpoint), names: new Map() },
    ];
  }, 60_000);
  afterAll(async () => {
    for (const side of sides ?? []) side.client.destroy();
    await emulator?.close();
    await moto?.stop();
  });

  /** A new repository on both sides. */
  async function repository(): Promise<string> {
    const name = `cross/repo-${++repoCount}`;
    for (const side of sides) await side.client.send(new CreateRepositoryCommand({ repositoryName: name }));
    return name;
  }

  /** Pushes image `name` with `tags` (none: untagged) on one side; returns its digest there. */
  async function push(side: Side, repositoryName: string, name: string, tags: string[]): Promise<string> {
    const imageManifest = singleImage(name).manifest;
    let digest = '';
    for (const imageTag of tags.length > 0 ? tags : [undefined]) {
      const answer = await side.client.send(new PutImageCommand({ repositoryName, imageManifest, imageTag }));
      digest = answer.image!.imageId!.imageDigest!;
    }
    side.names.set(digest, name);
    return digest;
  }

  /** The same images pushed to both sides; returns each side's digests by image name. */
  async function seeded(repositoryName: string, images: Record<string, string[]>): Promise<Map<Side, Record<string, string>>> {
    const digests = new Map<Side, Record<string, string>>();
    for (const side of sides) {
      const byName: Record<string, string> = {};
      for (const [name, tags] of Object.entries(images)) byName[name] = await push(side, repositoryName, name, tags);
      digests.set(side, byName);
    }
    return digests;
  }

  /** The repository as `image name -> sorted tags`, sorted by name. */
  async function listing(side: Side, repositoryName: string): Promise<Array<[string, string[]]>> {
    const { imageDetails } = await side.client.send(new DescribeImagesCommand({ repositoryName }));
    return (imageDetails ?? [])
      .map((detail): [string, string[]] => [
        side.names.get(detail.imageDigest!) ?? `unknown ${detail.imageDigest}`,
        [...(detail.imageTags ?? [])].sort(),
      ])
      .sort(([a], [b]) => a.localeCompare(b));
  }

  /** A BatchDeleteImage answer with digests replaced by image names, in a stable order. */
  function named(side: Side, answer: BatchDeleteImageResponse) {
    const id = (imageId: { imageDigest?: string; imageTag?: string }) =>
      [imageId.imageDigest ? (side.names.get(imageId.imageDigest) ?? imageId.imageDigest) : '-', imageId.imageTag ?? '-'].join(' ');
    return {
      imageIds: (answer.imageIds ?? []).map(id).sort(),
      failures: (answer.failures ?? []).map((f) => `${f.failureCode} ${id(f.imageId ?? {})}`).sort(),
    };
  }

  /** Runs BatchDeleteImage with IDs built per side; returns the named answers, emulator first. */
  async function deleteOnBoth(repositoryName: string, digests: Map<Side, Record<string, string>>, ids: (d: Record<string, string>) => object[]) {
    const answers = [];
    for (const side of sides) {
      const answer = await side.client.send(new BatchDeleteImageCommand({ repositoryName, imageIds: ids(digests.get(side)!) }));
      answers.push(named(side, answer));
    }
    return answers;
  }

  const IMAGES = { one: ['a', 'b'], two: ['c'], three: ['d', 'e', 'f'], four: ['g'] };

  test('tagged images: the same listing', async () => {
    const repositoryName = await repository();
    await seeded(repositoryName, IMAGES);
    const [emulatorListing, motoListing] = [await listing(sides[0], repositoryName), await listing(sides[1], repositoryName)];
    expect(emulatorListing).toEqual(motoListing);
    expect(emulatorListing).toEqual([
      ['four', ['g']],
      ['one', ['a', 'b']],
      ['three', ['d', 'e', 'f']],
      ['two', ['c']],
    ]);
  });

  test('a tag removes only the tag while others remain, and the image with its last tag', async () => {
    const repositoryName = await repository();
    const digests = await seeded(repositoryName, IMAGES);
    const [emulatorAnswer, motoAnswer] = await deleteOnBoth(repositoryName, digests, () => [{ imageTag: 'a' }, { imageTag: 'c' }]);
    expect(emulatorAnswer).toEqual(motoAnswer);
    expect(emulatorAnswer).toEqual({ imageIds: ['one a', 'two c'], failures: [] });
    expect(await listing(sides[0], repositoryName)).toEqual(await listing(sides[1], repositoryName));
  });

  test('a digest removes the image and every tag, one ID per tag', async () => {
    const repositoryName = await repository();
    const digests = await seeded(repositoryName, IMAGES);
    const [emulatorAnswer, motoAnswer] = await deleteOnBoth(repositoryName, digests, (d) => [{ imageDigest: d.three }]);
    expect(emulatorAnswer).toEqual(motoAnswer);
    expect(emulatorAnswer.imageIds).toEqual(['three d', 'three e', 'three f']);
    expect(await listing(sides[0], repositoryName)).toEqual(await listing(sides[1], repositoryName));
  });

  test('missing tags and digests are ImageNotFound failures, nothing else changes', async () => {
    const repositoryName = await repository();
    const digests = await seeded(repositoryName, IMAGES);
    const missing = `sha256:${'4'.repeat(64)}`;
    const [emulatorAnswer, motoAnswer] = await deleteOnBoth(repositoryName, digests, () => [{ imageTag: 'nope' }, { imageDigest: missing }]);
    expect(emulatorAnswer).toEqual(motoAnswer);
    expect(emulatorAnswer).toEqual({ imageIds: [], failures: [`ImageNotFound - nope`, `ImageNotFound ${missing} -`] });
    expect(await listing(sides[0], repositoryName)).toEqual(await listing(sides[1], repositoryName));
  });

  test('a tag pushed onto another image moves there', async () => {
    const repositoryName = await repository();
    await seeded(repositoryName, { one: ['a', 'moving'], two: ['b'] });
    for (const side of sides) await push(side, repositoryName, 'two', ['moving']);
    expect(await listing(sides[0], repositoryName)).toEqual(await listing(sides[1], repositoryName));
    expect(await listing(sides[0], repositoryName)).toEqual([
      ['one', ['a']],
      ['two', ['b', 'moving']],
    ]);
  });

  test('repository errors: already exists, not found, not empty unless forced', async () => {
    const repositoryName = await repository();
    await seeded(repositoryName, { one: ['a'] });
    const errors = async (side: Side) => ({
      create: await errorName(side.client.send(new CreateRepositoryCommand({ repositoryName }))),
      describeMissing: await errorName(side.client.send(new DescribeImagesCommand({ repositoryName: 'cross/missing' }))),
      deleteImagesMissing: await errorName(
        side.client.send(new BatchDeleteImageCommand({ repositoryName: 'cross/missing', imageIds: [{ imageTag: 'a' }] })),
      ),
      describeRepositoryMissing: await errorName(side.client.send(new DescribeRepositoriesCommand({ repositoryNames: ['cross/missing'] }))),
      deleteRepositoryMissing: await errorName(side.client.send(new DeleteRepositoryCommand({ repositoryName: 'cross/missing' }))),
      deleteNotEmpty: await errorName(side.client.send(new DeleteRepositoryCommand({ repositoryName }))),
      deleteForced: await errorName(side.client.send(new DeleteRepositoryCommand({ repositoryName, force: true }))),
      gone: await errorName(side.client.send(new DescribeImagesCommand({ repositoryName }))),
    });
    const [emulatorErrors, motoErrors] = [await errors(sides[0]), await errors(sides[1])];
    expect(emulatorErrors).toEqual(motoErrors);
    expect(emulatorErrors).toEqual({
      create: 'RepositoryAlreadyExistsException',
      describeMissing: 'RepositoryNotFoundException',
      deleteImagesMissing: 'RepositoryNotFoundException',
      describeRepositoryMissing: 'RepositoryNotFoundException',
      deleteRepositoryMissing: 'RepositoryNotFoundException',
      deleteNotEmpty: 'RepositoryNotEmptyException',
      deleteForced: 'no error',
      gone: 'RepositoryNotFoundException',
    });
  });

  describe('intended differences: moto 5 bugs, and what ECR Public documents', () => {
    test("digests: the emulator's is the sha256 of the manifest's bytes, moto's is not", async () => {
      const repositoryName = await repository();
      const digests = await seeded(repositoryName, { one: ['a'] });
      const expected = `sha256:${createHash('sha256').update(singleImage('one').manifest).digest('hex')}`;
      expect(digests.get(sides[0])!.one).toBe(expected);
      expect(digests.get(sides[1])!.one).not.toBe(expected);
    });

    test('a tag+digest pair: the emulator removes the tag, moto deletes the whole image', async () => {
      const repositoryName = await repository();
      const digests = await seeded(repositoryName, { one: ['a', 'b'] });
      await deleteOnBoth(repositoryName, digests, (d) => [{ imageTag: 'a', imageDigest: d.one }]);
      expect(await listing(sides[0], repositoryName)).toEqual([['one', ['b']]]);
      expect(await listing(sides[1], repositoryName)).toEqual([]);
    });

    test('an untagged image deleted by digest: the emulator reports its digest, moto reports nothing', async () => {
      const repositoryName = await repository();
      const digests = await seeded(repositoryName, { loose: [] });
      const [emulatorAnswer, motoAnswer] = await deleteOnBoth(repositoryName, digests, (d) => [{ imageDigest: d.loose }]);
      expect(emulatorAnswer).toEqual({ imageIds: ['loose -'], failures: [] });
      expect(motoAnswer.imageIds).toEqual([]);
    });

    test('a tag that names another image than the digest: ImageTagDoesNotMatchDigest from the emulator only', async () => {
      const repositoryName = await repository();
      const digests = await seeded(repositoryName, { one: ['a'], two: ['b'] });
      const [emulatorAnswer, motoAnswer] = await deleteOnBoth(repositoryName, digests, (d) => [{ imageTag: 'a', imageDigest: d.two }]);
      expect(emulatorAnswer.failures).toEqual(['ImageTagDoesNotMatchDigest two a']);
      expect(motoAnswer.failures).not.toContainEqual(expect.stringContaining('ImageTagDoesNotMatchDigest'));
    });

    test('DescribeImages paging: the emulator pages by maxResults, moto answers everything at once', async () => {
      const repositoryName = await repository();
      await seeded(repositoryName, { one: ['a'], two: ['b'], three: ['c'] });
      const [emulatorPage, motoPage] = await Promise.all(
        sides.map((side) => side.client.send(new DescribeImagesCommand({ repositoryName, maxResults: 2 }))),
      );
      expect([emulatorPage.imageDetails!.length, typeof emulatorPage.nextToken]).toEqual([2, 'string']);
      expect([motoPage.imageDetails!.length, motoPage.nextToken]).toEqual([3, undefined]);
    });

    test('manifest lists: the emulator refuses deleting an image a remaining index lists (its default), moto deletes it', async () => {
      const repositoryName = await repository();
      const group = buildxIndex('cross-index', { tags: ['v1'] });
      const answers = [];
      for (const side of sides) {
        for (const image of group.images) {
          await side.client.send(
            new PutImageCommand({ repositoryName, imageManifest: image.manifest, imageManifestMediaType: image.mediaType, imageTag: image.tags[0] }),
          );
        }
        const child = (await side.client.send(new DescribeImagesCommand({ repositoryName }))).imageDetails!.find((d) => !d.imageTags?.length)!;
        answers.push(await side.client.send(new BatchDeleteImageCommand({ repositoryName, imageIds: [{ imageDigest: child.imageDigest }] })));
      }
      expect(answers[0].failures?.map((f) => f.failureCode)).toEqual(['ImageReferencedByManifestList']);
      expect(answers[1].failures ?? []).toEqual([]);
    });
  });
});

/**
 * The local ECR Public answers as the API model and the service's documentation
 * say, through the unmodified SDK client and plain HTTP for the registry.
 */
import {
  BatchDeleteImageCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeImageTagsCommand,
  DescribeRegistriesCommand,
  DescribeRepositoriesCommand,
  ECRPUBLICClient,
  PutImageCommand,
} from '@aws-sdk/client-ecr-public';
import { createHash } from 'node:crypto';
import {
  EcrPublicEmulator,
  MEDIA_TYPES,
  buildxIndex,
  dockerManifestList,
  nestedIndex,
  singleImage,
  startEcrPublicEmulator,
  startEcrPublicEmulatorProcess,
} from '../../local/ecr-public';
import { emulatorClient } from '../support/local-ecr-public';

let emulator: EcrPublicEmulator;
let client: ECRPUBLICClient;
let repoCount = 0;
const newRepository = async () => {
  const name = `emulator/repo-${++repoCount}`;
  await client.send(new CreateRepositoryCommand({ repositoryName: name }));
  return name;
};
const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: { name: string; message: string; $metadata?: { httpStatusCode?: number } }) => error,
  );

beforeAll(async () => {
  emulator = await startEcrPublicEmulator();
  client = emulatorClient(emulator.endpoint);
});
afterAll(async () => {
  client.destroy();
  await emulator.close();
});
beforeEach(() => {
  emulator.referencedImageDeletion = 'refuse';
});

describe('the JSON API', () => {
  test('PutImage stores the manifest under the sha256 of its exact bytes and keeps its media type', async () => {
    const repositoryName = await newRepository();
    const image = singleImage('a', { format: 'oci' });
    const answer = await client.send(new PutImageCommand({ repositoryName, imageManifest: image.manifest, imageTag: 'v1' }));
    const expected = `sha256:${createHash('sha256').update(image.manifest).digest('hex')}`;
    expect(answer.image?.imageId).toEqual({ imageDigest: expected, imageTag: 'v1' });
    const { imageDetails } = await client.send(new DescribeImagesCommand({ repositoryName }));
    expect(imageDetails).toEqual([
      expect.objectContaining({
        imageDigest: expected,
        imageTags: ['v1'],
        imageManifestMediaType: MEDIA_TYPES.ociManifest,
        artifactMediaType: 'application/vnd.oci.image.config.v1+json',
      }),
    ]);
    expect(imageDetails![0].imagePushedAt).toBeInstanceOf(Date);
  });

  test('PutImage of an index refuses children that are not in the repository', async () => {
    const repositoryName = await newRepository();
    const { index } = buildxIndex('orphan');
    const error = await errorOf(client.send(new PutImageCommand({ repositoryName, imageManifest: index.manifest, imageTag: 'x' })));
    expect(error?.name).toBe('ReferencedImagesNotFoundException');
  });

  test('PutImage checks a given digest and media type against the manifest', async () => {
    const repositoryName = await newRepository();
    const image = singleImage('b');
    expect(
      (await errorOf(client.send(new PutImageCommand({ repositoryName, imageManifest: image.manifest, imageDigest: `sha256:${'0'.repeat(64)}` }))))
        ?.name,
    ).toBe('ImageDigestDoesNotMatchException');
    expect(
      (
        await errorOf(
          client.send(new PutImageCommand({ repositoryName, imageManifest: image.manifest, imageManifestMediaType: MEDIA_TYPES.ociIndex })),
        )
      )?.name,
    ).toBe('InvalidParameterException');
    await client.send(new PutImageCommand({ repositoryName, imageManifest: image.manifest, imageTag: 't' }));
    expect((await errorOf(client.send(new PutImageCommand({ repositoryName, imageManifest: image.manifest, imageTag: 't' }))))?.name).toBe(
      'ImageAlreadyExistsException',
    );
  });

  test('a tag put on another image moves there', async () => {
    const repositoryName = await newRepository();
    const [a, b] = emulator.seed(repositoryName, [singleImage('m1', { tags: ['latest', 'v1'] }), singleImage('m2')]);
    await client.send(new PutImageCommand({ repositoryName, imageManifest: singleImage('m2').manifest, imageTag: 'latest' }));
    expect(emulator.snapshot(repositoryName)).toEqual(
      new Map([
        [a, ['v1']],
        [b, ['latest']],
      ]),
    );
  });

  test('DescribeImages pages with maxResults 1 to 1000 (default 100) and an opaque nextToken', async () => {
    const repositoryName = await newRepository();
    const digests = emulator.seed(
      repositoryName,
      Array.from({ length: 250 }, (_, i) => singleImage(`p${i}`, { tags: [`t${i}`] })),
    );
    const pages: number[] = [];
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(new DescribeImagesCommand({ repositoryName, nextToken }));
      pages.push(page.imageDetails!.length);
      seen.push(...page.imageDetails!.map((d) => d.imageDigest!));
      nextToken = page.nextToken;
      if (nextToken) expect(nextToken).not.toMatch(/^\d+$/);
    } while (nextToken);
    expect(pages).toEqual([100, 100, 50]);
    expect(seen).toEqual(digests);
    for (const maxResults of [0, 1001]) {
      expect((await errorOf(client.send(new DescribeImagesCommand({ repositoryName, maxResults }))))?.name).toBe('InvalidParameterException');
    }
    const first = await client.send(new DescribeImagesCommand({ repositoryName, maxResults: 1000 }));
    expect(first.imageDetails).toHaveLength(250);
    expect(first.nextToken).toBeUndefined();
    expect((await errorOf(client.send(new DescribeImagesCommand({ repositoryName, nextToken: 'forged' }))))?.name).toBe('InvalidParameterException');
  });

  test('a page continues after the last image returned even when images were deleted in between', async () => {
    const repositoryName = await newRepository();
    const digests = emulator.seed(
      repositoryName,
      Array.from({ length: 6 }, (_, i) => singleImage(`q${i}`)),
    );
    const first = await client.send(new DescribeImagesCommand({ repositoryName, maxResults: 3 }));
    await client.send(new BatchDeleteImageCommand({ repositoryName, imageIds: digests.slice(0, 3).map((imageDigest) => ({ imageDigest })) }));
    const second = await client.send(new DescribeImagesCommand({ repositoryName, maxResults: 3, nextToken: first.nextToken }));
    expect(second.imageDetails!.map((d) => d.imageDigest)).toEqual(digests.slice(3));
  });

  test('DescribeImages with imageIds answers ImageNotFoundException for an unknown one', async () => {
    const repositoryName = await newRepository();
    const [digest] = emulator.seed(repositoryName, [singleImage('i1', { tags: ['x'] })]);
    expect((await client.send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageTag: 'x' }] }))).imageDetails![0].imageDigest).toBe(
      digest,
    );
    expect((await errorOf(client.send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageTag: 'y' }] }))))?.name).toBe(
      'ImageNotFoundException',
    );
  });

  test('DescribeImageTags lists each tag with its image', async () => {
    const repositoryName = await newRepository();
    const [digest] = emulator.seed(repositoryName, [singleImage('dt', { tags: ['a', 'b'] })]);
    const { imageTagDetails } = await client.send(new DescribeImageTagsCommand({ repositoryName }));
    expect(imageTagDetails!.map((d) => [d.imageTag, d.imageDetail?.imageDigest])).toEqual([
      ['a', digest],
      ['b', digest],
    ]);
  });

  describe('BatchDeleteImage', () => {
    test('a tag removes only that tag while the image has others, and the image with its last', async () => {
      const repositoryName = await newRepository();
      const [digest] = emulator.seed(repositoryName, [singleImage('d1', { tags: ['a', 'b'] })]);
      expect(await client.send(new BatchDeleteImageCommand({ repositoryName, imageIds: [{ imageTag: 'a' }] }))).toMatchObject({
        imageIds: [{ imageDigest: digest, imageTag: 'a' }],
        failures: [],
      });
      expect(emulator.snapshot(repositoryName)).toEqual(new Map([[digest, ['b']]]));
      await client.send(new BatchDeleteImageCommand({ repositoryName, imageIds: [{ imageTag: 'b' }] }));
      expect(emulator.snapshot(repositoryName).size).toBe(0);
    });

    test('a digest removes the image and every tag, reported one ID per tag', async () => {
      const repositoryName = await newRepository();
      const [digest, untagged] = emulator.seed(repositoryName, [singleImage('d2', { tags: ['a', 'b'] }), singleImage('d3')]);
      const answer = await client.send(
        new BatchDeleteImageCommand({ repositoryName, imageIds: [{ imageDigest: digest }, { imageDigest: untagged }] }),
      );
      expect(answer.imageIds).toEqual([{ imageDigest: digest, imageTag: 'a' }, { imageDigest: digest, imageTag: 'b' }, { imageDigest: untagged }]);
      expect(emulator.snapshot(repositoryName).size).toBe(0);
    });

    test('a tag and digest that do not match: ImageTagDoesNotMatchDigest, nothing deleted', async () => {
      const repositoryName = await newRepository();
      const [a, b] = emulator.seed(repositoryName, [singleImage('e1', { tags: ['a'] }), singleImage('e2', { tags: ['b'] })]);
      const answer = await client.send(new BatchDeleteImageCommand({ repositoryName, imageIds: [{ imageTag: 'a', imageDigest: b }] }));
      expect(answer.failures).toEqual([
        { imageId: { imageTag: 'a', imageDigest: b }, failureCode: 'ImageTagDoesNotMatchDigest', failureReason: expect.any(String) },
      ]);
      expect(emulator.snapshot(repositoryName)).toEqual(
        new Map([
          [a, ['a']],
          [b, ['b']],
        ]),
      );
    });

    test('a matching tag and digest remove the tag only, as a tag does', async () => {
      const repositoryName = await newRepository();
      const [a] = emulator.seed(repositoryName, [singleImage('f1', { tags: ['a', 'keep'] })]);
      await client.send(new BatchDeleteImageCommand({ repositoryName, imageIds: [{ imageTag: 'a', imageDigest: a }] }));
      expect(emulator.snapshot(repositoryName)).toEqual(new Map([[a, ['keep']]]));
    });

    test('unknown images and malformed IDs are per-item failures', async () => {
      const repositoryName = await newRepository();
      const answer = await client.send(
        new BatchDeleteImageCommand({
          repositoryName,
          imageIds: [{ imageTag: 'nope' }, { imageDigest: `sha256:${'1'.repeat(64)}` }, { imageDigest: 'sha256:xyz' }, {}],
        }),
      );
      expect(answer.failures!.map((f) => f.failureCode)).toEqual(['ImageNotFound', 'ImageNotFound', 'InvalidImageDigest', 'MissingDigestAndTag']);
    });

    test('takes 1 to 100 image IDs a call', async () => {
      const repositoryName = await newRepository();
      for (const count of [0, 101]) {
        const imageIds = Array.from({ length: count }, (_, i) => ({ imageTag: `t${i}` }));
        expect((await errorOf(client.send(new BatchDeleteImageCommand({ repositoryName, imageIds }))))?.name).toBe('InvalidParameterException');
      }
      expect(
        (await client.send(new BatchDeleteImageCommand({ repositoryName, imageIds: Array.from({ length: 100 }, (_, i) => ({ imageTag: `t${i}` })) })))
          .failures,
      ).toHaveLength(100);
    });

    test('refuses, when told to, an image that a remaining index lists; frees it once the index is gone', async () => {
      const repositoryName = await newRepository();
      const group = buildxIndex('r1', { tags: ['v1'] });
      emulator.seed(repositoryName, group.images);
      const child = group.images[0].digest;
      const refused = await client.send(new BatchDeleteImageCommand({ repositoryName, imageIds: [{ imageDigest: child }] }));
      expect(refused.failures![0].failureCode).toBe('ImageReferencedByManifestList');
      const inOrder = await client.send(new BatchDeleteImageCommand({ repositoryName, imageIds: [{ imageTag: 'v1' }, { imageDigest: child }] }));
      expect(inOrder.failures).toEqual([]);
      expect(emulator.snapshot(repositoryName).size).toBe(3);
    });

    test('allows it when told to, as a field report says the service did', async () => {
      const repositoryName = await newRepository();
      emulator.referencedImageDeletion = 'allow';
      const group = dockerManifestList('r2', { tags: ['v1'] });
      emulator.seed(repositoryName, group.images);
      const answer = await client.send(
        new BatchDeleteImageCommand({ repositoryName, imageIds: group.images.slice(0, 2).map((i) => ({ imageDigest: i.digest })) }),
      );
      expect(answer.failures).toEqual([]);
      expect([...emulator.snapshot(repositoryName).keys()]).toEqual([group.index.digest]);
    });
  });

  test('repository errors: not found, already exists, not empty unless forced', async () => {
    const repositoryName = await newRepository();
    expect((await errorOf(client.send(new CreateRepositoryCommand({ repositoryName }))))?.name).toBe('RepositoryAlreadyExistsException');
    expect((await errorOf(client.send(new DescribeImagesCommand({ repositoryName: 'no/such' }))))?.name).toBe('RepositoryNotFoundException');
    expect((await errorOf(client.send(new BatchDeleteImageCommand({ repositoryName: 'no/such', imageIds: [{ imageTag: 'a' }] }))))?.name).toBe(
      'RepositoryNotFoundException',
    );
    expect((await errorOf(client.send(new CreateRepositoryCommand({ repositoryName: 'Upper' }))))?.name).toBe('InvalidParameterException');
    emulator.seed(repositoryName, [singleImage('g1')]);
    expect((await errorOf(client.send(new DeleteRepositoryCommand({ repositoryName }))))?.name).toBe('RepositoryNotEmptyException');
    await client.send(new DeleteRepositoryCommand({ repositoryName, force: true }));
    expect((await errorOf(client.send(new DescribeRepositoriesCommand({ repositoryNames: [repositoryName] }))))?.name).toBe(
      'RepositoryNotFoundException',
    );
  });

  test('DescribeRepositories gives the repository URI public.ecr.aws/<alias>/<name>; DescribeRegistries the alias', async () => {
    const repositoryName = await newRepository();
    const { repositories } = await client.send(new DescribeRepositoriesCommand({ repositoryNames: [repositoryName] }));
    expect(repositories![0]).toMatchObject({
      repositoryName,
      repositoryUri: `public.ecr.aws/emulated/${repositoryName}`,
      registryId: '123456789012',
    });
    const { registries } = await client.send(new DescribeRegistriesCommand({}));
    expect(registries![0].aliases).toEqual([{ name: 'emulated', status: 'ACTIVE', primaryRegistryAlias: true, defaultRegistryAlias: true }]);
  });

  test('a client signing for a Region that does not serve the API is refused', async () => {
    const wrong = emulatorClient(emulator.endpoint, 'eu-west-1');
    expect((await errorOf(wrong.send(new DescribeRegistriesCommand({}))))?.name).toBe('InvalidSignatureException');
    wrong.destroy();
  });
});

describe('the registry API', () => {
  const ACCEPT_ALL = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest].join(', ');

  async function token(challenge: string): Promise<string> {
    const realm = /realm="([^"]+)"/.exec(challenge)![1];
    const answer = await fetch(`${realm}?service=public.ecr.aws&scope=aws`);
    return ((await answer.json()) as { token: string }).token;
  }

  test('serves a manifest by digest and by tag after the bearer challenge, byte for byte', async () => {
    const repositoryName = await newRepository();
    const group = buildxIndex('reg1', { tags: ['v1'] });
    emulator.seed(repositoryName, group.images);
    const url = `${emulator.registryEndpoint}/v2/emulated/${repositoryName}/manifests/${group.index.digest}`;
    const challenged = await fetch(url, { headers: { accept: ACCEPT_ALL } });
    expect(challenged.status).toBe(401);
    const challenge = challenged.headers.get('www-authenticate')!;
    expect(challenge).toBe(`Bearer realm="${emulator.registryEndpoint}/token",service="public.ecr.aws",scope="aws"`);
    const authorization = `Bearer ${await token(challenge)}`;
    for (const reference of [group.index.digest, 'v1']) {
      const answer = await fetch(url.replace(group.index.digest, reference), { headers: { accept: ACCEPT_ALL, authorization } });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe(MEDIA_TYPES.ociIndex);
      expect(answer.headers.get('docker-content-digest')).toBe(group.index.digest);
      expect(Buffer.from(await answer.arrayBuffer()).toString('utf8')).toBe(group.index.manifest);
    }
    const unknown = await fetch(url.replace(group.index.digest, `sha256:${'2'.repeat(64)}`), { headers: { accept: ACCEPT_ALL, authorization } });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { errors: Array<{ code: string }> }).errors[0].code).toBe('MANIFEST_UNKNOWN');
    const notAccepted = await fetch(url, { headers: { accept: MEDIA_TYPES.ociManifest, authorization } });
    expect(notAccepted.status).toBe(404);
    const forged = await fetch(url, { headers: { accept: ACCEPT_ALL, authorization: 'Bearer forged' } });
    expect(forged.status).toBe(401);
  });

  test('ECR_PUBLIC_REGISTRY_ENDPOINT replaces the scheme and host of the repository URI; the path stays', async () => {
    const repositoryName = await newRepository();
    const group = buildxIndex('contract', { tags: ['v1'] });
    emulator.seed(repositoryName, group.images);
    const { repositories } = await client.send(new DescribeRepositoriesCommand({ repositoryNames: [repositoryName] }));
    const uri = repositories![0].repositoryUri!;
    const [host, ...path] = uri.split('/');
    expect(host).toBe('public.ecr.aws');
    const url = `${emulator.registryEndpoint}/v2/${path.join('/')}/manifests/v1`;
    const challenge = (await fetch(url, { headers: { accept: ACCEPT_ALL } })).headers.get('www-authenticate')!;
    const answer = await fetch(url, { headers: { accept: ACCEPT_ALL, authorization: `Bearer ${await token(challenge)}` } });
    expect(answer.headers.get('docker-content-digest')).toBe(group.index.digest);
  });

  test('a nested index and a manifest list are served with their own media types', async () => {
    const repositoryName = await newRepository();
    const list = dockerManifestList('reg2');
    const nested = nestedIndex('reg3', [buildxIndex('reg4'), list], { tags: ['multi'] });
    emulator.seed(repositoryName, nested.images);
    const challenge = (await fetch(`${emulator.registryEndpoint}/v2/`)).headers.get('www-authenticate')!;
    const authorization = `Bearer ${await token(challenge)}`;
    for (const image of [nested.index, list.index]) {
      const answer = await fetch(`${emulator.registryEndpoint}/v2/emulated/${repositoryName}/manifests/${image.digest}`, {
        headers: { accept: ACCEPT_ALL, authorization },
      });
      expect(answer.headers.get('content-type')).toBe(image.mediaType);
      expect(await answer.text()).toBe(image.manifest);
    }
  });
});

describe('the switches', () => {
  test('429 with Retry-After on the registry, ThrottlingException and 500 on the API, dropped connections; every request recorded', async () => {
    const repositoryName = await newRepository();
    emulator.resetStats();
    emulator.faults.registry.retryAfterSeconds = 3;
    emulator.faults.registry.forced.push('throttle');
    const limited = await fetch(`${emulator.registryEndpoint}/v2/`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    emulator.faults.api.forced.push('throttle', 'serverError', 'dropBefore', 'tooManyRequests');
    expect((await errorOf(client.send(new DescribeImagesCommand({ repositoryName }))))?.name).toBe('ThrottlingException');
    expect((await errorOf(client.send(new DescribeImagesCommand({ repositoryName }))))?.$metadata?.httpStatusCode).toBe(500);
    expect(await errorOf(client.send(new DescribeImagesCommand({ repositoryName })))).toBeDefined();
    expect((await errorOf(client.send(new DescribeImagesCommand({ repositoryName }))))?.$metadata?.httpStatusCode).toBe(429);
    expect(emulator.requests().map((r) => [r.api, r.forced])).toEqual([
      ['registry', 'throttle'],
      ['api', 'throttle'],
      ['api', 'serverError'],
      ['api', 'dropBefore'],
      ['api', 'tooManyRequests'],
    ]);
    expect(emulator.stats('DescribeImages').calls).toBe(4);
  });

  test('dropAfter applies the request and loses the answer', async () => {
    const repositoryName = await newRepository();
    emulator.seed(repositoryName, [singleImage('drop', { tags: ['x'] })]);
    emulator.faults.api.forced.push('dropAfter');
    expect(await errorOf(client.send(new BatchDeleteImageCommand({ repositoryName, imageIds: [{ imageTag: 'x' }] })))).toBeDefined();
    expect(emulator.snapshot(repositoryName).size).toBe(0);
  });

  test('a fixed delay per operation holds each answer', async () => {
    const repositoryName = await newRepository();
    emulator.faults.api.delayMs = { DescribeImages: 150 };
    const started = Date.now();
    await client.send(new DescribeImagesCommand({ repositoryName }));
    emulator.faults.api.delayMs = {};
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});

test('runs as a child process driven through its control API', async () => {
  const child = await startEcrPublicEmulatorProcess();
  try {
    const remote = new ECRPUBLICClient({ region: 'us-east-1', endpoint: child.endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    await remote.send(new CreateRepositoryCommand({ repositoryName: 'child/repo' }));
    const group = buildxIndex('child', { tags: ['v1'], pushedAt: Date.UTC(2024, 0, 1) });
    expect(await child.control('seed', { repositoryName: 'child/repo', images: group.images })).toEqual({
      digests: group.images.map((i) => i.digest),
    });
    const { imageDetails } = await remote.send(new DescribeImagesCommand({ repositoryName: 'child/repo', imageIds: [{ imageTag: 'v1' }] }));
    expect(imageDetails![0].imagePushedAt).toEqual(new Date(Date.UTC(2024, 0, 1)));
    remote.destroy();
  } finally {
    await child.stop();
  }
});

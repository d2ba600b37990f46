/**
 * A local ECR Public backend for integration tests, the demo and benchmarks:
 * moto's ECR backend behind a launcher that routes requests signed for
 * `ecr-public` to it, on a free loopback port. The unmodified SDK client
 * reaches it through AWS_ENDPOINT_URL_ECR_PUBLIC.
 */
import { createHash } from 'node:crypto';
import { CreateRepositoryCommand, DescribeImagesCommand, ECRPUBLICClient, ImageDetail, PutImageCommand } from '@aws-sdk/client-ecr-public';
import { INSTALL_HINTS, backendMissing, startMoto } from './backends';

export { freePort } from './backends';
export const MOTO_INSTALL_HINT = INSTALL_HINTS.moto;

/** Why the local backend cannot start here, or undefined when it can. */
export function localBackendMissing(): string | undefined {
  return backendMissing('moto');
}

export interface LocalEcrPublic {
  /** http://127.0.0.1:PORT, for AWS_ENDPOINT_URL_ECR_PUBLIC. */
  readonly endpoint: string;
  /** A client for seeding and inspecting, pointed at the backend. */
  readonly client: ECRPUBLICClient;
  stop(): Promise<void>;
}

/** Starts moto on a free loopback port and waits until it accepts connections. */
export async function startLocalEcrPublic(options: { startTimeoutMs?: number } = {}): Promise<LocalEcrPublic> {
  const moto = await startMoto(options);
  const client = new ECRPUBLICClient({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return {
    endpoint: moto.endpoint,
    client,
    stop: async () => {
      client.destroy();
      await moto.stop();
    },
  };
}

/** A distinct image manifest per seed: moto derives the digest from the layer digests. */
function manifestFor(seed: string): string {
  const layer = createHash('sha256').update(seed).digest('hex');
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 7023, digest: `sha256:${'0'.repeat(64)}` },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 32654, digest: `sha256:${layer}` }],
  });
}

export async function createRepository(client: ECRPUBLICClient, repositoryName: string): Promise<void> {
  await client.send(new CreateRepositoryCommand({ repositoryName }));
}

/** Pushes one image with the given tags (none: an untagged image) and returns its digest. */
export async function seedImage(client: ECRPUBLICClient, repositoryName: string, seed: string, tags: string[]): Promise<string> {
  const imageManifest = manifestFor(seed);
  let digest = '';
  for (const imageTag of tags.length > 0 ? tags : [undefined]) {
    const answer = await client.send(new PutImageCommand({ repositoryName, imageManifest, imageTag }));
    digest = answer.image?.imageId?.imageDigest ?? '';
  }
  return digest;
}

/** The repository's images as `digest -> sorted tags`. */
export async function listImages(client: ECRPUBLICClient, repositoryName: string): Promise<Map<string, string[]>> {
  const images = new Map<string, string[]>();
  let nextToken: string | undefined;
  do {
    const page = await client.send(new DescribeImagesCommand({ repositoryName, nextToken }));
    for (const detail of page.imageDetails ?? ([] as ImageDetail[])) {
      images.set(detail.imageDigest ?? '', [...(detail.imageTags ?? [])].sort());
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return images;
}

/**
 * The local ECR Public for integration tests and the demo: by default the
 * project's emulator (local/ecr-public), started in-process on a free loopback
 * port, serving both the JSON API (AWS_ENDPOINT_URL_ECR_PUBLIC) and the
 * registry (ECR_PUBLIC_REGISTRY_ENDPOINT); or moto (`backend: 'moto'`), an
 * independent implementation of the JSON API only, for cross-checks. The
 * unmodified SDK client reaches either one.
 */
import { createHash } from 'node:crypto';
import { CreateRepositoryCommand, DescribeImagesCommand, ECRPUBLICClient, ImageDetail, PutImageCommand } from '@aws-sdk/client-ecr-public';
import { BYPASS_HEADER, EcrPublicEmulator, ReferencedImageDeletion, startEcrPublicEmulator } from '../../local/ecr-public';
import { INSTALL_HINTS, backendMissing, startMoto } from './backends';

export { freePort } from './backends';
export const MOTO_INSTALL_HINT = INSTALL_HINTS.moto;

/** `emulator` (the default: Node only) or `moto` (needs Python and moto's server). */
export type LocalBackend = 'emulator' | 'moto';

/** Why the backend cannot start here, or undefined when it can (the emulator always can). */
export function localBackendMissing(backend: LocalBackend = 'emulator'): string | undefined {
  return backend === 'moto' ? backendMissing('moto') : undefined;
}

export interface LocalEcrPublic {
  readonly backend: LocalBackend;
  /** http://127.0.0.1:PORT, for AWS_ENDPOINT_URL_ECR_PUBLIC. */
  readonly endpoint: string;
  /** The registry, for ECR_PUBLIC_REGISTRY_ENDPOINT: the emulator's own endpoint; moto serves none. */
  readonly registryEndpoint?: string;
  /** The emulator, with its switches, recorder and seeding helpers; undefined for moto. */
  readonly emulator?: EcrPublicEmulator;
  /** A client for seeding and inspecting, pointed at the backend (the emulator's fault switches and recorder do not see it). */
  readonly client: ECRPUBLICClient;
  /** AWS_ENDPOINT_URL_ECR_PUBLIC, and ECR_PUBLIC_REGISTRY_ENDPOINT when there is a registry. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export interface LocalEcrPublicOptions {
  /** @default 'emulator' */
  readonly backend?: LocalBackend;
  /** The emulator's answer to deleting an image that a remaining index lists. @default 'refuse' */
  readonly referencedImageDeletion?: ReferencedImageDeletion;
  readonly startTimeoutMs?: number;
}

const clientFor = (endpoint: string) =>
  new ECRPUBLICClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

/** An ECR Public client of the local ECR Public, signing for `region`, that never retries (a test sees every answer). */
export const emulatorClient = (endpoint: string, region = 'us-east-1') =>
  new ECRPUBLICClient({ region, endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });

/** Starts the emulator (or moto) on a free loopback port. */
export async function startLocalEcrPublic(options: LocalEcrPublicOptions = {}): Promise<LocalEcrPublic> {
  if (options.backend === 'moto') {
    const moto = await startMoto(options);
    const client = clientFor(moto.endpoint);
    return {
      backend: 'moto',
      endpoint: moto.endpoint,
      client,
      env: { AWS_ENDPOINT_URL_ECR_PUBLIC: moto.endpoint },
      stop: async () => {
        client.destroy();
        await moto.stop();
      },
    };
  }
  const emulator = await startEcrPublicEmulator({ referencedImageDeletion: options.referencedImageDeletion });
  const client = clientFor(emulator.endpoint);
  // Seeding and inspecting bypass the fault switches and the recorder: they hold what the handler sent.
  client.middlewareStack.add(
    (next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers[BYPASS_HEADER] = 'faults';
      return next(args);
    },
    { step: 'build', name: 'emulatorBypassFaults' },
  );
  return {
    backend: 'emulator',
    endpoint: emulator.endpoint,
    registryEndpoint: emulator.registryEndpoint,
    emulator,
    client,
    env: { AWS_ENDPOINT_URL_ECR_PUBLIC: emulator.endpoint, ECR_PUBLIC_REGISTRY_ENDPOINT: emulator.registryEndpoint },
    stop: async () => {
      client.destroy();
      await emulator.close();
    },
  };
}

/**
 * A distinct image manifest per seed: the emulator's digest is the sha256 of
 * these bytes; moto derives its own from the layer digests.
 */
function manifestFor(seed: string): string {
  const layer = createHash('sha256').update(seed).digest('hex');
  const config = createHash('sha256').update(`config:${seed}`).digest('hex');
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 7023, digest: `sha256:${config}` },
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

/**
 * A local ECR Public backend for integration tests, the demo and benchmarks:
 * moto's ECR backend behind a launcher that routes requests signed for
 * `ecr-public` to it, on a free loopback port. The unmodified SDK client
 * reaches it through AWS_ENDPOINT_URL_ECR_PUBLIC.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import * as path from 'node:path';
import { CreateRepositoryCommand, DescribeImagesCommand, ECRPUBLICClient, ImageDetail, PutImageCommand } from '@aws-sdk/client-ecr-public';

const LAUNCHER = path.join(__dirname, 'moto_ecr_public.py');
export const MOTO_INSTALL_HINT = 'pip install "moto[server]"';

/** Why the local backend cannot start here, or undefined when it can. */
export function localBackendMissing(): string | undefined {
  const probe = spawnSync('python3', ['-c', 'import moto.server, flask'], { encoding: 'utf8' });
  if (probe.error) return `python3 was not found (${probe.error.message}); install Python 3 and then ${MOTO_INSTALL_HINT}`;
  if (probe.status !== 0) return `moto's server is not installed for python3; install it with ${MOTO_INSTALL_HINT}`;
  return undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
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
  const missing = localBackendMissing();
  if (missing) throw new Error(`cannot start the local ECR Public backend: ${missing}`);
  const port = await freePort();
  const child: ChildProcess = spawn('python3', [LAUNCHER, String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  while (!(await canConnect(port))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the local ECR Public backend did not start on port ${port}:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new ECRPUBLICClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return {
    endpoint,
    client,
    stop: () =>
      new Promise<void>((resolve) => {
        client.destroy();
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
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

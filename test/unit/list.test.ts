/**
 * The listing: what each image is, as DescribeImages says it, and nothing
 * guessed where it says nothing.
 */
import { DescribeImagesCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { mockClient } from 'aws-sdk-client-mock';
import { UNKNOWN_PUSH_TIME, listRepository } from '../../lambda/list';

const ecr = mockClient(ECRPUBLICClient);
afterEach(() => ecr.reset());
const digest = (n: number) => `sha256:${String(n).padStart(64, '0')}`;

test('an image listed without imageManifestMediaType has no media type, whatever its artifactMediaType: its manifest is read to know', async () => {
  ecr.on(DescribeImagesCommand).resolves({
    imageDetails: [
      // An OCI index with an artifactType, listed without its manifest media type.
      { imageDigest: digest(1), imageTags: ['v1'], artifactMediaType: 'application/vnd.example.bundle' },
      {
        imageDigest: digest(2),
        imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactMediaType: 'application/vnd.oci.image.config.v1+json',
      },
      { imageDigest: digest(3), imageManifestMediaType: '' },
    ],
  });
  const { images } = await listRepository(new ECRPUBLICClient({ region: 'us-east-1' }), { repositoryName: 'app' });
  expect(images.map((image) => image.mediaType)).toEqual([undefined, 'application/vnd.oci.image.manifest.v1+json', undefined]);
  expect(images[0]).toEqual({ digest: digest(1), tags: ['v1'], pushedAt: UNKNOWN_PUSH_TIME, mediaType: undefined });
});

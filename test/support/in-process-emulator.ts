/// <reference types="jest" />
/**
 * The local ECR Public for a test file that runs the handler in process:
 * started before the file's tests, with AWS_ENDPOINT_URL_ECR_PUBLIC and
 * ECR_PUBLIC_REGISTRY_ENDPOINT pointing at it before the handler makes its
 * (cached) client; emptied and its recorder cleared before each test.
 */
import { EcrPublicEmulator, startEcrPublicEmulator } from '../../local/ecr-public';

export interface InProcessEmulator {
  readonly emulator: EcrPublicEmulator;
  /** The inputs of the calls of one operation (e.g. `DescribeImages`) since the test began, in order. */
  calls(operation: string): Record<string, unknown>[];
}

export function useEmulatorForHandler(): InProcessEmulator {
  let emulator: EcrPublicEmulator | undefined;
  beforeAll(async () => {
    emulator = await startEcrPublicEmulator();
    process.env.AWS_ENDPOINT_URL_ECR_PUBLIC = emulator.endpoint;
    process.env.ECR_PUBLIC_REGISTRY_ENDPOINT = emulator.registryEndpoint;
  });
  afterAll(async () => {
    delete process.env.AWS_ENDPOINT_URL_ECR_PUBLIC;
    delete process.env.ECR_PUBLIC_REGISTRY_ENDPOINT;
    await emulator?.close();
  });
  beforeEach(() => {
    emulator!.store.repositories.clear();
    emulator!.referencedImageDeletion = 'refuse';
    emulator!.resetStats();
  });
  return {
    get emulator() {
      if (!emulator) throw new Error('the emulator starts in beforeAll: use it inside a test');
      return emulator;
    },
    calls: (operation) =>
      emulator!.faults.api.requests
        .filter((request) => request.operation === `SpencerFrontendService.${operation}`)
        .map((request) => JSON.parse(request.body) as Record<string, unknown>),
  };
}

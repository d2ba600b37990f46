/**
 * What a test of the shipped handler bundle starts before its suite: the
 * local ECR Public (the emulator, whose fault switches and recorder stand
 * between the handler and the registry state: fault-free unless told
 * otherwise), a ResponseURL server, and a local CloudFormation that answers
 * the handler's stack-state calls (a stack no test has set is
 * UPDATE_IN_PROGRESS, with an empty template).
 */
import { existsSync } from 'node:fs';
import type { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import type { EcrPublicEmulator, FaultInjector, FaultOptions, ReferencedImageDeletion } from '../../local/ecr-public';
import { LocalDynamoDb, startLocalDynamoDb } from '../../local/dynamodb';
import { BUNDLE, LocalStackState, ResponseServer } from './local-cloudformation';
import { LocalEcrPublic, startLocalEcrPublic } from './local-ecr-public';

export interface LocalRig {
  readonly backend: LocalEcrPublic;
  readonly emulator: EcrPublicEmulator;
  /** A client of the local ECR Public, for seeding and inspecting. */
  readonly client: ECRPUBLICClient;
  readonly server: ResponseServer;
  /** The JSON API's fault switches and request recorder. */
  readonly faults: FaultInjector;
  /** The stacks' state, as the handler reads it (DescribeStacks, GetTemplate). */
  readonly stack: LocalStackState;
  /** The local DynamoDB, where a stack's reference cache lives (in the stacks' region, eu-west-1). */
  readonly dynamo: LocalDynamoDb;
  /**
   * The handler's environment: AWS_ENDPOINT_URL_ECR_PUBLIC, ECR_PUBLIC_REGISTRY_ENDPOINT,
   * AWS_ENDPOINT_URL_CLOUDFORMATION and AWS_ENDPOINT_URL_DYNAMODB.
   */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startLocalRig(options: FaultOptions & { readonly referencedImageDeletion?: ReferencedImageDeletion } = {}): Promise<LocalRig> {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run bundle first`);
  const backend = await startLocalEcrPublic({ referencedImageDeletion: options.referencedImageDeletion });
  const emulator = backend.emulator!;
  emulator.faults.api.configure(options.rates ?? {}, options.seed, options);
  const server = await ResponseServer.start();
  const stack = await LocalStackState.start();
  const dynamo = await startLocalDynamoDb({ region: 'eu-west-1' });
  return {
    backend,
    emulator,
    client: backend.client,
    server,
    faults: emulator.faults.api,
    stack,
    dynamo,
    env: { ...backend.env, ...stack.env, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint },
    stop: async () => {
      await dynamo.close();
      await stack.close();
      await server.close();
      await backend.stop();
    },
  };
}

/**
 * Starts a local rig before the enclosing describe block and stops it after;
 * returns a getter for it (which throws if called outside the block's tests).
 * `beforeStop` runs before the rig stops, e.g. to read its recorder.
 */
export function useLocalRig(options: Parameters<typeof startLocalRig>[0] = {}, beforeStop?: (rig: LocalRig) => void | Promise<void>): () => LocalRig {
  let rig: LocalRig | undefined;
  beforeAll(async () => {
    rig = await startLocalRig(options);
  });
  afterAll(async () => {
    if (rig) await beforeStop?.(rig);
    await rig?.stop();
  });
  return () => {
    if (!rig) throw new Error('the local rig is not started: call its getter inside a test or hook');
    return rig;
  };
}

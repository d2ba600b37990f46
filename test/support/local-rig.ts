/// <reference types="jest" />
/**
 * What a test of the shipped handler bundle starts before its suite: the
 * local ECR Public (moto), a ResponseURL server, a fault proxy in front of
 * moto (fault-free unless told otherwise; it records every request), and a
 * local CloudFormation that answers the handler's stack-state calls (a stack
 * no test has set is UPDATE_IN_PROGRESS, with an empty template).
 */
import { existsSync } from 'node:fs';
import type { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { FaultProxy, FaultProxyOptions } from './fault-proxy';
import { BUNDLE, LocalStackState, ResponseServer } from './local-cloudformation';
import { describeWithBackends } from './backends';
import { LocalEcrPublic, startLocalEcrPublic } from './local-ecr-public';

/** `describe` when the local ECR Public can start here; a loud skip otherwise, and a failure in CI. */
export function describeIfLocalBackend(what: string): jest.Describe {
  return describeWithBackends(['moto'], what);
}

export interface LocalRig {
  readonly backend: LocalEcrPublic;
  /** A client of the local ECR Public, for seeding and inspecting. */
  readonly client: ECRPUBLICClient;
  readonly server: ResponseServer;
  readonly proxy: FaultProxy;
  /** The stacks' state, as the handler reads it (DescribeStacks, GetTemplate). */
  readonly stack: LocalStackState;
  /** The handler's environment: its ECR Public endpoint is the proxy, its CloudFormation the local one. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startLocalRig(proxyOptions: Omit<FaultProxyOptions, 'target'> = {}): Promise<LocalRig> {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run bundle first`);
  const backend = await startLocalEcrPublic();
  const server = await ResponseServer.start();
  const proxy = await FaultProxy.start({ target: backend.endpoint, ...proxyOptions });
  const stack = await LocalStackState.start();
  return {
    backend,
    client: backend.client,
    server,
    proxy,
    stack,
    env: { AWS_ENDPOINT_URL_ECR_PUBLIC: proxy.endpoint, ...stack.env },
    stop: async () => {
      await stack.close();
      await proxy.close();
      await server.close();
      await backend.stop();
    },
  };
}

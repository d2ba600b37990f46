/// <reference types="jest" />
/**
 * What a test of the shipped handler bundle starts before its suite: the
 * local ECR Public (moto), a ResponseURL server, and a fault proxy in front of
 * moto (fault-free unless told otherwise; it records every request).
 */
import { existsSync } from 'node:fs';
import type { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { FaultProxy, FaultProxyOptions } from './fault-proxy';
import { BUNDLE, ResponseServer } from './local-cloudformation';
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
  /** The handler's environment: its ECR Public endpoint is the proxy. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startLocalRig(proxyOptions: Omit<FaultProxyOptions, 'target'> = {}): Promise<LocalRig> {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run bundle first`);
  const backend = await startLocalEcrPublic();
  const server = await ResponseServer.start();
  const proxy = await FaultProxy.start({ target: backend.endpoint, ...proxyOptions });
  return {
    backend,
    client: backend.client,
    server,
    proxy,
    env: { AWS_ENDPOINT_URL_ECR_PUBLIC: proxy.endpoint },
    stop: async () => {
      await proxy.close();
      await server.close();
      await backend.stop();
    },
  };
}

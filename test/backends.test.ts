/**
 * The independent backends that cross-check the project's code start here, and
 * a missing one skips loudly on a laptop but fails in CI.
 */
import { backendMissing, describeWithBackends, startDockerRegistry, startMoto, suiteVerdict } from './support/backends';

describe('a missing backend', () => {
  test('runs the suite when nothing is missing', () => {
    expect(suiteVerdict([], true)).toEqual({ kind: 'run' });
    expect(suiteVerdict([], false)).toEqual({ kind: 'run' });
  });

  test('skips on a developer machine and fails in CI, with every reason', () => {
    expect(suiteVerdict(['no moto', 'no registry'], false)).toEqual({ kind: 'skip', reason: 'no moto; no registry' });
    expect(suiteVerdict(['no moto'], true)).toEqual({ kind: 'fail', reason: 'no moto' });
  });

  test('names what was tried and how to install it', () => {
    const saved = { bin: process.env.DOCKER_REGISTRY_BIN };
    try {
      process.env.DOCKER_REGISTRY_BIN = '/nonexistent/docker-registry';
      expect(backendMissing('docker-registry')).toMatch(/DOCKER_REGISTRY_BIN.*apt-get install docker-registry/);
    } finally {
      if (saved.bin === undefined) delete process.env.DOCKER_REGISTRY_BIN;
      else process.env.DOCKER_REGISTRY_BIN = saved.bin;
    }
  });
});

describeWithBackends(['moto'], 'the moto start-up test')('moto', () => {
  test('starts on a loopback port and answers ECR Public requests signed for ecr-public', async () => {
    const moto = await startMoto();
    try {
      expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const answer = await fetch(moto.endpoint, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-amz-json-1.1',
          'X-Amz-Target': 'SpencerFrontendService.DescribeRepositories',
          Authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ecr-public/aws4_request, SignedHeaders=host, Signature=0',
        },
        body: '{}',
      });
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({ repositories: [] });
    } finally {
      await moto.stop();
    }
  });
});

describeWithBackends(['docker-registry'], 'the distribution registry start-up test')('the distribution registry', () => {
  test('starts on a loopback port with deletes enabled and an empty catalog', async () => {
    const registry = await startDockerRegistry();
    try {
      expect(registry.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const catalog = await fetch(`${registry.endpoint}/v2/_catalog`);
      expect(await catalog.json()).toEqual({ repositories: [] });
    } finally {
      await registry.stop();
    }
    await expect(fetch(`${registry.endpoint}/v2/`)).rejects.toThrow();
  });
});

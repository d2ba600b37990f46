/**
 * The local ECR Public: one HTTP server on a loopback port that serves ECR
 * Public's JSON API (POST with X-Amz-Target, for AWS_ENDPOINT_URL_ECR_PUBLIC)
 * and the public registry's manifest API (GET /v2/…, GET /token, for
 * ECR_PUBLIC_REGISTRY_ENDPOINT), with fault switches per API, a recorder of
 * every request, seeding helpers, and, when set, ECR Public's pull quotas
 * (pull-quota.ts) with a counter of pulls per class. Start it in-process with
 * `startEcrPublicEmulator()`, or as a child process with cli.js.
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { RegistryCredentials } from './credentials';
import { Decision, FaultInjector, FaultOptions, RecordedRequest } from './faults';
import { handleJsonRequest } from './json-api';
import { ApiError, FailureCode } from './model';
import { PullClass, PullCount, PullQuota, PullRates } from './pull-quota';
import { DEFAULT_REGISTRY_BEHAVIOUR, RegistryApi, RegistryAnswer, RegistryBehaviour } from './registry-api';
import { SeedImage } from './seed';
import { DEFAULT_LISTING, EcrPublicStore, ListingBehaviour, ReferencedImageDeletion, StoredImage, StoreOptions } from './store';

export interface EmulatorOptions extends StoreOptions {
  /** The port to listen on (loopback only). @default 0 (a free port) */
  readonly port?: number;
  /** Fault switches of the JSON API. */
  readonly apiFaults?: FaultOptions;
  /** Fault switches of the registry API. */
  readonly registryFaults?: FaultOptions;
  /**
   * ECR Public's pull quotas (`'documented'`: 1/s per address anonymously, 10/s per account authenticated).
   * @default - none: the registry serves every pull
   */
  readonly pullRates?: PullRates | 'documented';
}

/** Calls of one operation: how many, how many at once at most, and the time with at least one in flight. */
export interface OperationStats {
  calls: number;
  inFlight: number;
  inFlightPeak: number;
  busyMs: number;
  busySince: number;
}

/** One image as a test sees it. */
export interface ImageSummary {
  readonly digest: string;
  readonly tags: string[];
  readonly mediaType: string;
  readonly pushedAt: number;
  readonly references: readonly string[];
  /** The digest the manifest's `subject` names, for an OCI 1.1 referrer. */
  readonly subject?: string;
  /** The manifest's `artifactType` or its config's media type, as DescribeImages gives it. */
  readonly artifactMediaType?: string;
}

export interface EcrPublicEmulator {
  /** http://127.0.0.1:PORT: AWS_ENDPOINT_URL_ECR_PUBLIC. */
  readonly endpoint: string;
  /** The same server, as ECR_PUBLIC_REGISTRY_ENDPOINT (replaces the scheme and host of `public.ecr.aws/<alias>/<name>`). */
  readonly registryEndpoint: string;
  readonly port: number;
  readonly store: EcrPublicStore;
  /** Fault switches and request recorders, one per API. */
  readonly faults: { readonly api: FaultInjector; readonly registry: FaultInjector };
  /** Refuse (ImageReferencedByManifestList) or allow deleting an image that a remaining index lists. */
  referencedImageDeletion: ReferencedImageDeletion;
  /** Every credential and bearer token the emulator issued (GetAuthorizationToken, the token realm): none may be printed. */
  issuedSecrets(): string[];
  /** The pull quotas: `configure` sets them (undefined: none), `current` reads them. */
  readonly pullQuota: PullQuota;
  /** Pulls (manifest GETs and HEADs) let through and refused with 429, per class, since the start or the last resetStats. */
  pulls(): Record<PullClass, PullCount>;
  /** How DescribeImages lists: its order, and whether it gives imageManifestMediaType. */
  readonly listing: ListingBehaviour;
  /** The registry's answers a client must cope with: expiring tokens, scopes, challenge styles, redirects. */
  readonly registryBehaviour: RegistryBehaviour;
  /** Per-image failures BatchDeleteImage answers instead of deleting (digest -> failure code, e.g. KmsError). */
  readonly deletionFailures: Map<string, FailureCode>;
  /** The other origin that redirected manifest reads go to (`http://127.0.0.1:PORT`). */
  readonly redirectEndpoint: string;
  /**
   * Runs `action` once, when the next request of `operation` (JSON API:
   * `BatchDeleteImage`…; registry: `manifests`, `token`) arrives, before it is
   * applied: what another client does meanwhile (a push that moves a tag).
   */
  beforeNext(operation: string, action: () => void): void;
  /** Calls per operation (JSON API: `DescribeImages`…; registry: `manifests`, `token`). */
  stats(operation: string): OperationStats;
  /** Clears the statistics, both recorders and the pull counts. */
  resetStats(): void;
  /**
   * Puts the switches a test sets back as ECR Public behaves (the options given at start): referenced-image
   * deletion, the listing, the registry's behaviour, per-image failures. Faults and statistics stay: resetStats.
   */
  restoreBehaviours(): void;
  /** Every request of both APIs, in arrival order. */
  requests(): RecordedRequest[];
  /** Creates the repository if it does not exist. */
  createRepository(name: string): void;
  /** Pushes manifests (children first) straight into the store, with their tags and push times. Returns their digests. */
  seed(repositoryName: string, images: readonly SeedImage[]): string[];
  /** The repository's images in push order. */
  images(repositoryName: string): ImageSummary[];
  /** `digest -> sorted tags`, for assertions. */
  snapshot(repositoryName: string): Map<string, string[]>;
  /**
   * IAM, when a test plays it: asked for every JSON API request of the code
   * under test (not the bypassing seeding client) with the action
   * (`ecr-public:<Operation>`) and the repository's ARN; a string it returns is
   * the reason for an AccessDeniedException, and nothing is applied.
   * Undefined: every request is allowed.
   */
  authorize?: (action: string, resource: string) => string | undefined;
  close(): Promise<void>;
}

/**
 * The header (value `faults`) that a test's own client sets on its requests
 * (seeding, inspecting) so that they bypass the fault switches and the recorder,
 * which then hold only what the code under test sent.
 */
export const BYPASS_HEADER = 'x-emulator-bypass';

const emptyStats = (): OperationStats => ({ calls: 0, inFlight: 0, inFlightPeak: 0, busyMs: 0, busySince: 0 });

export function seedInto(store: EcrPublicStore, repositoryName: string, images: readonly SeedImage[]): string[] {
  if (!store.repositories.has(repositoryName)) store.createRepository(repositoryName);
  const digests: string[] = [];
  for (const image of images) {
    const tags = image.tags.length > 0 ? image.tags : [undefined];
    let stored: StoredImage | undefined;
    for (const tag of tags) {
      const existing = store.repositories.get(repositoryName)!.images.get(image.digest);
      if (existing && (tag === undefined || existing.tags.includes(tag))) {
        stored = existing;
        continue;
      }
      stored = store.putImage(repositoryName, image.manifest, { mediaType: image.mediaType, tag, pushedAt: image.pushedAt });
    }
    digests.push(stored!.digest);
  }
  return digests;
}

/** The emulator's IAM answer for one JSON API request: the denial's message, or undefined when allowed. */
function deniedByIam(emulator: EcrPublicEmulator, store: EcrPublicStore, operation: string, body: string): string | undefined {
  if (!emulator.authorize) return undefined;
  let input: { repositoryName?: unknown; repositoryNames?: unknown; registryId?: unknown } = {};
  try {
    input = JSON.parse(body || '{}') as typeof input;
  } catch {
    // A body that is not JSON is the API's to refuse, not IAM's.
  }
  const names =
    typeof input.repositoryName === 'string' ? [input.repositoryName] : Array.isArray(input.repositoryNames) ? input.repositoryNames : ['*'];
  const registry = typeof input.registryId === 'string' ? input.registryId : store.registryId;
  const action = `ecr-public:${operation}`;
  if (operation === 'GetAuthorizationToken') {
    // No resource type (Service Authorization Reference): judged on "*". The service gets an STS service bearer
    // token on the caller's behalf, which takes sts:GetServiceBearerToken too (the operation's documentation).
    return emulator.authorize(action, '*') ?? emulator.authorize('sts:GetServiceBearerToken', '*');
  }
  for (const name of names) {
    const resource = `arn:aws:ecr-public::${registry}:repository/${String(name)}`;
    const reason = emulator.authorize(action, resource);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

export function summarize(store: EcrPublicStore, repositoryName: string): ImageSummary[] {
  return [...store.repository(repositoryName).images.values()].map((image) => ({
    digest: image.digest,
    tags: [...image.tags],
    mediaType: image.mediaType,
    pushedAt: image.pushedAt,
    references: image.references,
    ...(image.subject !== undefined ? { subject: image.subject } : {}),
    ...(image.artifactMediaType !== undefined ? { artifactMediaType: image.artifactMediaType } : {}),
  }));
}

/** Starts the emulator on a loopback port. */
export async function startEcrPublicEmulator(options: EmulatorOptions = {}): Promise<EcrPublicEmulator> {
  const store = new EcrPublicStore(options);
  const clock = options.now ?? Date.now;
  const credentials = new RegistryCredentials(clock);
  const pullQuota = new PullQuota(options.pullRates, clock);
  const registry = new RegistryApi(store, { credentials, quota: pullQuota });
  const faults = { api: new FaultInjector('api', options.apiFaults), registry: new FaultInjector('registry', options.registryFaults) };
  const stats = new Map<string, OperationStats>();
  const statsOf = (operation: string) => {
    let entry = stats.get(operation);
    if (!entry) stats.set(operation, (entry = emptyStats()));
    return entry;
  };
  const sockets = new Set<net.Socket>();
  let endpoint = '';
  const hooks: Array<{ readonly operation: string; readonly action: () => void }> = [];

  const onRequest = (request: http.IncomingMessage, response: http.ServerResponse) => {
    const arrivedAt = performance.now();
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = (request.url ?? '/').split('?')[0];
      if (path.startsWith('/__emulator/')) {
        answerControl(emulator, path.slice('/__emulator/'.length), body, response);
        return;
      }
      const isRegistry = RegistryApi.serves(path) && request.method !== 'POST';
      const injector = isRegistry ? faults.registry : faults.api;
      const target = String(request.headers['x-amz-target'] ?? '');
      const operationKey = isRegistry
        ? path === '/token'
          ? 'token'
          : path.startsWith('/cdn/')
            ? 'redirected'
            : path.includes('/manifests/')
              ? 'manifests'
              : 'v2'
        : target.split('.').pop() || 'unknown';
      // A test's own seeding and inspecting client marks its requests: no faults, not recorded, not counted.
      const bypass = request.headers[BYPASS_HEADER] === 'faults';
      const decision: Decision = bypass
        ? { latencyMs: 0 }
        : injector.decide(isRegistry ? `${request.method} ${path}` : target, body, request.headers, arrivedAt, operationKey);
      const operationStats = bypass ? emptyStats() : statsOf(operationKey);
      if (operationStats.inFlight++ === 0) operationStats.busySince = arrivedAt;
      operationStats.inFlightPeak = Math.max(operationStats.inFlightPeak, operationStats.inFlight);
      operationStats.calls++;
      const done = () => {
        if (--operationStats.inFlight === 0) operationStats.busyMs += performance.now() - operationStats.busySince;
      };

      const act = () => {
        const hook = bypass ? -1 : hooks.findIndex((h) => h.operation === operationKey);
        if (hook >= 0) hooks.splice(hook, 1)[0].action();
        const retryAfter: Record<string, string> = injector.retryAfterSeconds === null ? {} : { 'retry-after': String(injector.retryAfterSeconds) };
        switch (decision.fault) {
          case 'dropBefore':
            done();
            request.socket.destroy();
            return;
          case 'hang':
            // Never applied, never answered: the socket stays open until the client gives up or the emulator closes.
            return;
          case 'throttle':
          case 'tooManyRequests':
            done();
            if (isRegistry)
              send(response, {
                status: 429,
                headers: { ...retryAfter, 'content-type': 'application/json' },
                body: Buffer.from(JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'Rate exceeded' }] })),
              });
            else if (decision.fault === 'throttle') sendJson(response, new ApiError('ThrottlingException', 'Rate exceeded'));
            else sendJson(response, new ApiError('ThrottlingException', 'Rate exceeded', 429), retryAfter);
            return;
          case 'serverError':
            done();
            if (isRegistry)
              send(response, {
                status: 503,
                headers: { 'content-type': 'application/json' },
                body: Buffer.from(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'service unavailable (injected)' }] })),
              });
            else sendJson(response, new ApiError('ServerException', 'We encountered an internal error (injected)', 500));
            return;
          default:
        }
        let answer: RegistryAnswer;
        const denied = isRegistry || bypass ? undefined : deniedByIam(emulator, store, operationKey, body);
        if (denied !== undefined) {
          answer = jsonAnswer(new ApiError('AccessDeniedException', denied, 400));
        } else if (decision.forced === 'accessDenied') {
          answer = isRegistry
            ? {
                status: 403,
                headers: { 'content-type': 'application/json' },
                body: Buffer.from(JSON.stringify({ errors: [{ code: 'DENIED', message: 'access denied (injected)' }] })),
              }
            : jsonAnswer(new ApiError('AccessDeniedException', `User is not authorized to perform: ecr-public:${operationKey} (injected)`, 400));
        } else if (isRegistry) {
          answer = registry.handle(request, endpoint);
        } else {
          try {
            answer = jsonAnswer(handleJsonRequest(store, target, request.headers.authorization, body, credentials));
          } catch (error) {
            answer = jsonAnswer(error instanceof ApiError ? error : new ApiError('ServerException', `emulator error: ${String(error)}`, 500));
          }
        }
        done();
        if (decision.fault === 'dropAfter') {
          // Applied; the answer is lost on the way back.
          request.socket.destroy();
          return;
        }
        send(
          response,
          request.method === 'HEAD'
            ? { ...answer, headers: { ...answer.headers, 'content-length': String(answer.body.length) }, body: Buffer.alloc(0) }
            : answer,
        );
      };
      if (decision.latencyMs > 0) setTimeout(act, decision.latencyMs);
      else act();
    });
  };
  const listen = async (server: http.Server, port: number): Promise<number> => {
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return (server.address() as net.AddressInfo).port;
  };
  const server = http.createServer(onRequest);
  // A second loopback port: another origin, where redirected manifest reads are served (registryBehaviour.redirectManifests).
  const redirectServer = http.createServer(onRequest);
  const port = await listen(server, options.port ?? 0);
  endpoint = `http://127.0.0.1:${port}`;
  registry.redirectTarget = `http://127.0.0.1:${await listen(redirectServer, 0)}`;

  const emulator: EcrPublicEmulator = {
    endpoint,
    registryEndpoint: endpoint,
    port,
    store,
    faults,
    get referencedImageDeletion() {
      return store.referencedImageDeletion;
    },
    set referencedImageDeletion(value: ReferencedImageDeletion) {
      store.referencedImageDeletion = value;
    },
    pullQuota,
    pulls: () => pullQuota.pulls(),
    issuedSecrets: () => credentials.secrets(),
    listing: store.listing,
    registryBehaviour: registry.behaviour,
    deletionFailures: store.deletionFailures,
    redirectEndpoint: registry.redirectTarget,
    beforeNext: (operation, action) => void hooks.push({ operation, action }),
    stats: statsOf,
    restoreBehaviours() {
      store.referencedImageDeletion = options.referencedImageDeletion ?? 'refuse';
      Object.assign(store.listing, DEFAULT_LISTING);
      Object.assign(registry.behaviour, DEFAULT_REGISTRY_BEHAVIOUR);
      store.deletionFailures.clear();
    },
    resetStats() {
      stats.clear();
      faults.api.reset();
      faults.registry.reset();
      pullQuota.resetCounts();
    },
    requests: () => [...faults.api.requests, ...faults.registry.requests].sort((a, b) => a.arrivedAt - b.arrivedAt),
    createRepository(name) {
      if (!store.repositories.has(name)) store.createRepository(name);
    },
    seed: (repositoryName, images) => seedInto(store, repositoryName, images),
    images: (repositoryName) => summarize(store, repositoryName),
    snapshot: (repositoryName) => new Map(summarize(store, repositoryName).map((image) => [image.digest, [...image.tags].sort()])),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all([server, redirectServer].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
  return emulator;
}

function jsonAnswer(result: unknown): RegistryAnswer {
  const requestId = `emulator-${Math.random().toString(16).slice(2, 14)}`;
  if (result instanceof ApiError) {
    return {
      status: result.status,
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId, 'x-amzn-errortype': result.code },
      body: Buffer.from(JSON.stringify({ __type: result.code, message: result.message })),
    };
  }
  return {
    status: 200,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId },
    body: Buffer.from(JSON.stringify(result)),
  };
}

function sendJson(response: http.ServerResponse, error: ApiError, headers: Record<string, string> = {}): void {
  const answer = jsonAnswer(error);
  send(response, { ...answer, headers: { ...answer.headers, ...headers } });
}

function send(response: http.ServerResponse, answer: RegistryAnswer): void {
  if (response.destroyed) return;
  response.writeHead(answer.status, { 'content-length': String(answer.body.length), ...answer.headers });
  response.end(answer.body);
}

/**
 * The control API of a child-process emulator (POST /__emulator/<action>, JSON):
 * `configure` {referencedImageDeletion?, pullRates?: PullRates | 'documented' | null, listing?: Partial<ListingBehaviour>,
 * registryBehaviour?: Partial<RegistryBehaviour>, deletionFailures?: {digest: code}, api?, registry?: {rates?, seed?, forced?,
 * delayMs?, retryAfterSeconds?}}, `seed` {repositoryName, images}, `images` {repositoryName}, `requests`, `pulls`, `reset`.
 */
function answerControl(emulator: EcrPublicEmulator, action: string, text: string, response: http.ServerResponse): void {
  const reply = (status: number, value: unknown) =>
    send(response, { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(value ?? null)) });
  try {
    const input = text ? JSON.parse(text) : {};
    switch (action) {
      case 'configure': {
        if (input.referencedImageDeletion) emulator.referencedImageDeletion = input.referencedImageDeletion;
        if (input.pullRates !== undefined) emulator.pullQuota.configure(input.pullRates ?? undefined);
        if (input.listing) Object.assign(emulator.listing, input.listing);
        if (input.registryBehaviour) Object.assign(emulator.registryBehaviour, input.registryBehaviour);
        for (const [digest, code] of Object.entries(input.deletionFailures ?? {})) emulator.deletionFailures.set(digest, code as FailureCode);
        for (const api of ['api', 'registry'] as const) {
          const settings = input[api];
          if (!settings) continue;
          const injector = emulator.faults[api];
          if (settings.rates) injector.configure(settings.rates, settings.seed, settings);
          if (settings.forced) injector.forced.push(...settings.forced);
          if (settings.delayMs) injector.delayMs = { ...settings.delayMs };
          if (settings.retryAfterSeconds !== undefined) injector.retryAfterSeconds = settings.retryAfterSeconds;
        }
        return reply(200, {});
      }
      case 'seed':
        return reply(200, { digests: emulator.seed(input.repositoryName, input.images) });
      case 'images':
        return reply(200, { images: emulator.images(input.repositoryName) });
      case 'requests':
        return reply(200, { requests: emulator.requests().map(({ headers: _headers, ...rest }) => rest) });
      case 'pulls':
        return reply(200, { pulls: emulator.pulls() });
      case 'reset':
        emulator.resetStats();
        return reply(200, {});
      default:
        return reply(404, { message: `unknown control action '${action}'` });
    }
  } catch (error) {
    return reply(400, { message: error instanceof Error ? error.message : String(error) });
  }
}

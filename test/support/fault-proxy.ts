/**
 * A fault-injecting HTTP proxy for tests: it sits between the handler's SDK
 * client and the local ECR Public backend (moto), forwards each request, and
 * at configurable rates, drawn from a seeded PRNG so that a run can be
 * replayed, answers instead the way a troubled service or network would:
 *
 * - `throttle`: HTTP 400 ThrottlingException, as ECR Public sends it;
 * - `serverError`: HTTP 500 ServerException;
 * - `dropBefore`: the connection is closed before the request reaches the backend;
 * - `dropAfter`: the request is applied by the backend, then the connection is
 *   closed before the answer is sent (the client cannot tell it was applied);
 * - `hang`: the request is never forwarded and never answered;
 * - `latency`: the request is held for a while, then handled normally
 *   (independent of the others: a delayed request may still get a fault).
 *
 * `forceNext` queues answers for the next requests whatever the rates, for
 * tests that need one particular fault at one particular moment.
 */
import * as http from 'node:http';
import * as net from 'node:net';

export type FaultKind = 'throttle' | 'serverError' | 'dropBefore' | 'dropAfter' | 'hang' | 'latency';
export const FAULT_KINDS: readonly FaultKind[] = ['throttle', 'serverError', 'dropBefore', 'dropAfter', 'hang', 'latency'];

/**
 * A forced answer: a fault that replaces the answer, a non-retryable error
 * (IAM said no), or `pass` (a plain forward, to aim a fault at a later request).
 */
export type ForcedAnswer = Exclude<FaultKind, 'latency'> | 'accessDenied' | 'pass';

/** Probability of each fault per request, 0 to 1. The answer-replacing ones must sum to at most 1. */
export type FaultRates = Partial<Record<FaultKind, number>>;

export interface FaultProxyOptions {
  /** Base URL of the backend, e.g. http://127.0.0.1:5000. */
  readonly target: string;
  readonly seed?: number;
  readonly rates?: FaultRates;
  /** Extra delay of a latency spike, drawn uniformly in [min, max] ms. */
  readonly latencyMs?: readonly [number, number];
  /**
   * Most answer-replacing faults drawn for one SDK call (its attempts share the
   * amz-sdk-invocation-id header). Below the client's attempts, it lets a test
   * inject faults at high rates and still expect the SDK to absorb them all.
   * @default - no limit
   */
  readonly maxFaultsPerCall?: number;
}

/** One request that reached the proxy. */
export interface ProxiedRequest {
  /** The operation, from the X-Amz-Target header (e.g. SpencerFrontendService.BatchDeleteImage). */
  readonly operation: string;
  readonly body: string;
  /** What the proxy did instead of (or besides, for latency and dropAfter) a plain forward. */
  readonly faults: FaultKind[];
  /** The forced answer used, if any. */
  readonly forced?: ForcedAnswer;
}

/** mulberry32: a small, fast, seedable PRNG, good enough to pick faults. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REPLACING: readonly Exclude<FaultKind, 'latency'>[] = ['throttle', 'serverError', 'dropBefore', 'dropAfter', 'hang'];

function jsonError(response: http.ServerResponse, status: number, type: string, message: string): void {
  const body = JSON.stringify({ __type: type, message });
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(body),
    'x-amzn-errortype': type,
    'x-amzn-requestid': `fault-${Math.random().toString(16).slice(2)}`,
  });
  response.end(body);
}

export class FaultProxy {
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** Faults injected so far, by kind. */
  readonly injected: Record<FaultKind, number> = { throttle: 0, serverError: 0, dropBefore: 0, dropAfter: 0, hang: 0, latency: 0 };
  /** Every request received, in arrival order. */
  readonly requests: ProxiedRequest[] = [];
  /** Answers forced for the next requests, taken before the rates are consulted. */
  readonly forced: ForcedAnswer[] = [];
  /** Forced answers used so far (accessDenied included), by kind. */
  readonly forcedUsed: Partial<Record<ForcedAnswer, number>> = {};

  private rates: FaultRates;
  private random: () => number;
  private readonly target: URL;
  private readonly latencyMs: readonly [number, number];
  private readonly maxFaultsPerCall: number;
  private readonly faultsPerCall = new Map<string, number>();
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly agent = new http.Agent({ keepAlive: true });

  private constructor(options: FaultProxyOptions) {
    this.target = new URL(options.target);
    this.rates = { ...(options.rates ?? {}) };
    this.random = seededRandom(options.seed ?? 1);
    this.latencyMs = options.latencyMs ?? [200, 1500];
    this.maxFaultsPerCall = options.maxFaultsPerCall ?? Infinity;
    this.checkRates(this.rates);
    this.server = http.createServer((request, response) => this.handle(request, response));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** http://127.0.0.1:PORT, for AWS_ENDPOINT_URL_ECR_PUBLIC. */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /** Changes the rates, and restarts the PRNG when a seed is given. */
  configure(rates: FaultRates, seed?: number): void {
    this.checkRates(rates);
    this.rates = { ...rates };
    if (seed !== undefined) this.random = seededRandom(seed);
  }

  /** Total faults injected, all kinds. */
  get totalInjected(): number {
    return FAULT_KINDS.reduce((sum, kind) => sum + this.injected[kind], 0);
  }

  /** Closes the proxy, hung requests included. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.agent.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private checkRates(rates: FaultRates): void {
    const replacing = REPLACING.reduce((sum, kind) => sum + (rates[kind] ?? 0), 0);
    if (replacing > 1 || Object.values(rates).some((rate) => rate < 0 || rate > 1)) {
      throw new Error(`fault rates must be within 0..1 and the answer-replacing ones sum to at most 1, got ${JSON.stringify(rates)}`);
    }
  }

  /** Draws the faults for one request: latency independently, then at most one answer-replacing fault. */
  private draw(call: string): { latency: boolean; fault?: Exclude<FaultKind, 'latency'> } {
    const latency = this.random() < (this.rates.latency ?? 0);
    const roll = this.random();
    const faultsSoFar = this.faultsPerCall.get(call) ?? 0;
    if (faultsSoFar >= this.maxFaultsPerCall) return { latency };
    let threshold = 0;
    for (const kind of REPLACING) {
      threshold += this.rates[kind] ?? 0;
      if (roll < threshold) {
        this.faultsPerCall.set(call, faultsSoFar + 1);
        return { latency, fault: kind };
      }
    }
    return { latency };
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const forced = this.forced.shift();
      const call = String(request.headers['amz-sdk-invocation-id'] ?? '');
      const drawn =
        forced === undefined ? this.draw(call) : { latency: false, fault: forced === 'accessDenied' || forced === 'pass' ? undefined : forced };
      const faults: FaultKind[] = [];
      if (drawn.latency) faults.push('latency');
      if (drawn.fault) faults.push(drawn.fault);
      if (forced) this.forcedUsed[forced] = (this.forcedUsed[forced] ?? 0) + 1;
      for (const kind of faults) this.injected[kind]++;
      this.requests.push({ operation: String(request.headers['x-amz-target'] ?? ''), body: body.toString('utf8'), faults, forced });

      const act = () => {
        if (forced === 'accessDenied') {
          jsonError(response, 400, 'AccessDeniedException', 'User is not authorized to perform: ecr-public:BatchDeleteImage (injected)');
          return;
        }
        switch (drawn.fault) {
          case 'throttle':
            jsonError(response, 400, 'ThrottlingException', 'Rate exceeded');
            return;
          case 'serverError':
            jsonError(response, 500, 'ServerException', 'We encountered an internal error (injected)');
            return;
          case 'dropBefore':
            request.socket.destroy();
            return;
          case 'hang':
            // Never forwarded, never answered: the socket stays open until the client gives up.
            return;
          default:
            this.forward(request, body, response, drawn.fault === 'dropAfter');
        }
      };
      if (drawn.latency) {
        const [min, max] = this.latencyMs;
        setTimeout(act, min + Math.floor(this.random() * (max - min + 1)));
      } else {
        act();
      }
    });
  }

  private forward(request: http.IncomingMessage, body: Buffer, response: http.ServerResponse, dropAnswer: boolean): void {
    const upstream = http.request(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, host: this.target.host, 'content-length': body.length },
        agent: this.agent,
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          if (dropAnswer) {
            // The backend has applied the request; its answer is lost on the way back.
            request.socket.destroy();
            return;
          }
          const payload = Buffer.concat(chunks);
          const headers = { ...answer.headers, 'content-length': payload.length };
          delete headers['transfer-encoding'];
          response.writeHead(answer.statusCode ?? 502, headers);
          response.end(payload);
        });
      },
    );
    upstream.on('error', (error) => {
      if (!response.headersSent) jsonError(response, 502, 'ServerException', `proxy could not reach the backend: ${error.message}`);
    });
    upstream.end(body);
  }
}

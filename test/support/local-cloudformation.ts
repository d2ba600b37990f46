/**
 * Plays CloudFormation's side of a custom resource locally: builds the events
 * CloudFormation sends, runs the shipped handler bundle in its own Node
 * process (as Lambda would), and serves the ResponseURL the handler answers.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { ScheduledEvent } from '../../lib/contract';

export const BUNDLE = path.join(__dirname, '..', '..', 'assets', 'handler', 'index.js');
const RUNNER = path.join(__dirname, 'invoke-handler.cjs');
/** Stands for the presigned part of a real ResponseURL; it must never appear in a log. */
export const RESPONSE_URL_SECRET = 'X-Amz-Signature=local0secret0signature';

export interface CfnResponseBody {
  Status: 'SUCCESS' | 'FAILED';
  Reason: string;
  PhysicalResourceId: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  Data?: Record<string, string>;
}

export interface ReceivedResponse {
  readonly body: CfnResponseBody;
  /** Size in bytes, as CloudFormation would count it. */
  readonly bytes: number;
}

/** The ResponseURL side: one HTTP server, one pending promise per request ID. */
export class ResponseServer {
  static async start(): Promise<ResponseServer> {
    const server = new ResponseServer();
    await new Promise<void>((resolve) => server.server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  /** Answers to give, in order, before the next PUT is accepted (for fault tests). */
  readonly faults: Array<'500' | 'drop'> = [];
  /** PUT attempts received, accepted or not. */
  attempts = 0;
  private readonly server: http.Server;
  private readonly received = new Map<string, ReceivedResponse>();
  private readonly waiters = new Map<string, (response: ReceivedResponse) => void>();

  private constructor() {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.attempts++;
        const fault = this.faults.shift();
        if (fault === 'drop') {
          request.socket.destroy();
          return;
        }
        if (fault === '500') {
          response.writeHead(500).end();
          return;
        }
        const raw = Buffer.concat(chunks);
        const id = (request.url ?? '').split('?')[0].split('/').pop() ?? '';
        const received = { body: JSON.parse(raw.toString('utf8')) as CfnResponseBody, bytes: raw.length };
        this.received.set(id, received);
        this.waiters.get(id)?.(received);
        response.writeHead(200).end();
      });
    });
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  urlFor(requestId: string): string {
    return `http://127.0.0.1:${this.port}/responses/${requestId}?${RESPONSE_URL_SECRET}`;
  }

  /** The response to a request, waiting for it if it has not arrived. */
  responseTo(requestId: string): Promise<ReceivedResponse> {
    const received = this.received.get(requestId);
    if (received) return Promise.resolve(received);
    return new Promise((resolve) => this.waiters.set(requestId, resolve));
  }

  peek(requestId: string): ReceivedResponse | undefined {
    return this.received.get(requestId);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export interface InvocationResult {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The response CloudFormation received, if any (a scheduled event is never answered). */
  readonly response?: ReceivedResponse;
  readonly durationMs: number;
}

export interface InvokeOptions {
  /** Environment of the handler process, added to a minimal Lambda-like one. */
  readonly env?: Record<string, string>;
  /** What context.getRemainingTimeInMillis() starts at: the function's timeout. */
  readonly remainingMs?: number;
  /** The handler file to run. */
  readonly bundle?: string;
}

/** Runs the handler on one event in a fresh Node process and collects the response it sent. */
export function invokeHandler(
  server: ResponseServer,
  event: CloudFormationCustomResourceEvent | ScheduledEvent,
  options: InvokeOptions = {},
): Promise<InvocationResult> {
  const started = Date.now();
  const child = spawn(process.execPath, [RUNNER, options.bundle ?? BUNDLE], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'eu-central-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...options.env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.end(JSON.stringify({ event, remainingMs: options.remainingMs ?? 300_000 }));
  return new Promise((resolve) => {
    child.on('close', (exitCode) => {
      const response = 'RequestId' in event ? server.peek(event.RequestId) : undefined;
      resolve({ exitCode, stdout, stderr, response, durationMs: Date.now() - started });
    });
  });
}

const STACK_ID = 'arn:aws:cloudformation:eu-central-1:123456789012:stack/local-demo/4f5d2a10-0000-11ef-0000-0a0b0c0d0e0f';

/**
 * One custom resource through its lifecycle, the way CloudFormation drives it:
 * Create gets a physical ID back; Update and Delete send it again, Update with
 * the previous properties as OldResourceProperties.
 */
export class LocalCustomResource {
  physicalResourceId?: string;
  private properties?: Record<string, unknown>;

  constructor(
    private readonly server: ResponseServer,
    private readonly options: InvokeOptions & { readonly logicalResourceId?: string } = {},
  ) {}

  private event(requestType: 'Create' | 'Update' | 'Delete', properties: Record<string, unknown>): CloudFormationCustomResourceEvent {
    const requestId = randomUUID();
    const common = {
      ServiceToken: 'arn:aws:lambda:eu-central-1:123456789012:function:local-handler',
      ResponseURL: this.server.urlFor(requestId),
      StackId: STACK_ID,
      RequestId: requestId,
      LogicalResourceId: this.options.logicalResourceId ?? 'PrImagesDeletion',
      ResourceType: 'Custom::EcrPublicImageDeletion',
      ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-central-1:123456789012:function:local-handler', ...properties },
    };
    if (requestType === 'Create') return { ...common, RequestType: 'Create' };
    const physical = { PhysicalResourceId: this.physicalResourceId ?? '' };
    if (requestType === 'Delete') return { ...common, ...physical, RequestType: 'Delete' };
    return {
      ...common,
      ...physical,
      RequestType: 'Update',
      OldResourceProperties: { ServiceToken: common.ServiceToken, ...(this.properties ?? {}) },
    };
  }

  private async send(requestType: 'Create' | 'Update' | 'Delete', properties: Record<string, unknown>): Promise<InvocationResult> {
    const result = await invokeHandler(this.server, this.event(requestType, properties), this.options);
    if (result.response) {
      this.physicalResourceId = result.response.body.PhysicalResourceId;
      // After a failed Create, CloudFormation's rollback Delete still carries the Create's properties.
      if (requestType === 'Create' || (requestType === 'Update' && result.response.body.Status === 'SUCCESS')) {
        this.properties = properties;
      }
    }
    return result;
  }

  create(properties: Record<string, unknown>): Promise<InvocationResult> {
    return this.send('Create', properties);
  }

  update(properties: Record<string, unknown>): Promise<InvocationResult> {
    return this.send('Update', properties);
  }

  /** Deletes with the last properties CloudFormation holds for the resource. */
  delete(): Promise<InvocationResult> {
    return this.send('Delete', this.properties ?? {});
  }
}

/**
 * The local DynamoDB: one HTTP server on a loopback port that serves the JSON
 * API (POST with X-Amz-Target, for AWS_ENDPOINT_URL_DYNAMODB), with a recorder
 * of every request and forced answers for the next calls (a throttle, an
 * outage, a refusal, a dropped connection, keys or writes left unprocessed),
 * so that tests can make the reference cache unreadable or unwritable. Node
 * only: the demo and the tests need no Java or Docker. Cross-checked against
 * moto's DynamoDB (test/emulator/cross-check-dynamodb.test.ts).
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import { CallOptions, handleDynamoRequest } from './json-api';
import { DynamoError, JSON_VERSION, Operation, TARGET_PREFIX } from './model';
import { DynamoStore, DynamoStoreOptions } from './store';

/**
 * A forced answer for the next call of `operation` (any operation when absent):
 * `throttle` (ThrottlingException), `provisionedThroughput`
 * (ProvisionedThroughputExceededException), `serverError` (500
 * InternalServerError), `accessDenied` (IAM said no), `drop` (the connection
 * closes unanswered), or `unprocessed` (the last `count` keys or writes of a
 * batch come back in UnprocessedKeys / UnprocessedItems).
 */
export type DynamoFault =
  | { readonly operation?: Operation; readonly kind: 'throttle' | 'provisionedThroughput' | 'serverError' | 'accessDenied' | 'drop' }
  | { readonly operation?: Operation; readonly kind: 'unprocessed'; readonly count: number };

/** One request that reached the server. */
export interface DynamoRequest {
  /** The operation, e.g. `BatchGetItem`. */
  readonly operation: string;
  readonly body: Record<string, unknown>;
  /** The forced answer it got, if any. */
  readonly fault?: DynamoFault['kind'];
}

export interface LocalDynamoDbOptions extends DynamoStoreOptions {
  /** @default 0 (a free port) */
  readonly port?: number;
}

export interface LocalDynamoDb {
  /** http://127.0.0.1:PORT: AWS_ENDPOINT_URL_DYNAMODB. */
  readonly endpoint: string;
  /**
   * IAM, when a test plays it: asked for every request with the action
   * (`dynamodb:<Operation>`) and the ARN of each table it names; a string it
   * returns is the reason for an AccessDeniedException, and nothing is
   * applied. Undefined: every request is allowed.
   */
  authorize?: (action: string, resource: string) => string | undefined;
  readonly store: DynamoStore;
  /** Forced answers, taken in order by the calls they match. */
  readonly faults: DynamoFault[];
  /** Every request, in arrival order. */
  requests(operation?: string): DynamoRequest[];
  /** Forgets the recorded requests and the forced answers not yet taken. */
  reset(): void;
  close(): Promise<void>;
}

const CONTENT_TYPE = `application/x-amz-json-${JSON_VERSION}`;

/** Starts the local DynamoDB on a loopback port. */
export async function startLocalDynamoDb(options: LocalDynamoDbOptions = {}): Promise<LocalDynamoDb> {
  const store = new DynamoStore(options);
  const faults: DynamoFault[] = [];
  const recorded: DynamoRequest[] = [];
  const sockets = new Set<net.Socket>();

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const target = String(request.headers['x-amz-target'] ?? '');
      const operation = target.startsWith(`${TARGET_PREFIX}.`) ? target.slice(TARGET_PREFIX.length + 1) : target;
      const at = faults.findIndex((fault) => fault.operation === undefined || fault.operation === operation);
      const fault = at >= 0 ? faults.splice(at, 1)[0] : undefined;
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // Recorded empty; the handler answers SerializationException.
      }
      recorded.push({ operation, body, ...(fault ? { fault: fault.kind } : {}) });
      if (fault?.kind === 'drop') {
        request.socket.destroy();
        return;
      }
      const forcedError = fault ? errorOf(fault, operation, store) : undefined;
      if (forcedError) {
        sendError(response, forcedError);
        return;
      }
      const denied = deniedByIam(local.authorize, operation, body, store);
      if (denied !== undefined) {
        sendError(response, new DynamoError('AccessDeniedException', denied));
        return;
      }
      const callOptions: CallOptions = fault?.kind === 'unprocessed' ? { unprocessed: fault.count } : {};
      try {
        send(response, 200, handleDynamoRequest(store, target, request.headers.authorization, text, callOptions));
      } catch (error) {
        sendError(
          response,
          error instanceof DynamoError ? error : new DynamoError('InternalServerError', `local DynamoDB error: ${String(error)}`, 500),
        );
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  const local: LocalDynamoDb = {
    endpoint: `http://127.0.0.1:${port}`,
    store,
    faults,
    requests: (operation) => recorded.filter((r) => operation === undefined || r.operation === operation),
    reset() {
      recorded.length = 0;
      faults.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return local;
}

/**
 * IAM's answer for one request: the denial's message, or undefined. The
 * resources are the ARNs of the tables the request names (TableName, or the
 * keys of RequestItems for the batch operations).
 */
function deniedByIam(
  authorize: LocalDynamoDb['authorize'],
  operation: string,
  body: Record<string, unknown>,
  store: DynamoStore,
): string | undefined {
  if (!authorize) return undefined;
  const names =
    typeof body.TableName === 'string'
      ? [body.TableName]
      : body.RequestItems && typeof body.RequestItems === 'object'
        ? Object.keys(body.RequestItems)
        : ['*'];
  for (const name of names) {
    const resource = `arn:aws:dynamodb:${store.region}:${store.accountId}:table/${name}`;
    const reason = authorize(`dynamodb:${operation}`, resource);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

function errorOf(fault: DynamoFault, operation: string, store: DynamoStore): DynamoError | undefined {
  switch (fault.kind) {
    case 'throttle':
      return new DynamoError('ThrottlingException', 'Rate of requests exceeds the allowed throughput.');
    case 'provisionedThroughput':
      return new DynamoError(
        'ProvisionedThroughputExceededException',
        'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
      );
    case 'serverError':
      return new DynamoError('InternalServerError', 'Internal server error (injected)', 500);
    case 'accessDenied':
      return new DynamoError(
        'AccessDeniedException',
        `User: arn:aws:sts::${store.accountId}:assumed-role/handler/function is not authorized to perform: dynamodb:${operation} (injected)`,
      );
    default:
      return undefined;
  }
}

function send(response: http.ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  response.writeHead(status, {
    'content-type': CONTENT_TYPE,
    'content-length': String(body.length),
    'x-amzn-requestid': `local-${Math.random().toString(16).slice(2, 14)}`,
  });
  response.end(body);
}

function sendError(response: http.ServerResponse, error: DynamoError): void {
  send(response, error.status, { __type: error.type, message: error.message });
}

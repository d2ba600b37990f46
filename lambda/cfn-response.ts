/**
 * Respond: the PUT of the response body to CloudFormation's ResponseURL.
 *
 * The ResponseURL is a presigned S3 URL, a credential: it is never logged, and
 * errors raised here never contain it. Transient failures (connection errors,
 * 5xx, 429) are retried with backoff until the attempts or the time run out.
 */
import * as http from 'node:http';
import * as https from 'node:https';

export interface SendOptions {
  /** Attempts, first included. */
  readonly attempts?: number;
  /** Time allowed for one attempt. */
  readonly attemptTimeoutMs?: number;
  /** Delay before the second attempt; doubled for each next one. */
  readonly firstBackoffMs?: number;
  /** Epoch milliseconds after which no new attempt starts. */
  readonly deadline?: number;
}

export const DEFAULT_SEND_OPTIONS = { attempts: 5, attemptTimeoutMs: 3_000, firstBackoffMs: 250 } as const;

/** A response that could not be delivered. Its message names no URL. */
export class ResponseNotDeliveredError extends Error {
  constructor(attempts: number, lastProblem: string) {
    super(`could not deliver the response to CloudFormation after ${attempts} attempts: ${lastProblem}`);
    this.name = 'ResponseNotDeliveredError';
  }
}

function putOnce(url: URL, body: string, timeoutMs: number): Promise<number> {
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      url,
      {
        method: 'PUT',
        // CloudFormation's presigned URL is signed for an empty content type.
        headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', (error) => reject(new Error(`response stream failed: ${error.message}`)));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    // Node's socket errors carry the address, never the path or query.
    request.on('error', (error: NodeJS.ErrnoException) => reject(new Error(error.code ?? error.message)));
    request.end(body);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** PUTs the body to the ResponseURL, retrying transient failures. */
export async function sendResponse(responseUrl: string, body: string, options: SendOptions = {}): Promise<void> {
  const { attempts, attemptTimeoutMs, firstBackoffMs } = { ...DEFAULT_SEND_OPTIONS, ...options };
  const url = new URL(responseUrl);
  let lastProblem = 'no attempt made';
  let attempt = 0;
  while (attempt < attempts) {
    if (attempt > 0) {
      const backoff = firstBackoffMs * 2 ** (attempt - 1);
      if (options.deadline !== undefined && Date.now() + backoff + attemptTimeoutMs > options.deadline) break;
      await sleep(backoff);
    }
    attempt++;
    try {
      const status = await putOnce(url, body, attemptTimeoutMs);
      if (status >= 200 && status < 300) return;
      lastProblem = `HTTP ${status}`;
      // 4xx other than 429 will not improve with a retry (an expired or altered URL).
      if (status >= 400 && status < 500 && status !== 429) break;
    } catch (error) {
      lastProblem = (error as Error).message;
    }
  }
  throw new ResponseNotDeliveredError(attempt, lastProblem);
}

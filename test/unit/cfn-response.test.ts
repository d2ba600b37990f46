import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { ResponseNotDeliveredError, sendResponse } from '../../lambda/cfn-response';
import { RESPONSE_URL_SECRET, ResponseServer } from '../support/local-cloudformation';

const fast = { firstBackoffMs: 5, attemptTimeoutMs: 500 };

describe('sending the response to CloudFormation', () => {
  let server: ResponseServer;
  beforeEach(async () => {
    server = await ResponseServer.start();
  });
  afterEach(() => server.close());

  test('retries 500s and dropped connections until the answer arrives', async () => {
    server.faults.push('500', 'drop', '500');
    await sendResponse(server.urlFor('r1'), JSON.stringify({ Status: 'SUCCESS' }), fast);
    expect(server.attempts).toBe(4);
    expect((await server.responseTo('r1')).body).toEqual({ Status: 'SUCCESS' });
  });

  test('gives up after the attempts, with an error that does not contain the URL', async () => {
    server.faults.push('500', '500', '500');
    const error = await sendResponse(server.urlFor('r2'), '{}', { ...fast, attempts: 3 }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ResponseNotDeliveredError);
    expect((error as Error).message).toBe('could not deliver the response to CloudFormation after 3 attempts: HTTP 500');
    expect((error as Error).message).not.toContain(RESPONSE_URL_SECRET);
  });

  test('does not retry a 403 (an expired or altered presigned URL will not get better)', async () => {
    const forbidding = http.createServer((_req, res) => res.writeHead(403).end());
    await new Promise<void>((r) => forbidding.listen(0, '127.0.0.1', r));
    let hits = 0;
    forbidding.on('request', () => hits++);
    const url = `http://127.0.0.1:${(forbidding.address() as AddressInfo).port}/r?${RESPONSE_URL_SECRET}`;
    await expect(sendResponse(url, '{}', fast)).rejects.toThrow('after 1 attempts: HTTP 403');
    expect(hits).toBe(1);
    forbidding.close();
  });

  test('stops retrying when the next attempt would pass the deadline', async () => {
    server.faults.push('500', '500', '500', '500');
    const started = Date.now();
    await expect(
      sendResponse(server.urlFor('r3'), '{}', { attempts: 5, firstBackoffMs: 200, attemptTimeoutMs: 500, deadline: started + 800 }),
    ).rejects.toThrow('after 2 attempts'); // the third would start at 600 ms and could end at 1,100 ms
    expect(Date.now() - started).toBeLessThan(800);
  });

  test('a connection refused names no URL', async () => {
    const error = await sendResponse(`http://127.0.0.1:1/x?${RESPONSE_URL_SECRET}`, '{}', { ...fast, attempts: 2 }).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/after 2 attempts: ECONNREFUSED/);
    expect((error as Error).message).not.toContain(RESPONSE_URL_SECRET);
  });
});

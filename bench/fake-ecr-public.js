// A stand-in for the ECR Public API on a loopback port, for benchmarks only:
// it answers BatchDeleteImage after a fixed delay, reporting every declared
// image ID deleted, and records when each call arrived. It also accepts the
// custom resource's response PUT (the ResponseURL), so one server plays both
// AWS and CloudFormation.
'use strict';
const http = require('node:http');
const { performance } = require('node:perf_hooks');

/**
 * Starts the server. `delayMs` is the time each BatchDeleteImage call takes.
 * Returns { port, endpoint, calls, responses, inFlightPeak, close(), reset(), waitForCall() }.
 */
async function startFakeEcrPublic({ delayMs = 0 } = {}) {
  const state = {
    /** performance.now() at the arrival of each BatchDeleteImage call (all headers read). */
    calls: [],
    /** Bodies PUT to the ResponseURL. */
    responses: [],
    inFlight: 0,
    inFlightPeak: 0,
    waiters: [],
  };
  const server = http.createServer((request, response) => {
    const arrived = performance.now();
    const target = String(request.headers['x-amz-target'] ?? '');
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    if (request.method === 'POST' && target.endsWith('BatchDeleteImage')) {
      state.calls.push(arrived);
      for (const waiter of state.waiters.splice(0)) waiter(arrived);
      state.inFlight++;
      state.inFlightPeak = Math.max(state.inFlightPeak, state.inFlight);
      request.on('end', () => {
        let imageIds = [];
        try {
          imageIds = JSON.parse(Buffer.concat(chunks).toString('utf8')).imageIds ?? [];
        } catch {
          // An unreadable body still gets an answer; the benchmark checks the counts.
        }
        const body = JSON.stringify({ imageIds, failures: [] });
        setTimeout(() => {
          state.inFlight--;
          response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(body) });
          response.end(body);
        }, delayMs);
      });
      return;
    }
    request.on('end', () => {
      if (request.method === 'PUT') {
        state.responses.push(Buffer.concat(chunks).toString('utf8'));
        response.writeHead(200).end();
        return;
      }
      response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify({ __type: 'UnsupportedOperation', message: `not served here: ${target}` }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    responseUrl: (id) => `http://127.0.0.1:${port}/responses/${id}?X-Amz-Signature=bench`,
    get calls() {
      return state.calls;
    },
    get responses() {
      return state.responses;
    },
    get inFlightPeak() {
      return state.inFlightPeak;
    },
    reset() {
      state.calls.length = 0;
      state.responses.length = 0;
      state.inFlightPeak = 0;
    },
    /** Resolves with the arrival time of the next BatchDeleteImage call. */
    waitForCall() {
      return new Promise((resolve) => state.waiters.push(resolve));
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

module.exports = { startFakeEcrPublic };

// The floor of the cold-start benchmark: a handler that does nothing but send
// one plain HTTP POST (shaped like BatchDeleteImage) to the endpoint, with no
// SDK, no signing, no parsing. Run through the same runner as the real handlers,
// so what it measures is Node's start, the runner and one loopback request.
'use strict';
const http = require('node:http');

exports.handler = (event) =>
  new Promise((resolve, reject) => {
    const body = JSON.stringify({ repositoryName: event.ResourceProperties.RepositoryName, imageIds: [] });
    const request = http.request(process.env.AWS_ENDPOINT_URL_ECR_PUBLIC, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'SpencerFrontendService.BatchDeleteImage',
        'content-length': Buffer.byteLength(body),
      },
    });
    request.on('response', (response) => {
      response.resume();
      response.on('end', resolve);
    });
    request.on('error', reject);
    request.end(body);
  });

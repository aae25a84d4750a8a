// The ceiling for `npm run bench`: plain node:http answering the same /health JSON as the app.
// With SAME_HEADERS=1 it also sends the app's security headers and a request id made as the app
// makes it, written the cheapest way node:http allows (one flat array, no object per request), to
// show what sending those headers costs by itself.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { pinTickObjectShape } from '../dist/core/tick-shape.js';
import { healthAnswer } from './health-answer.mjs';

const securityHeaders =
  process.env.SAME_HEADERS === '1' ? Object.entries((await import('../dist/core/http/security-headers.js')).apiSecurityHeaders()).flat() : null;
const requestIdTag = randomBytes(6).toString('base64url');
let requestSequence = 0;

const server = http.createServer((request, response) => {
  if (request.url !== '/health') {
    response.writeHead(404).end();
    return;
  }
  const body = JSON.stringify(healthAnswer());
  const length = Buffer.byteLength(body);
  if (securityHeaders) {
    const requestId = `${requestIdTag}-${(++requestSequence).toString(36)}`;
    response.writeHead(200, [...securityHeaders, 'x-request-id', requestId, 'content-type', 'application/json; charset=utf-8', 'content-length', length]);
  } else {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': length });
  }
  response.end(body);
});
server.keepAliveTimeout = 72_000;
// The ceiling gets the same protection as the app (src/core/tick-shape.ts): without it, an idle
// full GC between its slices left it building nextTick's tick objects through a runtime call (14%
// of its samples in one run), and the ceiling measured low.
server.listen(Number(process.env.PORT ?? 9000), '127.0.0.1', pinTickObjectShape);
process.on('SIGTERM', () => server.close(() => process.exit(0)));

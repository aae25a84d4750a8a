// The ceiling for `npm run bench`: plain node:http answering the same /health JSON as the app.
// With SAME_HEADERS=1 it also sends the app's security headers and a request id, to show what those cost.
import { randomUUID } from 'node:crypto';
import http from 'node:http';

const extraHeaders = process.env.SAME_HEADERS === '1' ? (await import('../dist/core/http/security-headers.js')).apiSecurityHeaders() : null;

const startedAt = Date.now();
const server = http.createServer((request, response) => {
  if (request.url !== '/health') {
    response.writeHead(404).end();
    return;
  }
  const body = JSON.stringify({
    status: 'ok',
    timestamp: new Date().toISOString(),
    uptime_s: Math.round((Date.now() - startedAt) / 1000),
    version: '0.1.0',
    modules: ['freelance', 'investigations', 'clinic', 'chat'],
    checks: { database: 'ok', redis: 'disabled', llm: 'disabled' },
  });
  const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) };
  response.writeHead(200, extraHeaders ? { ...extraHeaders, 'x-request-id': randomUUID(), ...headers } : headers);
  response.end(body);
});
server.keepAliveTimeout = 72_000;
server.listen(Number(process.env.PORT ?? 9000), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));

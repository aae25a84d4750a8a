// A reference for `npm run bench`: plain Fastify answering the same /health JSON as the app, through
// the same kind of route (a response schema, so fast-json-stringify), with no plugins and no logger.
// It shows what the framework alone costs against bare node:http on the day's machine, so the app's
// figure can be read as framework cost plus our own. With SAME_HEADERS=1 one onRequest hook also
// sends the app's security headers and a request id made as the app makes it: the cheapest a Fastify
// server answering under the app's header policy can be, so what is left is the app's own code.
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { pinTickObjectShape } from '../dist/core/tick-shape.js';
import { healthAnswer } from './health-answer.mjs';

const checkStatus = { type: 'string', enum: ['ok', 'down', 'disabled'] };
const healthBody = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded'] },
    timestamp: { type: 'string' },
    uptime_s: { type: 'number' },
    version: { type: 'string' },
    modules: { type: 'array', items: { type: 'string' } },
    checks: { type: 'object', properties: { database: checkStatus, redis: checkStatus, llm: checkStatus }, additionalProperties: checkStatus },
  },
};

const sameHeaders = process.env.SAME_HEADERS === '1';
const requestIdTag = randomBytes(6).toString('base64url');
let requestSequence = 0;
const genReqId = () => `${requestIdTag}-${(++requestSequence).toString(36)}`;
const app = Fastify({ keepAliveTimeout: 72_000, ...(sameHeaders ? { genReqId } : {}) });
if (sameHeaders) {
  const headers = (await import('../dist/core/http/security-headers.js')).apiSecurityHeaders();
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(headers);
    reply.header('x-request-id', request.id);
    done();
  });
}
app.get('/health', { schema: { response: { 200: healthBody } } }, (_request, reply) => {
  reply.send(healthAnswer());
});
await app.listen({ port: Number(process.env.PORT ?? 9000), host: '127.0.0.1' });
// Kept at its best as the app and the bare ceiling are (src/core/tick-shape.ts).
pinTickObjectShape();
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));

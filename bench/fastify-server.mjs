// A reference for `npm run bench`: plain Fastify answering the same /health JSON as the app, through
// the same kind of route (a response schema, so fast-json-stringify), with no hooks, no plugins, no
// logger and no extra headers. It shows what the framework alone costs against bare node:http on the
// day's machine, so the app's figure can be read as framework cost plus our own.
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

const app = Fastify({ keepAliveTimeout: 72_000 });
app.get('/health', { schema: { response: { 200: healthBody } } }, (_request, reply) => {
  reply.send(healthAnswer());
});
await app.listen({ port: Number(process.env.PORT ?? 9000), host: '127.0.0.1' });
// Kept at its best as the app and the bare ceiling are (src/core/tick-shape.ts).
pinTickObjectShape();
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));

// The /health answer the bench's reference servers send: the app's own shape and values, so that
// the bare and plain-Fastify figures compare the same work.
const startedAt = Date.now();

export const healthAnswer = () => ({
  status: 'ok',
  timestamp: new Date().toISOString(),
  uptime_s: Math.round((Date.now() - startedAt) / 1000),
  version: '0.1.0',
  modules: ['freelance', 'investigations', 'clinic', 'chat'],
  checks: { database: 'ok', redis: 'disabled', llm: 'disabled' },
});

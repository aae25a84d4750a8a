// The loader used by bench/run.ts where wrk is not installed; runs in its own process on its own core.
import autocannon from 'autocannon';
import type { LoadTarget } from './scenario.js';

const { url, connections, duration, target } = JSON.parse(process.argv[2]!) as { url: string; connections: number; duration: number; target: LoadTarget };
const bodies = target.bodies?.map((body) => JSON.stringify(body));
let nextBody = 0;
const result = await autocannon({
  url,
  connections,
  duration,
  method: target.method,
  headers: { ...(target.body !== undefined || bodies ? { 'content-type': 'application/json' } : {}), ...target.headers },
  body: target.body !== undefined ? JSON.stringify(target.body) : undefined,
  // One body per request, shared by all connections, for writes that cannot repeat.
  ...(bodies ? { requests: [{ setupRequest: (request) => ({ ...request, body: bodies[nextBody++ % bodies.length] }) }] } : {}),
});
process.stdout.write(
  JSON.stringify({
    requests_per_s: Math.round(result.requests.average),
    requests: result.requests.total,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    non_2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }),
);

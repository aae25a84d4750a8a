import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Records one answered request: its method, status and duration in seconds. */
export type RequestRecorder = (method: string, status: number, seconds: number) => void;

export interface Metrics {
  registry: Registry;
  http: HttpMetrics;
  /** The whole exposition: the registry's metrics, then the HTTP request metrics. */
  render(): Promise<string>;
}

/** Upper bounds (seconds) of http_request_duration_seconds. Most answers take well under a millisecond; the finer bounds keep their quantiles meaningful. */
const DURATION_BOUNDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  /** The label set, already in exposition form: `method="GET",route="/x",status="200"`. */
  labels: string;
  count: number;
  sum: number;
  /** Requests per bucket (not cumulative); the last slot is above every bound. */
  buckets: Float64Array;
}

const escapeLabel = (value: string): string => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * `http_requests_total` and `http_request_duration_seconds`, recorded without prom-client on the
 * request path. prom-client validates and hashes the label set on every `inc` and `observe`; with a
 * route's `request.routeOptions` read for the label, that measured ~15% of `/health`'s CPU. Here
 * each route gets its own recorder when it is registered, and a request costs two map lookups and
 * a few additions. The text format is the one prom-client writes, so scrapers see no difference.
 */
export class HttpMetrics {
  readonly #series: Series[] = [];

  /** A recorder for one route pattern (`/api/clients/:id`), made once when the route is registered. */
  recorder(route: string): RequestRecorder {
    const byMethod = new Map<string, Map<number, Series>>();
    return (method, status, seconds) => {
      let byStatus = byMethod.get(method);
      if (!byStatus) byMethod.set(method, (byStatus = new Map()));
      let series = byStatus.get(status);
      if (!series) {
        series = { labels: `method="${escapeLabel(method)}",route="${escapeLabel(route)}",status="${status}"`, count: 0, sum: 0, buckets: new Float64Array(DURATION_BOUNDS.length + 1) };
        byStatus.set(status, series);
        this.#series.push(series);
      }
      let bucket = 0;
      while (bucket < DURATION_BOUNDS.length && seconds > DURATION_BOUNDS[bucket]!) bucket++;
      series.buckets[bucket]!++;
      series.count++;
      series.sum += seconds;
    };
  }

  render(): string {
    const lines = ['# HELP http_requests_total HTTP requests by route and status', '# TYPE http_requests_total counter'];
    for (const series of this.#series) lines.push(`http_requests_total{${series.labels}} ${series.count}`);
    lines.push('# HELP http_request_duration_seconds HTTP request latency by route and status', '# TYPE http_request_duration_seconds histogram');
    for (const series of this.#series) {
      let cumulative = 0;
      DURATION_BOUNDS.forEach((bound, index) => {
        cumulative += series.buckets[index]!;
        lines.push(`http_request_duration_seconds_bucket{le="${bound}",${series.labels}} ${cumulative}`);
      });
      lines.push(`http_request_duration_seconds_bucket{le="+Inf",${series.labels}} ${series.count}`);
      lines.push(`http_request_duration_seconds_sum{${series.labels}} ${series.sum}`);
      lines.push(`http_request_duration_seconds_count{${series.labels}} ${series.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

/** One registry per app (not prom-client's global), so tests can build many apps in one process. */
export function createMetrics(poolStats: () => { total: number; idle: number; waiting: number }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  new Gauge({
    name: 'db_pool_connections',
    help: 'Database pool connections by state',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const stats = poolStats();
      this.set({ state: 'total' }, stats.total);
      this.set({ state: 'idle' }, stats.idle);
      this.set({ state: 'waiting' }, stats.waiting);
    },
  });
  const http = new HttpMetrics();
  return { registry, http, render: async () => (await registry.metrics()) + http.render() };
}

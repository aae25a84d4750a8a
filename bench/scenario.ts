/**
 * A bench scenario prepares data through the API of the server under test, then names the one
 * request the load generator repeats. Each file in bench/scenarios exports `scenarios` (and
 * optionally `beforeStart`); `npm run bench` runs them all, or those named on its command line.
 */

export interface LoadTarget {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /**
   * One body per request, for writes that cannot repeat (a visit per patient per day): the loader
   * sends each once, in order; the warm-up and the measured run use separate slices.
   */
  bodies?: unknown[];
}

export interface BenchUser {
  id: string;
  headers: { authorization: string };
}

export interface BenchClient {
  baseUrl: string;
  /** A JSON request to the server under test; throws on any non-2xx answer. */
  request<T = unknown>(method: LoadTarget['method'], path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
  /** Registers a fresh user. */
  newUser(): Promise<BenchUser>;
  /** The admin created at start-up from ADMIN_EMAIL/ADMIN_PASSWORD. */
  admin(): Promise<BenchUser>;
}

export interface Scenario {
  name: string;
  /** What the result table says this scenario measures (data size, auth, ...). */
  description: string;
  setup(client: BenchClient): Promise<LoadTarget>;
}

export interface BeforeStartContext {
  dataDir: string;
  databaseUrl: string | null;
}

export interface ScenarioFile {
  scenarios: Scenario[];
  /**
   * Runs before the server starts (e.g. seeding 100,000 rows straight into the database, or starting
   * a fake upstream); returns extra environment variables for the server, and a cleanup.
   */
  beforeStart?(context: BeforeStartContext): Promise<{ env?: Record<string, string>; cleanup?: () => Promise<void> }>;
}

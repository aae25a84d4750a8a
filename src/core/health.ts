export type CheckStatus = 'ok' | 'down' | 'disabled';
export type HealthCheck = () => Promise<CheckStatus>;

export interface HealthRegistry {
  /** Adds or replaces a named dependency check (`database`, `redis`, `llm`, ...). */
  register(name: string, check: HealthCheck): void;
  run(): Promise<Record<string, CheckStatus>>;
  /** The last round's results while they are fresh and complete, else undefined (then call `run`). */
  fresh(): Record<string, CheckStatus> | undefined;
}

const CHECK_TIMEOUT_MS = 2000;

async function runWithTimeout(check: HealthCheck): Promise<CheckStatus> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckStatus>((resolve) => {
    timer = setTimeout(() => resolve('down'), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check().catch((): CheckStatus => 'down'), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Results are reused for `cacheMs`, so a load balancer polling /health many times a second
 * costs one round of checks, and concurrent callers share one round in flight.
 */
export function createHealthRegistry(cacheMs: number): HealthRegistry {
  const checks = new Map<string, HealthCheck>();
  let last: { at: number; result: Promise<Record<string, CheckStatus>>; settled?: Record<string, CheckStatus> } | null = null;

  async function runAll(): Promise<Record<string, CheckStatus>> {
    const entries = await Promise.all([...checks].map(async ([name, check]) => [name, await runWithTimeout(check)] as const));
    return Object.fromEntries(entries);
  }

  return {
    register(name, check) {
      checks.set(name, check);
      last = null;
    },
    run() {
      const now = Date.now();
      if (!last || now - last.at >= cacheMs) {
        const round: NonNullable<typeof last> = { at: now, result: runAll() };
        round.result.then((checks) => (round.settled = checks));
        last = round;
      }
      return last.result;
    },
    fresh() {
      return last && Date.now() - last.at < cacheMs ? last.settled : undefined;
    },
  };
}

import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';

export type BusHandler = (message: unknown) => void;

/**
 * Publish/subscribe between the parts of one instance, or between instances through Redis:
 * live updates, cross-instance invalidation. Messages are JSON values; delivery is at most once.
 */
export interface Bus {
  /** Whether other processes (workers of this server, other instances) hear what is published here. */
  readonly spansProcesses: boolean;
  publish(channel: string, message: unknown): Promise<void>;
  /** Returns the function that unsubscribes this handler. */
  subscribe(channel: string, handler: BusHandler): () => void;
  close(): Promise<void>;
}

export function createMemoryBus(): Bus {
  const emitter = new EventEmitter();
  // Many live streams may listen to one channel; there is no leak to warn about.
  emitter.setMaxListeners(0);
  return {
    spansProcesses: false,
    async publish(channel, message) {
      emitter.emit(channel, message);
    },
    subscribe(channel, handler) {
      emitter.on(channel, handler);
      return () => emitter.off(channel, handler);
    },
    async close() {
      emitter.removeAllListeners();
    },
  };
}

/**
 * One subscriber connection per instance, subscribed to a channel while any local handler wants it.
 * If Redis cannot take a message, it is delivered locally so one instance keeps working alone.
 */
export function createRedisBus(publisher: Redis, prefix: string, log: FastifyBaseLogger): Bus {
  // Subscriptions wait out an outage and are renewed on reconnection: no command timeout here.
  const subscriber = publisher.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined });
  subscriber.on('error', () => {}); // reported once by the publisher connection
  const local = createMemoryBus();
  const counts = new Map<string, number>();
  const namespace = `${prefix}bus:`;

  subscriber.on('message', (fullChannel: string, payload: string) => {
    if (!fullChannel.startsWith(namespace)) return;
    let message: unknown;
    try {
      message = JSON.parse(payload);
    } catch {
      return;
    }
    void local.publish(fullChannel.slice(namespace.length), message);
  });

  return {
    spansProcesses: true,
    async publish(channel, message) {
      try {
        await publisher.publish(namespace + channel, JSON.stringify(message));
      } catch (error) {
        log.warn({ err: (error as Error).message, channel }, 'redis publish failed; delivering locally only');
        await local.publish(channel, message);
      }
    },
    subscribe(channel, handler) {
      const unsubscribeLocal = local.subscribe(channel, handler);
      const count = (counts.get(channel) ?? 0) + 1;
      counts.set(channel, count);
      if (count === 1) subscriber.subscribe(namespace + channel).catch(() => undefined);
      let active = true;
      return () => {
        if (!active) return;
        active = false;
        unsubscribeLocal();
        const remaining = (counts.get(channel) ?? 1) - 1;
        if (remaining === 0) {
          counts.delete(channel);
          subscriber.unsubscribe(namespace + channel).catch(() => undefined);
        } else {
          counts.set(channel, remaining);
        }
      };
    },
    async close() {
      await local.close();
      subscriber.disconnect();
    },
  };
}

/** A bus message on its way between the workers of one server, through the primary's IPC channels. */
interface Relayed {
  busRelay: true;
  channel: string;
  /** Serialised once by the publishing worker: every worker, its own included, delivers the same JSON value. */
  json: string;
}

/** Set by our primary on the workers whose messages it relays (a foreign cluster primary relays nothing). */
const RELAY_ENV = 'UB_BUS_RELAY';

/** Messages waiting in the primary for one worker's IPC channel before more are dropped for it. */
const MAX_PENDING_PER_WORKER = 1000;

/**
 * Delivery is at most once: a message the IPC channel cannot take (a worker or the primary going
 * away) is dropped. Without a callback, Node would report that failure as an 'error' event that no
 * one listens to, and the process would crash.
 */
const dropUndelivered = (): void => undefined;

const isRelayed = (value: unknown): value is Relayed =>
  typeof value === 'object' && value !== null && (value as Relayed).busRelay === true && typeof (value as Relayed).channel === 'string' && typeof (value as Relayed).json === 'string';

/** True in a worker forked by our primary without Redis (see `relayBusBetweenWorkers`). */
export const busRelayedByPrimary = (): boolean => cluster.isWorker && process.env[RELAY_ENV] === '1';

/**
 * The bus of a worker (WORKERS > 1) when there is no Redis: a message is delivered to this worker's
 * subscribers at once and sent to the primary, which passes it on to every other worker
 * (`relayBusBetweenWorkers`). Without it a live stream served by one worker never heard of changes
 * made through another.
 */
export function createWorkerBus(log: FastifyBaseLogger): Bus {
  const local = createMemoryBus();
  const deliver = (channel: string, json: string) =>
    local.publish(channel, JSON.parse(json)).catch((error: Error) => log.warn({ err: error.message, channel }, 'a bus subscriber failed'));
  const receive = (value: unknown) => {
    if (isRelayed(value)) void deliver(value.channel, value.json);
  };
  process.on('message', receive);
  return {
    spansProcesses: true,
    async publish(channel, message) {
      // Throws for what JSON cannot carry before anyone has received it.
      const json = JSON.stringify(message);
      await deliver(channel, json);
      if (process.connected) process.send!({ busRelay: true, channel, json } satisfies Relayed, undefined, undefined, dropUndelivered);
    },
    subscribe: (channel, handler) => local.subscribe(channel, handler),
    async close() {
      process.off('message', receive);
      await local.close();
    },
  };
}

/**
 * In the primary: passes each worker's bus messages on to every other worker (see `createWorkerBus`);
 * returns the environment the workers it relays for must be forked with. A worker that does not
 * read its channel (a blocked event loop) gets at most MAX_PENDING_PER_WORKER messages queued; later
 * ones are dropped for it rather than held in the primary's memory.
 */
export function relayBusBetweenWorkers(): Record<string, string> {
  const pending = new WeakMap<Worker, number>();
  cluster.on('message', (from, value: unknown) => {
    if (!isRelayed(value)) return;
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (!worker || worker === from || !worker.isConnected()) continue;
      const waiting = pending.get(worker) ?? 0;
      if (waiting >= MAX_PENDING_PER_WORKER) continue;
      pending.set(worker, waiting + 1);
      worker.send(value, undefined, () => pending.set(worker, (pending.get(worker) ?? 1) - 1));
    }
  });
  return { [RELAY_ENV]: '1' };
}

import cluster from 'node:cluster';
import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';

export type BusHandler = (message: unknown) => void;

/**
 * Publish/subscribe between the parts of one instance, or between instances through Redis:
 * live updates, cross-instance invalidation. Messages are JSON values; delivery is at most once.
 */
export interface Bus {
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
  message: unknown;
}

/**
 * Delivery is at most once: a message the IPC channel cannot take (a worker or the primary going
 * away) is dropped. Without a callback, Node would report that failure as an 'error' event that no
 * one listens to, and the process would crash.
 */
const dropUndelivered = (): void => undefined;

const isRelayed = (value: unknown): value is Relayed =>
  typeof value === 'object' && value !== null && (value as Relayed).busRelay === true && typeof (value as Relayed).channel === 'string';

/**
 * The bus of a worker (WORKERS > 1) when there is no Redis: a message is delivered to this worker's
 * subscribers at once and sent to the primary, which passes it on to every other worker
 * (`relayBusBetweenWorkers`). Without it a live stream served by one worker never heard of changes
 * made through another.
 */
export function createWorkerBus(): Bus {
  const local = createMemoryBus();
  const receive = (value: unknown) => {
    if (isRelayed(value)) void local.publish(value.channel, value.message);
  };
  process.on('message', receive);
  return {
    async publish(channel, message) {
      await local.publish(channel, message);
      if (process.connected) process.send!({ busRelay: true, channel, message } satisfies Relayed, undefined, undefined, dropUndelivered);
    },
    subscribe: (channel, handler) => local.subscribe(channel, handler),
    async close() {
      process.off('message', receive);
      await local.close();
    },
  };
}

/** In the primary: passes each worker's bus messages on to every other worker (see `createWorkerBus`). */
export function relayBusBetweenWorkers(): void {
  cluster.on('message', (from, value: unknown) => {
    if (!isRelayed(value)) return;
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker && worker !== from && worker.isConnected()) worker.send(value, undefined, dropUndelivered);
    }
  });
}

import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Gauge } from 'prom-client';
import { IdParams } from '../../../core/http/schemas.js';
import { findMembership, READ } from '../access.js';
import type { ModuleContext } from '../context.js';
import { channelOf, isBoardEvent, type BoardEvent } from '../events.js';

const tags = ['investigation events'];
/** For OpenAPI only: a stream is never serialised. */
const EventStream: object = { content: { 'text/event-stream': { schema: { type: 'string' } } } };

/** One Server-Sent Event; JSON never contains a raw newline, so `data` is always one line. */
export const formatEvent = (event: BoardEvent): string => `event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;

/** True when the event ends this user's stream: the board is gone, or the user was removed from it. */
export function endsStreamOf(event: BoardEvent, userId: string): boolean {
  if (event.type === 'investigation.deleted') return true;
  return event.type === 'member.removed' && (event.data as { id?: unknown } | null)?.id === userId;
}

export async function liveRoutes(fastify: FastifyInstance, { db, heartbeatMs }: ModuleContext): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  /** The close function of every open stream, so shutting down ends them instead of waiting on them. */
  const open = new Set<() => void>();

  new Gauge({
    name: 'investigation_event_streams',
    help: 'Open live event streams of investigations on this instance',
    registers: [app.metrics.registry],
    collect() {
      this.set(open.size);
    },
  });

  app.addHook('preClose', async () => {
    for (const close of [...open]) close();
  });

  app.get(
    '/api/investigations/:id/events',
    {
      config: READ,
      exposeHeadRoute: false, // a HEAD request would open a stream it can never read
      schema: {
        tags,
        summary: 'Live changes of the investigation as Server-Sent Events',
        description:
          'One event per change (`entity.created`, `entity.updated`, `entity.deleted`, `link.created`, `link.deleted`, `comment.created`, ' +
          '`member.joined`, `member.removed`, `presence`, and the `tag.*`, `comment.*`, `attachment.*`, `member.updated`, `investigation.*` ' +
          'events); `data` is the JSON of the object or `{id}`. Comment lines keep idle streams open. The stream of a removed member ends.',
        params: IdParams,
        response: { 200: EventStream },
      },
    },
    async (request, reply) => {
      const investigationId = request.params.id;
      const userId = request.user.id;
      const stream = new PassThrough();
      let closed = false;

      const write = (text: string): void => {
        if (!closed) stream.write(text);
      };
      const close = (): void => {
        if (closed) return;
        closed = true;
        unsubscribe();
        clearInterval(heartbeat);
        open.delete(close);
        stream.end();
      };

      const unsubscribe = app.bus.subscribe(channelOf(investigationId), (message) => {
        if (!isBoardEvent(message)) return;
        write(formatEvent(message));
        if (endsStreamOf(message, userId)) close();
      });
      const heartbeat = setInterval(() => {
        write(': heartbeat\n\n');
        // Events are delivered at most once: a missed member.removed must not keep a stream open.
        findMembership(db, investigationId, userId).then(
          (membership) => {
            if (!membership) close();
          },
          () => undefined, // database briefly unavailable: keep streaming, check again next beat
        );
      }, heartbeatMs);
      heartbeat.unref();
      // Destroyed by Fastify when the client goes away; closed after end() too.
      stream.on('close', close);
      open.add(close);

      write('retry: 3000\n: connected\n\n');
      return reply
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-cache, no-transform')
        .header('x-accel-buffering', 'no')
        .send(stream);
    },
  );
}

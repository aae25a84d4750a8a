import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';

export interface SseStream {
  /** `data: <json>\n\n` */
  send(data: unknown): void;
  /** A raw SSE line block (`data: [DONE]`, comments). */
  raw(text: string): void;
  end(): void;
  /** True once the client went away or the stream ended. */
  readonly closed: boolean;
}

/**
 * Starts a `text/event-stream` answer. Writes after the client left are dropped, so producers
 * need not care when the socket closed.
 */
export function openSse(reply: FastifyReply): SseStream {
  const body = new PassThrough();
  let closed = false;
  body.on('error', () => undefined);
  body.on('close', () => (closed = true));
  reply.raw.on('close', () => (closed = true));
  reply
    .code(200)
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache, no-transform')
    .header('x-accel-buffering', 'no');
  void reply.send(body);
  const write = (text: string) => {
    if (!closed) body.write(text);
  };
  return {
    send: (data) => write(`data: ${JSON.stringify(data)}\n\n`),
    raw: write,
    end() {
      if (!closed) body.end();
      closed = true;
    },
    get closed() {
      return closed;
    },
  };
}

/** Calls `listener` once the response has closed: at once when it already has (a client may leave during an await). */
export function onResponseClosed(reply: Pick<FastifyReply, 'raw'>, listener: () => void): void {
  if (reply.raw.destroyed) listener();
  else reply.raw.on('close', listener);
}

/**
 * Calls `onGone` when the client disconnects before its answer was completely sent (not when the
 * response ends normally), also when it already left, during an await before this was called.
 */
export function onClientGone(reply: Pick<FastifyReply, 'raw'>, onGone: () => void): void {
  onResponseClosed(reply, () => {
    if (!reply.raw.writableFinished) onGone();
  });
}

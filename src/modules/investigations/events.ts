import type { FastifyInstance } from 'fastify';

/**
 * Every change under an investigation is published on its own bus channel, so each live stream
 * listens to exactly one channel, and instances sharing Redis see each other's changes.
 */
export type EventType =
  | 'investigation.updated'
  | 'investigation.deleted'
  | 'entity.created'
  | 'entity.updated'
  | 'entity.deleted'
  | 'link.created'
  | 'link.deleted'
  | 'tag.created'
  | 'tag.updated'
  | 'tag.deleted'
  | 'comment.created'
  | 'comment.updated'
  | 'comment.deleted'
  | 'attachment.created'
  | 'attachment.deleted'
  | 'member.joined'
  | 'member.updated'
  | 'member.removed'
  | 'presence';

export interface BoardEvent {
  type: EventType;
  data: unknown;
}

export const channelOf = (investigationId: string): string => `investigation:${investigationId}`;

export function isBoardEvent(message: unknown): message is BoardEvent {
  return typeof message === 'object' && message !== null && typeof (message as { type?: unknown }).type === 'string' && 'data' in message;
}

/** Publishes after the change is committed; a lost event never fails the request that made the change. */
export function publish(app: FastifyInstance, investigationId: string, type: EventType, data: unknown): void {
  app.bus.publish(channelOf(investigationId), { type, data } satisfies BoardEvent).catch((error: Error) => {
    app.log.warn({ err: error.message, type }, 'investigation event not published');
  });
}

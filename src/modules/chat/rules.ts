import { createHash } from 'node:crypto';
import type { ChatMessage, GenerationOptions, UpstreamRequest } from './upstream.js';

/** The gateway's rules as plain functions (unit tested in test/modules/chat/rules.test.ts). */

export const MAX_MESSAGES = 200;
export const MAX_MESSAGE_CHARS = 100_000;
/** All message contents together, so a request stays well inside any model's context and our memory. */
export const MAX_TOTAL_CHARS = 200_000;
export const MAX_SYSTEM_PROMPT_CHARS = 20_000;

/**
 * The messages sent upstream: an explicit `system_prompt` goes first; otherwise `CHAT_SYSTEM_PROMPT`
 * goes first unless the conversation already brings its own system message.
 */
export function withSystemPrompt(messages: ChatMessage[], systemPrompt: string | undefined, defaultPrompt: string | null): { messages: ChatMessage[]; system: string | null } {
  const prompt = systemPrompt ?? (messages.some((message) => message.role === 'system') ? null : defaultPrompt);
  if (!prompt) return { messages, system: null };
  return { messages: [{ role: 'system', content: prompt }, ...messages], system: prompt };
}

export function totalChars(messages: ChatMessage[]): number {
  let total = 0;
  for (const message of messages) total += message.content.length;
  return total;
}

/**
 * SHA-256 over model, system prompt and messages (the contract's key); sampling options and the
 * JSON format join the key only when given, since they change the answer.
 */
export function cacheKey(request: UpstreamRequest, system: string | null): string {
  const parts: unknown[] = [request.model, system, request.messages.map((message) => [message.role, message.content])];
  const options = normaliseOptions(request.options);
  if (options || request.format) parts.push(options ?? null, request.format ?? null);
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

function normaliseOptions(options: GenerationOptions | undefined): [string, unknown][] | null {
  if (!options) return null;
  const entries = Object.entries(options).filter(([, value]) => value !== undefined);
  return entries.length > 0 ? entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : null;
}

/** Word-sized pieces whose concatenation is exactly `text` (whitespace stays with the word before it). */
export function wordChunks(text: string): string[] {
  if (text === '') return [];
  return text.split(/(?<=\S\s+)(?=\S)/);
}

export interface Queued {
  priority: number;
  seq: number;
}

/** Highest priority first, then first in, first out. */
export const runsBefore = (a: Queued, b: Queued): boolean => a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);

/** Index of the entry the next free worker takes, or -1 for an empty queue. */
export function nextIndex(queue: readonly Queued[]): number {
  let best = -1;
  for (let i = 0; i < queue.length; i++) if (best === -1 || runsBefore(queue[i]!, queue[best]!)) best = i;
  return best;
}

/** 1-based place of `entry` among the waiting ones. */
export function queuePosition(queue: readonly Queued[], entry: Queued): number {
  let ahead = 0;
  for (const other of queue) if (other !== entry && runsBefore(other, entry)) ahead++;
  return ahead + 1;
}

/**
 * Milliseconds until a job at `position` starts: every `workers` jobs ahead of it cost one average
 * generation (the running ones count as one round). Zero until a generation has been measured.
 */
export function estimatedWaitMs(position: number, workers: number, averageMs: number | null): number {
  if (position <= 0 || averageMs === null) return 0;
  return Math.round(averageMs * Math.ceil(position / workers));
}

/** A running average over the most recent generations. */
export class RecentAverage {
  private readonly samples: number[] = [];
  constructor(private readonly size = 20) {}
  add(value: number): void {
    this.samples.push(value);
    if (this.samples.length > this.size) this.samples.shift();
  }
  value(): number | null {
    if (this.samples.length === 0) return null;
    return this.samples.reduce((sum, sample) => sum + sample, 0) / this.samples.length;
  }
}

/** `hits / total` as a fraction with 4 decimals (0 when there was nothing). */
export const ratio = (part: number, total: number): number => (total > 0 ? Math.round((part / total) * 10_000) / 10_000 : 0);

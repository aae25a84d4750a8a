import { request as httpRequest } from 'node:http';

/** Reading server-sent events over real HTTP, for the chat tests. */

export interface SseResult {
  status: number;
  contentType: string;
  /** Each `data:` payload, JSON-parsed when it is JSON (`[DONE]` stays a string). */
  events: unknown[];
  raw: string;
}

export function parseEvents(raw: string): unknown[] {
  const events: unknown[] = [];
  for (const block of raw.split('\n\n')) {
    const data = block
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => line.slice(6))
      .join('\n');
    if (data === '') continue;
    try {
      events.push(JSON.parse(data));
    } catch {
      events.push(data);
    }
  }
  return events;
}

export async function postSse(url: string, body: unknown, headers: Record<string, string> = {}): Promise<SseResult> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const raw = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', events: parseEvents(raw), raw };
}

export async function getSse(url: string, headers: Record<string, string> = {}): Promise<SseResult> {
  const response = await fetch(url, { headers });
  const raw = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', events: parseEvents(raw), raw };
}

/**
 * A POST over a plain node:http connection (no keep-alive pool, so nothing lingers after the hang-up)
 * that the test can abandon at any time, like a client closing its tab.
 */
export function openRequest(url: string, body: unknown, headers: Record<string, string> = {}): { firstBytes: Promise<string>; leave(): void } {
  const request = httpRequest(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } });
  const firstBytes = new Promise<string>((resolve, reject) => {
    request.on('response', (response) => response.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8'))));
    request.on('error', reject);
  });
  firstBytes.catch(() => undefined);
  request.end(JSON.stringify(body));
  return { firstBytes, leave: () => request.destroy() };
}

/** A GET over a plain node:http connection: resolves once the headers arrived; `text()` reads the rest. */
export function openStream(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text(): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'GET', agent: false, headers }, (response) => {
      const parts: Buffer[] = [];
      const ended = new Promise<string>((done, fail) => {
        response.on('data', (chunk: Buffer) => parts.push(chunk));
        response.on('end', () => done(Buffer.concat(parts).toString('utf8')));
        response.on('error', fail);
      });
      resolve({ status: response.statusCode ?? 0, text: () => ended });
    });
    request.on('error', reject);
    request.end();
  });
}

/** Opens a stream, waits for its first bytes, then hangs up; returns what arrived. */
export async function postAndLeave(url: string, body: unknown, headers: Record<string, string> = {}): Promise<string> {
  const open = openRequest(url, body, headers);
  const first = await open.firstBytes;
  open.leave();
  return first;
}

/** The concatenated `content` of chat SSE events. */
export function contentOf(events: unknown[]): string {
  return events.map((event) => (typeof event === 'object' && event !== null && typeof (event as { content?: unknown }).content === 'string' ? (event as { content: string }).content : '')).join('');
}

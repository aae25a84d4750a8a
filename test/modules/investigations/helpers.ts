import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { call, registerUser, startTestApp, type TestApp, type TestUser } from '../../helpers/app.js';
import { createInvestigationsModule, type InvestigationsOptions } from '../../../src/modules/investigations/index.js';

/** A test app with only this module mounted, and a global rate limit no test run can reach. */
export function startInvestigationsApp(env: Record<string, string> = {}, options: InvestigationsOptions = {}): Promise<TestApp> {
  return startTestApp({ RATE_LIMIT_MAX: '1000000', ...env }, { modules: [createInvestigationsModule(options)] });
}

export type Role = 'owner' | 'admin' | 'member' | 'viewer';

export interface Board {
  id: string;
  code: string;
  users: Record<Role, TestUser>;
}

export async function createInvestigation(app: FastifyInstance, owner: TestUser, title = 'Case'): Promise<{ id: string; code: string }> {
  const { status, body } = await call(app, { method: 'POST', url: '/api/investigations', headers: owner.headers, payload: { title } });
  if (status !== 201) throw new Error(`create investigation: ${status} ${JSON.stringify(body)}`);
  return body;
}

export async function join(app: FastifyInstance, user: TestUser, code: string): Promise<void> {
  const { status, body } = await call(app, { method: 'POST', url: '/api/investigations/join', headers: user.headers, payload: { code } });
  if (status !== 200) throw new Error(`join: ${status} ${JSON.stringify(body)}`);
}

export async function setRole(app: FastifyInstance, board: { id: string }, owner: TestUser, user: TestUser, role: Exclude<Role, 'owner'>): Promise<void> {
  const { status, body } = await call(app, { method: 'PUT', url: `/api/investigations/${board.id}/members/${user.user.id}`, headers: owner.headers, payload: { role } });
  if (status !== 200) throw new Error(`set role: ${status} ${JSON.stringify(body)}`);
}

/** An investigation with one user of each role. */
export async function createBoard(app: FastifyInstance, title = 'Board'): Promise<Board> {
  const [owner, admin, member, viewer] = [await registerUser(app), await registerUser(app), await registerUser(app), await registerUser(app)];
  const { id, code } = await createInvestigation(app, owner, title);
  for (const user of [admin, member, viewer]) await join(app, user, code);
  await setRole(app, { id }, owner, admin, 'admin');
  await setRole(app, { id }, owner, viewer, 'viewer');
  return { id, code, users: { owner, admin, member, viewer } };
}

export async function createEntity(app: FastifyInstance, boardId: string, user: TestUser, fields: Record<string, unknown> = {}): Promise<string> {
  const { status, body } = await call(app, {
    method: 'POST',
    url: `/api/investigations/${boardId}/entities`,
    headers: user.headers,
    payload: { entity_type: 'person', title: 'Someone', ...fields },
  });
  if (status !== 201) throw new Error(`create entity: ${status} ${JSON.stringify(body)}`);
  return body.id;
}

/** A multipart/form-data body with one file part. */
export function multipart(field: string, filename: string, content: Buffer, type = 'application/octet-stream'): { payload: Buffer; headers: Record<string, string> } {
  return multipartParts([{ field, filename, content, type }]);
}

/** A multipart/form-data body with these parts in order: a part with a `filename` is a file, one without a form field. */
export function multipartParts(parts: Array<{ field: string; filename?: string; content: Buffer | string; type?: string }>): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----test${randomBytes(8).toString('hex')}`;
  const chunks = parts.flatMap(({ field, filename, content, type = 'application/octet-stream' }) => [
    Buffer.from(
      filename === undefined
        ? `--${boundary}\r\nContent-Disposition: form-data; name="${field}"\r\n\r\n`
        : `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`,
    ),
    Buffer.from(content),
    Buffer.from('\r\n'),
  ]);
  return { payload: Buffer.concat([...chunks, Buffer.from(`--${boundary}--\r\n`)]), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

export const PNG_BYTES = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52]),
  randomBytes(200),
]);

export interface SseEvent {
  event: string;
  data: string;
}

/**
 * A live event stream read over a real socket: collects events and comment lines, and lets a test
 * wait for the next event matching a condition (generous time limit; no timing assertions).
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  comments = 0;
  ended = false;
  status = 0;
  private buffer = '';
  private waiters: Array<() => void> = [];
  private readonly controller = new AbortController();
  private constructor() {}

  static async connect(baseUrl: string, path: string, user: TestUser): Promise<SseClient> {
    const client = new SseClient();
    const response = await fetch(baseUrl + path, { headers: user.headers, signal: client.controller.signal });
    client.status = response.status;
    if (!response.body || response.status !== 200) {
      client.ended = true;
      return client;
    }
    void client.pump(response.body);
    await client.waitFor(() => client.comments > 0, 'the connected comment'); // subscribed by now
    return client;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body) {
        this.buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = this.buffer.indexOf('\n\n')) >= 0) {
          const block = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          this.parse(block);
        }
        this.notify();
      }
    } catch {
      // aborted by close()
    }
    this.ended = true;
    this.notify();
  }

  private parse(block: string): void {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments++;
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) this.events.push({ event, data: data.join('\n') });
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  async waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events.map((e) => e.event))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The next event of this type (after `from` events), parsed. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- event data is whatever JSON the server sent
  async next(type: string, matches: (data: any) => boolean = () => true, from = 0): Promise<any> {
    let found: SseEvent | undefined;
    await this.waitFor(() => {
      found = this.events.slice(from).find((event) => event.event === type && matches(JSON.parse(event.data)));
      return found !== undefined;
    }, `event ${type}`);
    return JSON.parse(found!.data);
  }

  close(): void {
    this.controller.abort();
  }
}

/** Polls until `check` holds (for effects that happen after a response, such as a closed subscription). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { call, registerUser, type TestApp } from '../../helpers/app.js';
import { createBoard, createEntity, eventually, join, SseClient, startInvestigationsApp, type Board } from './helpers.js';

const HEARTBEAT_MS = 150;
let t: TestApp;
let url: string;
let board: Board;
const clients: SseClient[] = [];

before(async () => {
  t = await startInvestigationsApp({}, { heartbeatMs: HEARTBEAT_MS });
  url = await t.listen();
  board = await createBoard(t.app);
});
after(async () => {
  for (const client of clients) client.close();
  redis?.disconnect();
  await t.close();
});

const base = () => `/api/investigations/${board.id}`;

let redis: Redis | null = null;

/**
 * Opens a stream and, with Redis, waits until the instance's Redis subscription to the board's
 * channel is active: subscribing in Redis completes after the stream opens, and an event published
 * before then would (correctly, at most once) not be delivered.
 */
async function connect(app: { url: string }, boardId: string, user: Board['users']['owner']): Promise<SseClient> {
  const client = await SseClient.connect(app.url, `/api/investigations/${boardId}/events`, user);
  clients.push(client);
  if (process.env.REDIS_URL && client.status === 200) {
    redis ??= new Redis(process.env.REDIS_URL);
    const channel = `${t.config.redisPrefix}bus:investigation:${boardId}`;
    await eventually(async () => Number(((await redis!.pubsub('NUMSUB', channel)) as [string, number])[1]) >= 1, 'the Redis subscription');
  }
  return client;
}

async function openStreams(app: TestApp): Promise<number> {
  const metric = await app.app.metrics.registry.getSingleMetric('investigation_event_streams')!.get();
  return metric.values[0]?.value ?? 0;
}

describe('live events', () => {
  test('two members see each other\u2019s changes as they happen', async () => {
    const owner = await connect({ url }, board.id, board.users.owner);
    const viewer = await connect({ url }, board.id, board.users.viewer);
    assert.equal(owner.status, 200);

    const id = await createEntity(t.app, board.id, board.users.member, { title: 'Live one', tags: ['hot'] });
    for (const client of [owner, viewer]) {
      const created = await client.next('entity.created', (data) => data.id === id);
      assert.equal(created.title, 'Live one');
      assert.deepEqual(created.tags.map((tag: { name: string }) => tag.name), ['hot']);
      assert.equal(created.comments_count, 0);
    }

    await call(t.app, { method: 'PUT', url: `${base()}/entities/${id}`, headers: board.users.member.headers, payload: { title: 'Renamed live' } });
    assert.equal((await viewer.next('entity.updated', (data) => data.id === id)).title, 'Renamed live');

    const other = await createEntity(t.app, board.id, board.users.member);
    const link = await call(t.app, { method: 'POST', url: `${base()}/links`, headers: board.users.member.headers, payload: { from_entity_id: id, to_entity_id: other, title: 'met' } });
    const linked = await viewer.next('link.created', (data) => data.id === link.body.id);
    assert.deepEqual(linked.from_entity, { id, title: 'Renamed live', type: 'person' });

    const comment = await call(t.app, { method: 'POST', url: `${base()}/entities/${id}/comments`, headers: board.users.admin.headers, payload: { content: 'Look here' } });
    const commented = await owner.next('comment.created', (data) => data.id === comment.body.id);
    assert.equal(commented.content, 'Look here');
    assert.equal(commented.entity_id, id);
    assert.equal(commented.author.id, board.users.admin.user.id);

    await call(t.app, { method: 'DELETE', url: `${base()}/links/${link.body.id}`, headers: board.users.member.headers });
    assert.deepEqual(await viewer.next('link.deleted', (data) => data.id === link.body.id), { id: link.body.id });
    await call(t.app, { method: 'DELETE', url: `${base()}/entities/${id}`, headers: board.users.member.headers });
    assert.deepEqual(await owner.next('entity.deleted', (data) => data.id === id), { id });

    await call(t.app, { method: 'POST', url: `${base()}/presence`, headers: board.users.member.headers });
    const presence = await viewer.next('presence', (data) => data.id === board.users.member.user.id);
    assert.equal(presence.online, true);
    assert.equal(presence.role, 'member');

    const newcomer = await registerUser(t.app);
    await join(t.app, newcomer, board.code);
    const joined = await owner.next('member.joined', (data) => data.id === newcomer.user.id);
    assert.equal(joined.role, 'member');
    assert.equal(joined.email, newcomer.email);

    const removed = await call(t.app, { method: 'DELETE', url: `${base()}/members/${newcomer.user.id}`, headers: board.users.owner.headers });
    assert.equal(removed.status, 200);
    assert.deepEqual(await viewer.next('member.removed', (data) => data.id === newcomer.user.id), { id: newcomer.user.id });
    board.code = removed.body.code;

    // Events of another investigation never arrive here.
    const elsewhere = await createBoard(t.app, 'Elsewhere');
    const foreign = await createEntity(t.app, elsewhere.id, elsewhere.users.owner);
    const marker = await createEntity(t.app, board.id, board.users.member, { title: 'marker' });
    await viewer.next('entity.created', (data) => data.id === marker);
    assert.ok(!viewer.events.some((event) => event.data.includes(foreign)), '!viewer.events.some((event) => event.data.includes(foreign))');
  });

  test('a removed member\u2019s stream ends; the others stay open', async () => {
    const extra = await registerUser(t.app);
    await join(t.app, extra, board.code);
    const theirs = await connect({ url }, board.id, extra);
    const owners = await connect({ url }, board.id, board.users.owner);
    const removed = await call(t.app, { method: 'DELETE', url: `${base()}/members/${extra.user.id}`, headers: board.users.admin.headers });
    board.code = removed.body.code;
    assert.equal(removed.status, 200);
    await theirs.waitFor(() => theirs.ended, 'the removed member\u2019s stream to end');
    assert.ok(theirs.events.some((event) => event.event === 'member.removed'), "theirs.events.some((event) => event.event === 'member.removed')");
    const after = await createEntity(t.app, board.id, board.users.member, { title: 'after removal' });
    await owners.next('entity.created', (data) => data.id === after);
    assert.equal(owners.ended, false);
    assert.ok(!theirs.events.some((event) => event.data.includes(after)), '!theirs.events.some((event) => event.data.includes(after))');
    // Reconnecting is refused: not a member any more.
    const again = await SseClient.connect(url, `${base()}/events`, extra).catch(() => null);
    assert.ok(again === null || again.status === 404, 'again === null || again.status === 404');
  });

  test('a membership ended without an event still ends the stream at the next heartbeat', async () => {
    const extra = await registerUser(t.app);
    await join(t.app, extra, board.code);
    const theirs = await connect({ url }, board.id, extra);
    await t.app.db.deleteFrom('inv_members' as never).where('user_id' as never, '=', extra.user.id as never).execute();
    await theirs.waitFor(() => theirs.ended, 'the stream to end at a heartbeat');
  });

  test('comment-line heartbeats keep an idle stream alive', async () => {
    const idle = await connect({ url }, board.id, board.users.viewer);
    const start = idle.comments;
    await idle.waitFor(() => idle.comments >= start + 3, 'three heartbeats');
    assert.equal(idle.ended, false);
    assert.equal(idle.events.length, 0, 'heartbeats are comments, not events');
  });

  test('a client that disconnects has its subscription closed', async () => {
    await eventually(async () => (await openStreams(t)) === clients.filter((c) => !c.ended).length, 'the stream count to settle');
    const before = await openStreams(t);
    const leaving = await connect({ url }, board.id, board.users.member);
    assert.equal(await openStreams(t), before + 1);
    leaving.close();
    await eventually(async () => (await openStreams(t)) === before, 'the subscription to close');
    const metrics = await call(t.app, { method: 'GET', url: '/metrics' });
    assert.match(String(metrics.body), /investigation_event_streams \d+/);
  });

  test('deleting the investigation ends its streams', async () => {
    const doomed = await createBoard(t.app, 'Doomed');
    const stream = await connect({ url }, doomed.id, doomed.users.viewer);
    await call(t.app, { method: 'DELETE', url: `/api/investigations/${doomed.id}`, headers: doomed.users.owner.headers });
    await stream.waitFor(() => stream.ended, 'the stream to end');
    assert.deepEqual(JSON.parse(stream.events.at(-1)!.data), { id: doomed.id });
  });
});

test('closing the app ends open streams instead of waiting on them', async () => {
  const other = await startInvestigationsApp({}, { heartbeatMs: 60_000 });
  const otherUrl = await other.listen();
  const otherBoard = await createBoard(other.app);
  const stream = await SseClient.connect(otherUrl, `/api/investigations/${otherBoard.id}/events`, otherBoard.users.owner);
  assert.equal(await openStreams(other), 1);
  await other.close();
  await stream.waitFor(() => stream.ended, 'the stream to end on shutdown');
  assert.equal(await openStreams(other), 0);
});

describe('two server instances sharing Redis', () => {
  const redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    console.warn('skipping the two-instance event test: REDIS_URL is not set (events cross instances only through Redis)');
  }

  test('each instance delivers the other\u2019s events', { skip: redisUrl ? false : 'REDIS_URL is not set' }, async () => {
    const a = t;
    const b = await startInvestigationsApp(
      { DATA_DIR: a.config.dataDir, REDIS_PREFIX: a.config.redisPrefix, ...(a.config.databaseUrl ? { DATABASE_URL: a.config.databaseUrl } : {}) },
      { heartbeatMs: HEARTBEAT_MS },
    );
    const redis = new Redis(redisUrl!);
    try {
      const bUrl = await b.listen();
      const shared = await createBoard(a.app, 'Shared');
      const onA = await connect({ url }, shared.id, shared.users.owner);
      const onB = await connect({ url: bUrl }, shared.id, shared.users.viewer);
      const channel = `${a.config.redisPrefix}bus:investigation:${shared.id}`;
      await eventually(async () => {
        const [, count] = (await redis.pubsub('NUMSUB', channel)) as [string, number];
        return Number(count) >= 2;
      }, 'both instances to subscribe in Redis');

      const fromA = await createEntity(a.app, shared.id, shared.users.member, { title: 'made on A' });
      assert.equal((await onB.next('entity.created', (data) => data.id === fromA)).title, 'made on A');
      const fromB = await createEntity(b.app, shared.id, shared.users.member, { title: 'made on B' });
      assert.equal((await onA.next('entity.created', (data) => data.id === fromB)).title, 'made on B');
      assert.equal((await onB.next('entity.created', (data) => data.id === fromB)).title, 'made on B', 'and locally');

      // Removal on A ends the removed member's stream on B.
      const removed = await call(a.app, { method: 'DELETE', url: `/api/investigations/${shared.id}/members/${shared.users.viewer.user.id}`, headers: shared.users.owner.headers });
      assert.equal(removed.status, 200);
      await onB.waitFor(() => onB.ended, 'the removed member\u2019s stream on B to end');
      onA.close();
    } finally {
      redis.disconnect();
      await b.close();
    }
  });
});

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { call, registerUser, type TestApp } from '../../helpers/app.js';
import { createBoard, createInvestigation, join, setRole, startInvestigationsApp } from './helpers.js';

let t: TestApp;
before(async () => {
  t = await startInvestigationsApp();
});
after(() => t.close());

const CODE = /^[A-Z0-9]{8}$/;

describe('investigations', () => {
  test('every route needs a logged-in user', async () => {
    for (const [method, url] of [
      ['GET', '/api/investigations'],
      ['POST', '/api/investigations'],
      ['POST', '/api/investigations/join'],
      ['GET', '/api/investigations/00000000-0000-7000-8000-000000000000'],
      ['GET', '/api/investigations/00000000-0000-7000-8000-000000000000/events'],
    ] as const) {
      const { status, body } = await call(t.app, { method, url });
      assert.equal(status, 401, `${method} ${url}`);
      assert.equal(body.code, 'UNAUTHORIZED');
    }
  });

  test('create, read, list, update and delete as the owner', async () => {
    const owner = await registerUser(t.app);
    const created = await call(t.app, { method: 'POST', url: '/api/investigations', headers: owner.headers, payload: { title: '  Missing painting ', description: 'Gallery theft' } });
    assert.equal(created.status, 201);
    assert.equal(created.body.message, 'Investigation created successfully');
    assert.match(created.body.code, CODE);
    const { id, code } = created.body;

    const got = await call(t.app, { method: 'GET', url: `/api/investigations/${id}`, headers: owner.headers });
    assert.equal(got.status, 200);
    assert.deepEqual(
      { ...got.body, created_at: undefined, updated_at: undefined },
      { id, code, title: 'Missing painting', description: 'Gallery theft', is_active: true, created_by: owner.user.id, member_count: 1, role: 'owner', created_at: undefined, updated_at: undefined },
    );

    const second = await createInvestigation(t.app, owner, 'Second case');
    assert.notEqual(second.code, code);
    await call(t.app, { method: 'PUT', url: `/api/investigations/${id}`, headers: owner.headers, payload: { description: null } });
    const list = await call(t.app, { method: 'GET', url: '/api/investigations', headers: owner.headers });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.investigations.map((i: { id: string }) => i.id), [id, second.id], 'most recently updated first');
    assert.equal(list.body.investigations[0].description, null);

    const updated = await call(t.app, { method: 'PUT', url: `/api/investigations/${id}`, headers: owner.headers, payload: { title: 'Stolen painting', is_active: false } });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.title, 'Stolen painting');
    assert.equal(updated.body.is_active, false);
    assert.ok(updated.body.updated_at >= got.body.updated_at, 'updated.body.updated_at >= got.body.updated_at');

    const deleted = await call(t.app, { method: 'DELETE', url: `/api/investigations/${id}`, headers: owner.headers });
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.message, 'Investigation deleted successfully');
    assert.equal((await call(t.app, { method: 'GET', url: `/api/investigations/${id}`, headers: owner.headers })).status, 404);
    const rows = await t.app.db.selectFrom('inv_members' as never).selectAll().where('investigation_id' as never, '=', id as never).execute();
    assert.equal(rows.length, 0, 'members removed with the investigation');
  });

  test('bad input is a 400 and changes nothing', async () => {
    const owner = await registerUser(t.app);
    for (const payload of [{}, { title: '' }, { title: 'x'.repeat(201) }, { title: 'ok', extra: 1 }, { title: 5 }]) {
      const { status, body } = await call(t.app, { method: 'POST', url: '/api/investigations', headers: owner.headers, payload });
      assert.equal(status, 400, JSON.stringify(payload));
      assert.equal(body.code, 'VALIDATION_FAILED');
    }
    const list = await call(t.app, { method: 'GET', url: '/api/investigations', headers: owner.headers });
    assert.deepEqual(list.body.investigations, []);
    const { id } = await createInvestigation(t.app, owner);
    const bad = await call(t.app, { method: 'PUT', url: `/api/investigations/${id}`, headers: owner.headers, payload: {} });
    assert.equal(bad.status, 400);
    const wrongType = await call(t.app, { method: 'PUT', url: `/api/investigations/${id}`, headers: owner.headers, payload: { is_active: 'no' } });
    assert.equal(wrongType.status, 400);
  });

  test('non-members get 404 on the investigation and everything under it', async () => {
    const board = await createBoard(t.app);
    const stranger = await registerUser(t.app);
    const entity = await call(t.app, { method: 'POST', url: `/api/investigations/${board.id}/entities`, headers: board.users.member.headers, payload: { entity_type: 'person', title: 'x' } });
    const base = `/api/investigations/${board.id}`;
    const e = `${base}/entities/${entity.body.id}`;
    const someId = '00000000-0000-7000-8000-000000000000';
    const routes: Array<[string, string, unknown?]> = [
      ['GET', base],
      ['PUT', base, { title: 'mine' }],
      ['DELETE', base],
      ['GET', `${base}/members`],
      ['PUT', `${base}/members/${board.users.member.user.id}`, { role: 'viewer' }],
      ['DELETE', `${base}/members/${board.users.member.user.id}`],
      ['POST', `${base}/presence`],
      ['GET', `${base}/presence`],
      ['GET', `${base}/entities`],
      ['POST', `${base}/entities`, { entity_type: 'person', title: 'x' }],
      ['GET', e],
      ['PUT', e, { title: 'y' }],
      ['DELETE', e],
      ['GET', `${e}/links`],
      ['GET', `${e}/comments`],
      ['POST', `${e}/comments`, { content: 'hi' }],
      ['GET', `${e}/attachments`],
      ['POST', `${e}/attachments`],
      ['POST', `${e}/photo`],
      ['GET', `${e}/photo`],
      ['DELETE', `${e}/photo`],
      ['GET', `${base}/links`],
      ['POST', `${base}/links`, { from_entity_id: entity.body.id, to_entity_id: someId, title: 't' }],
      ['DELETE', `${base}/links/${someId}`],
      ['GET', `${base}/tags`],
      ['POST', `${base}/tags`, { name: 'x', color: '#000000' }],
      ['PUT', `${base}/tags/${someId}`, { name: 'y' }],
      ['DELETE', `${base}/tags/${someId}`],
      ['PUT', `${base}/comments/${someId}`, { content: 'x' }],
      ['DELETE', `${base}/comments/${someId}`],
      ['GET', `${base}/attachments/${someId}`],
      ['DELETE', `${base}/attachments/${someId}`],
      ['GET', `${base}/events`],
      ['GET', '/api/investigations/not-a-uuid'],
    ];
    for (const [method, url, payload] of routes) {
      const { status, body } = await call(t.app, { method: method as 'GET', url, headers: stranger.headers, ...(payload ? { payload: payload as object } : {}) });
      assert.equal(status, 404, `${method} ${url}`);
      assert.equal(body.code, 'NOT_FOUND', `${method} ${url}`);
    }
    const list = await call(t.app, { method: 'GET', url: '/api/investigations', headers: stranger.headers });
    assert.deepEqual(list.body.investigations, []);
    const still = await call(t.app, { method: 'GET', url: base, headers: board.users.owner.headers });
    assert.equal(still.body.title, 'Board', 'nothing changed');
  });
});

describe('join codes', () => {
  test('join with the code in any case as a member; twice is 409; unknown or inactive is 404', async () => {
    const owner = await registerUser(t.app);
    const joiner = await registerUser(t.app);
    const { id, code } = await createInvestigation(t.app, owner);
    const joined = await call(t.app, { method: 'POST', url: '/api/investigations/join', headers: joiner.headers, payload: { code: ` ${code.toLowerCase()} ` } });
    assert.equal(joined.status, 200);
    assert.deepEqual(joined.body, { message: 'Joined investigation successfully', investigation_id: id });
    const mine = await call(t.app, { method: 'GET', url: `/api/investigations/${id}`, headers: joiner.headers });
    assert.equal(mine.body.role, 'member');
    assert.equal(mine.body.member_count, 2);

    const again = await call(t.app, { method: 'POST', url: '/api/investigations/join', headers: joiner.headers, payload: { code } });
    assert.equal(again.status, 409);
    const ownerJoins = await call(t.app, { method: 'POST', url: '/api/investigations/join', headers: owner.headers, payload: { code } });
    assert.equal(ownerJoins.status, 409);

    const unknown = await call(t.app, { method: 'POST', url: '/api/investigations/join', headers: joiner.headers, payload: { code: 'ZZZZZZZZ' } });
    assert.equal(unknown.status, 404);

    await call(t.app, { method: 'PUT', url: `/api/investigations/${id}`, headers: owner.headers, payload: { is_active: false } });
    const late = await registerUser(t.app);
    const inactive = await call(t.app, { method: 'POST', url: '/api/investigations/join', headers: late.headers, payload: { code } });
    assert.equal(inactive.status, 404);
    const invalid = await call(t.app, { method: 'POST', url: '/api/investigations/join', headers: late.headers, payload: { code: '' } });
    assert.equal(invalid.status, 400);
  });

  test('codes are 8 characters of A-Z0-9 and unique', async () => {
    const owner = await registerUser(t.app);
    const codes = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const { code } = await createInvestigation(t.app, owner, `case ${i}`);
      assert.match(code, CODE);
      codes.add(code);
    }
    assert.equal(codes.size, 20);
  });

  test('join attempts are rate limited per user, not per address', async () => {
    const guesser = await registerUser(t.app);
    const other = await registerUser(t.app);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      statuses.push((await call(t.app, { method: 'POST', url: '/api/investigations/join', headers: guesser.headers, payload: { code: `GUESS${String(i).padStart(3, '0')}` } })).status);
    }
    assert.deepEqual(statuses, [...Array(10).fill(404), 429]);
    const limited = await call(t.app, { method: 'POST', url: '/api/investigations/join', headers: guesser.headers, payload: { code: 'AAAAAAAA' } });
    assert.equal(limited.body.code, 'RATE_LIMITED');
    assert.ok(Number(limited.response.headers['retry-after']) > 0, "Number(limited.response.headers['retry-after']) > 0");
    // Same address, another user: not limited.
    const owner = await registerUser(t.app);
    const { code } = await createInvestigation(t.app, owner);
    const ok = await call(t.app, { method: 'POST', url: '/api/investigations/join', headers: other.headers, payload: { code } });
    assert.equal(ok.status, 200);
  });
});

describe('members', () => {
  test('list members with their profile, role and presence', async () => {
    const board = await createBoard(t.app);
    const { status, body } = await call(t.app, { method: 'GET', url: `/api/investigations/${board.id}/members`, headers: board.users.viewer.headers });
    assert.equal(status, 200);
    assert.deepEqual(
      body.members.map((m: { id: string; role: string }) => [m.id, m.role]),
      (['owner', 'admin', 'member', 'viewer'] as const).map((role) => [board.users[role].user.id, role]),
    );
    const owner = body.members[0];
    assert.deepEqual(Object.keys(owner).sort(), ['avatar', 'email', 'id', 'joined_at', 'last_seen', 'name', 'online', 'role', 'username']);
    assert.equal(owner.email, board.users.owner.email);
    assert.equal(owner.last_seen, null);
    assert.equal(owner.online, false);
  });

  test('only the owner changes roles, never its own, never to owner', async () => {
    const board = await createBoard(t.app);
    const url = (user: string) => `/api/investigations/${board.id}/members/${user}`;
    const { owner, admin, member, viewer } = board.users;
    for (const actor of [admin, member, viewer]) {
      const { status } = await call(t.app, { method: 'PUT', url: url(member.user.id), headers: actor.headers, payload: { role: 'viewer' } });
      assert.equal(status, 403);
    }
    // The contract: a role that may not do something gets 403. Not even the owner may change the owner's role.
    const own = await call(t.app, { method: 'PUT', url: url(owner.user.id), headers: owner.headers, payload: { role: 'admin' } });
    assert.equal(own.status, 403);
    assert.equal(own.body.code, 'OWNER_ROLE_FIXED');
    assert.equal((await call(t.app, { method: 'GET', url: `/api/investigations/${board.id}`, headers: owner.headers })).body.role, 'owner');
    const toOwner = await call(t.app, { method: 'PUT', url: url(member.user.id), headers: owner.headers, payload: { role: 'owner' } });
    assert.equal(toOwner.status, 400);
    const stranger = await registerUser(t.app);
    const notMember = await call(t.app, { method: 'PUT', url: url(stranger.user.id), headers: owner.headers, payload: { role: 'viewer' } });
    assert.equal(notMember.status, 404);
    const changed = await call(t.app, { method: 'PUT', url: url(member.user.id), headers: owner.headers, payload: { role: 'admin' } });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.role, 'admin');
    assert.equal(changed.body.id, member.user.id);
    const seen = await call(t.app, { method: 'GET', url: `/api/investigations/${board.id}`, headers: member.headers });
    assert.equal(seen.body.role, 'admin');
  });

  test('removing someone else rotates the join code; leaving does not; the owner stays', async () => {
    const board = await createBoard(t.app);
    const url = (user: string) => `/api/investigations/${board.id}/members/${user}`;
    const { owner, admin, member, viewer } = board.users;

    const byMember = await call(t.app, { method: 'DELETE', url: url(viewer.user.id), headers: member.headers });
    assert.equal(byMember.status, 403);
    const ownerGone = await call(t.app, { method: 'DELETE', url: url(owner.user.id), headers: admin.headers });
    assert.equal(ownerGone.status, 403);
    assert.equal(ownerGone.body.code, 'OWNER_CANNOT_BE_REMOVED');
    const ownerLeaves = await call(t.app, { method: 'DELETE', url: url(owner.user.id), headers: owner.headers });
    assert.equal(ownerLeaves.status, 403);
    assert.equal(ownerLeaves.body.code, 'OWNER_CANNOT_BE_REMOVED');

    const removed = await call(t.app, { method: 'DELETE', url: url(member.user.id), headers: admin.headers });
    assert.equal(removed.status, 200);
    assert.equal(removed.body.removed_user_id, member.user.id);
    assert.match(removed.body.code, CODE);
    assert.notEqual(removed.body.code, board.code, 'code rotated');
    assert.equal((await call(t.app, { method: 'GET', url: `/api/investigations/${board.id}`, headers: member.headers })).status, 404);
    const oldCode = await call(t.app, { method: 'POST', url: '/api/investigations/join', headers: member.headers, payload: { code: board.code } });
    assert.equal(oldCode.status, 404, 'the old code no longer works');
    const current = await call(t.app, { method: 'GET', url: `/api/investigations/${board.id}`, headers: owner.headers });
    assert.equal(current.body.code, removed.body.code);

    const left = await call(t.app, { method: 'DELETE', url: url(viewer.user.id), headers: viewer.headers });
    assert.equal(left.status, 200);
    assert.equal(left.body.code, removed.body.code, 'leaving keeps the code');
    assert.equal(left.body.removed_user_id, viewer.user.id);

    const again = await call(t.app, { method: 'DELETE', url: url(viewer.user.id), headers: admin.headers });
    assert.equal(again.status, 404);

    // An admin may remove another admin; the owner may remove an admin.
    const second = await registerUser(t.app);
    await join(t.app, second, removed.body.code);
    await setRole(t.app, board, owner, second, 'admin');
    const adminRemovesAdmin = await call(t.app, { method: 'DELETE', url: url(second.user.id), headers: admin.headers });
    assert.equal(adminRemovesAdmin.status, 200);
    const ownerRemovesAdmin = await call(t.app, { method: 'DELETE', url: url(admin.user.id), headers: owner.headers });
    assert.equal(ownerRemovesAdmin.status, 200);
    const count = await call(t.app, { method: 'GET', url: `/api/investigations/${board.id}`, headers: owner.headers });
    assert.equal(count.body.member_count, 1);
  });

  test('presence: a heartbeat sets last_seen and online', async () => {
    const board = await createBoard(t.app);
    const before = await call(t.app, { method: 'GET', url: `/api/investigations/${board.id}/presence`, headers: board.users.viewer.headers });
    assert.equal(before.status, 200);
    assert.ok(before.body.members.every((m: { online: boolean }) => m.online === false), 'before.body.members.every((m: { online: boolean }) => m.online === false)');

    const beat = await call(t.app, { method: 'POST', url: `/api/investigations/${board.id}/presence`, headers: board.users.viewer.headers });
    assert.equal(beat.status, 200);
    assert.equal(beat.body.status, 'ok');
    assert.ok(Math.abs(Date.parse(beat.body.last_seen) - Date.now()) < 60_000, 'Math.abs(Date.parse(beat.body.last_seen) - Date.now()) < 60_000');

    const after = await call(t.app, { method: 'GET', url: `/api/investigations/${board.id}/presence`, headers: board.users.owner.headers });
    const viewer = after.body.members.find((m: { id: string }) => m.id === board.users.viewer.user.id);
    assert.deepEqual(Object.keys(viewer).sort(), ['avatar', 'id', 'last_seen', 'online', 'role', 'username']);
    assert.equal(viewer.online, true);
    assert.equal(viewer.last_seen, beat.body.last_seen);
    assert.equal(after.body.members.filter((m: { online: boolean }) => m.online).length, 1);

    // A heartbeat older than 30 seconds no longer counts.
    await t.app.db
      .updateTable('inv_members' as never)
      .set({ last_seen: new Date(Date.now() - 31_000).toISOString() } as never)
      .where('user_id' as never, '=', board.users.viewer.user.id as never)
      .execute();
    const stale = await call(t.app, { method: 'GET', url: `/api/investigations/${board.id}/members`, headers: board.users.owner.headers });
    assert.equal(stale.body.members.find((m: { id: string }) => m.id === board.users.viewer.user.id).online, false);
  });
});

describe('the membership check remembered while nothing changes', { skip: process.env.TEST_DATABASE_URL ? 'SQLite only: PostgreSQL reads the membership on every request' : false }, () => {
  test('a removal by another process or through the API counts at the next request', async () => {
    const app = await startInvestigationsApp();
    let other: BetterSqlite3.Database | undefined;
    try {
      const board = await createBoard(app.app);
      // The tag list reads no membership of its own: only the check stands between a non-member and it.
      const get = async (headers: Record<string, string>) => (await call(app.app, { method: 'GET', url: `/api/investigations/${board.id}/tags`, headers })).status;
      assert.equal(await get(board.users.member.headers), 200);
      assert.equal(await get(board.users.member.headers), 200);

      // Another process (a second worker, the CLI) commits the removal.
      other = new BetterSqlite3(path.join(app.config.dataDir, 'app.db'));
      other.prepare('delete from inv_members where investigation_id = ? and user_id = ?').run(board.id, board.users.member.user.id);
      assert.equal(await get(board.users.member.headers), 404);

      assert.equal(await get(board.users.viewer.headers), 200);
      const removed = await call(app.app, { method: 'DELETE', url: `/api/investigations/${board.id}/members/${board.users.viewer.user.id}`, headers: board.users.owner.headers });
      assert.equal(removed.status, 200);
      assert.equal(await get(board.users.viewer.headers), 404);
    } finally {
      other?.close();
      await app.close();
    }
  });
});

test('every route is in /openapi.json with a response schema', async () => {
  const { body } = await call(t.app, { method: 'GET', url: '/openapi.json' });
  const expected: Record<string, string[]> = {
    '/api/investigations': ['get', 'post'],
    '/api/investigations/join': ['post'],
    '/api/investigations/{id}': ['delete', 'get', 'put'],
    '/api/investigations/{id}/members': ['get'],
    '/api/investigations/{id}/members/{user_id}': ['delete', 'put'],
    '/api/investigations/{id}/presence': ['get', 'post'],
    '/api/investigations/{id}/entities': ['get', 'post'],
    '/api/investigations/{id}/entities/{entity_id}': ['delete', 'get', 'put'],
    '/api/investigations/{id}/entities/{entity_id}/links': ['get'],
    '/api/investigations/{id}/entities/{entity_id}/photo': ['delete', 'get', 'post'],
    '/api/investigations/{id}/entities/{entity_id}/comments': ['get', 'post'],
    '/api/investigations/{id}/entities/{entity_id}/attachments': ['get', 'post'],
    '/api/investigations/{id}/links': ['get', 'post'],
    '/api/investigations/{id}/links/{link_id}': ['delete'],
    '/api/investigations/{id}/tags': ['get', 'post'],
    '/api/investigations/{id}/tags/{tag_id}': ['delete', 'put'],
    '/api/investigations/{id}/comments/{comment_id}': ['delete', 'put'],
    '/api/investigations/{id}/attachments/{attachment_id}': ['delete', 'get'],
    '/api/investigations/{id}/events': ['get'],
  };
  for (const [path, methods] of Object.entries(expected)) {
    assert.deepEqual(Object.keys(body.paths[path] ?? {}).sort(), methods, path);
    for (const method of methods) {
      const responses = Object.keys(body.paths[path][method].responses);
      assert.ok(responses.some((status) => status.startsWith('2')), `${method} ${path} has a success response schema`);
    }
  }
});

import assert from 'node:assert/strict';
import type { InjectOptions } from 'fastify';
import { after, before, test } from 'node:test';
import { call, registerUser, type TestApp, type TestUser } from '../../helpers/app.js';
import { createBoard, createEntity, join, multipart, PNG_BYTES, setRole, startInvestigationsApp, type Board, type Role } from './helpers.js';

let t: TestApp;
before(async () => {
  t = await startInvestigationsApp();
});
after(() => t.close());

const ROLES: Role[] = ['viewer', 'member', 'admin', 'owner'];
const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

interface Write {
  name: string;
  /** The least role that may do it. */
  least: Role;
  /** Sets up a fresh target (as the owner) and returns the request to try as `actor`. */
  prepare(board: Board, actor: TestUser): Promise<InjectOptions>;
}

const base = (board: Board) => `/api/investigations/${board.id}`;
const json = (method: InjectOptions['method'], url: string, payload?: object): InjectOptions => ({ method, url, ...(payload ? { payload } : {}) });

async function newTag(board: Board): Promise<string> {
  const { body } = await call(t.app, { method: 'POST', url: `${base(board)}/tags`, headers: board.users.owner.headers, payload: { name: `tag-${Math.random()}`, color: '#112233' } });
  return body.id;
}

async function newAttachment(board: Board, entity: string): Promise<string> {
  const file = multipart('file', 'a.txt', Buffer.from('attachment'), 'text/plain');
  const { body } = await call(t.app, { method: 'POST', url: `${base(board)}/entities/${entity}/attachments`, headers: { ...board.users.owner.headers, ...file.headers }, payload: file.payload });
  return body.id;
}

async function newExtraMember(board: Board): Promise<TestUser> {
  const user = await registerUser(t.app);
  const { body } = await call(t.app, { method: 'GET', url: base(board), headers: board.users.owner.headers });
  await join(t.app, user, body.code);
  return user;
}

const writes: Write[] = [
  { name: 'edit the investigation', least: 'owner', prepare: async (b) => json('PUT', base(b), { title: 'Renamed' }) },
  { name: "change a member's role", least: 'owner', prepare: async (b) => json('PUT', `${base(b)}/members/${(await newExtraMember(b)).user.id}`, { role: 'viewer' }) },
  { name: 'remove another member', least: 'admin', prepare: async (b) => json('DELETE', `${base(b)}/members/${(await newExtraMember(b)).user.id}`) },
  { name: 'create an entity', least: 'member', prepare: async (b) => json('POST', `${base(b)}/entities`, { entity_type: 'event', title: 'Meeting' }) },
  { name: 'edit an entity', least: 'member', prepare: async (b) => json('PUT', `${base(b)}/entities/${await createEntity(t.app, b.id, b.users.owner)}`, { title: 'Edited' }) },
  { name: 'delete an entity', least: 'member', prepare: async (b) => json('DELETE', `${base(b)}/entities/${await createEntity(t.app, b.id, b.users.owner)}`) },
  {
    name: 'create a link',
    least: 'member',
    prepare: async (b) =>
      json('POST', `${base(b)}/links`, { from_entity_id: await createEntity(t.app, b.id, b.users.owner), to_entity_id: await createEntity(t.app, b.id, b.users.owner), title: 'knows' }),
  },
  {
    name: 'delete a link',
    least: 'member',
    prepare: async (b) => {
      const payload = { from_entity_id: await createEntity(t.app, b.id, b.users.owner), to_entity_id: await createEntity(t.app, b.id, b.users.owner), title: 'knows' };
      const { body } = await call(t.app, { method: 'POST', url: `${base(b)}/links`, headers: b.users.owner.headers, payload });
      return json('DELETE', `${base(b)}/links/${body.id}`);
    },
  },
  { name: 'create a tag', least: 'member', prepare: async (b) => json('POST', `${base(b)}/tags`, { name: `t-${Math.random()}`, color: '#ABCDEF' }) },
  { name: 'edit a tag', least: 'member', prepare: async (b) => json('PUT', `${base(b)}/tags/${await newTag(b)}`, { color: '#000000' }) },
  { name: 'delete a tag', least: 'member', prepare: async (b) => json('DELETE', `${base(b)}/tags/${await newTag(b)}`) },
  { name: 'comment', least: 'member', prepare: async (b) => json('POST', `${base(b)}/entities/${await createEntity(t.app, b.id, b.users.owner)}/comments`, { content: 'Seen at 9pm' }) },
  {
    name: "delete someone else's comment",
    least: 'admin',
    prepare: async (b) => {
      const entity = await createEntity(t.app, b.id, b.users.owner);
      const extra = await newExtraMember(b); // a member who is none of the actors
      const { body } = await call(t.app, { method: 'POST', url: `${base(b)}/entities/${entity}/comments`, headers: extra.headers, payload: { content: 'mine' } });
      return json('DELETE', `${base(b)}/comments/${body.id}`);
    },
  },
  {
    name: 'upload an attachment',
    least: 'member',
    prepare: async (b) => {
      const file = multipart('file', 'notes.txt', Buffer.from('notes'), 'text/plain');
      return { method: 'POST', url: `${base(b)}/entities/${await createEntity(t.app, b.id, b.users.owner)}/attachments`, headers: file.headers, payload: file.payload };
    },
  },
  { name: 'delete an attachment', least: 'member', prepare: async (b) => json('DELETE', `${base(b)}/attachments/${await newAttachment(b, await createEntity(t.app, b.id, b.users.owner))}`) },
  {
    name: 'set a photo',
    least: 'member',
    prepare: async (b) => {
      const file = multipart('photo', 'p.png', PNG_BYTES, 'image/png');
      return { method: 'POST', url: `${base(b)}/entities/${await createEntity(t.app, b.id, b.users.owner)}/photo`, headers: file.headers, payload: file.payload };
    },
  },
  {
    name: 'remove a photo',
    least: 'member',
    prepare: async (b) => {
      const entity = await createEntity(t.app, b.id, b.users.owner);
      const file = multipart('photo', 'p.png', PNG_BYTES, 'image/png');
      await call(t.app, { method: 'POST', url: `${base(b)}/entities/${entity}/photo`, headers: { ...b.users.owner.headers, ...file.headers }, payload: file.payload });
      return json('DELETE', `${base(b)}/entities/${entity}/photo`);
    },
  },
  { name: 'send a presence heartbeat', least: 'viewer', prepare: async (b) => json('POST', `${base(b)}/presence`) },
];

test('each role against each kind of write: allowed exactly as the role table says, 403 otherwise', async () => {
  const board = await createBoard(t.app);
  const failures: string[] = [];
  for (const write of writes) {
    for (const role of ROLES) {
      const actor = board.users[role];
      const request = await write.prepare(board, actor);
      const { status, body } = await call(t.app, { ...request, headers: { ...(request.headers ?? {}), ...actor.headers } });
      const allowed = RANK[role] >= RANK[write.least];
      const ok = allowed ? status >= 200 && status < 300 : status === 403 && body.code === 'FORBIDDEN';
      if (!ok) failures.push(`${role} ${write.name}: ${status} ${JSON.stringify(body)}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('a refused write changes nothing', async () => {
  const board = await createBoard(t.app);
  const entity = await createEntity(t.app, board.id, board.users.owner, { title: 'Original' });
  const viewer = board.users.viewer;
  const edit = await call(t.app, { method: 'PUT', url: `${base(board)}/entities/${entity}`, headers: viewer.headers, payload: { title: 'Changed' } });
  assert.equal(edit.status, 403);
  const del = await call(t.app, { method: 'DELETE', url: `${base(board)}/entities/${entity}`, headers: viewer.headers });
  assert.equal(del.status, 403);
  const got = await call(t.app, { method: 'GET', url: `${base(board)}/entities/${entity}`, headers: viewer.headers });
  assert.equal(got.body.title, 'Original');
  const del2 = await call(t.app, { method: 'DELETE', url: base(board), headers: board.users.admin.headers });
  assert.equal(del2.status, 403);
  assert.equal((await call(t.app, { method: 'GET', url: base(board), headers: board.users.admin.headers })).status, 200);
});

test('roles are checked before the body: a viewer sending garbage gets 403, not 400', async () => {
  const board = await createBoard(t.app);
  const { status } = await call(t.app, { method: 'POST', url: `${base(board)}/entities`, headers: board.users.viewer.headers, payload: { nonsense: true } });
  assert.equal(status, 403);
});

test('comments: only the author edits; the author, an admin or the owner deletes', async () => {
  const board = await createBoard(t.app);
  const entity = await createEntity(t.app, board.id, board.users.owner);
  const { member, admin, owner, viewer } = board.users;
  const posted = await call(t.app, { method: 'POST', url: `${base(board)}/entities/${entity}/comments`, headers: member.headers, payload: { content: 'first' } });
  const url = `${base(board)}/comments/${posted.body.id}`;
  for (const other of [admin, owner]) {
    const { status } = await call(t.app, { method: 'PUT', url, headers: other.headers, payload: { content: 'not yours' } });
    assert.equal(status, 403);
  }
  assert.equal((await call(t.app, { method: 'PUT', url, headers: viewer.headers, payload: { content: 'x' } })).status, 403);
  const edited = await call(t.app, { method: 'PUT', url, headers: member.headers, payload: { content: 'edited' } });
  assert.equal(edited.status, 200);
  assert.equal(edited.body.content, 'edited');

  // A second member cannot delete it; the author can.
  const other = await registerUser(t.app);
  const code = (await call(t.app, { method: 'GET', url: base(board), headers: owner.headers })).body.code;
  await join(t.app, other, code);
  assert.equal((await call(t.app, { method: 'DELETE', url, headers: other.headers })).status, 403);
  assert.equal((await call(t.app, { method: 'DELETE', url, headers: member.headers })).status, 200);
  assert.equal((await call(t.app, { method: 'DELETE', url, headers: member.headers })).status, 404);

  // Demoted to viewer, the author reads only.
  const again = await call(t.app, { method: 'POST', url: `${base(board)}/entities/${entity}/comments`, headers: member.headers, payload: { content: 'second' } });
  await setRole(t.app, board, owner, member, 'viewer');
  assert.equal((await call(t.app, { method: 'PUT', url: `${base(board)}/comments/${again.body.id}`, headers: member.headers, payload: { content: 'x' } })).status, 403);
});

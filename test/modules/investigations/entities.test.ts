import assert from 'node:assert/strict';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { after, before, describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import { newId, now } from '../../../src/core/db/columns.js';
import type { InvestigationsTables } from '../../../src/modules/investigations/tables.js';
import { call, registerUser, type TestApp } from '../../helpers/app.js';
import { createBoard, createEntity, multipart, startInvestigationsApp, type Board } from './helpers.js';

let t: TestApp;
let counting = false;
let queries = 0;
let board: Board;
before(async () => {
  t = await startInvestigationsApp({}, { observeQuery: () => (counting ? queries++ : 0) });
  board = await createBoard(t.app);
});
after(() => t.close());

const base = () => `/api/investigations/${board.id}`;
const as = (role: keyof Board['users']) => board.users[role].headers;

describe('entities', () => {
  test('create with every field, read it back, and see it in the list', async () => {
    const created = await call(t.app, {
      method: 'POST',
      url: `${base()}/entities`,
      headers: as('member'),
      payload: {
        entity_type: 'event',
        title: ' Meeting at the docks ',
        description: 'Night meeting',
        role: 'witness',
        location: 'Pier 4',
        address: '1 Harbour Rd',
        event_date: '2024-03-01T21:00:00+01:00',
        event_end_date: '2024-03-01T23:00:00Z',
        is_timeslot: true,
        evidence_type: 'cctv',
        tags: ['  Urgent ', 'urgent', 'Docks'],
      },
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.message, 'Entity created successfully');
    const got = await call(t.app, { method: 'GET', url: `${base()}/entities/${created.body.id}`, headers: as('viewer') });
    assert.equal(got.status, 200);
    const entity = got.body;
    assert.deepEqual(Object.keys(entity).sort(), [
      'address', 'attachments_count', 'comments_count', 'created_at', 'created_by', 'description', 'event_date', 'event_end_date', 'evidence_type',
      'id', 'is_timeslot', 'location', 'photo_url', 'role', 'tags', 'title', 'type', 'updated_at',
    ]);
    assert.equal(entity.type, 'event');
    assert.equal(entity.title, 'Meeting at the docks');
    assert.equal(entity.event_date, '2024-03-01T20:00:00.000Z');
    assert.equal(entity.event_end_date, '2024-03-01T23:00:00.000Z');
    assert.equal(entity.is_timeslot, true);
    assert.equal(entity.photo_url, null);
    assert.equal(entity.created_by, board.users.member.user.id);
    assert.deepEqual(entity.tags.map((tag: { name: string }) => tag.name), ['Docks', 'Urgent'], 'trimmed, de-duplicated ignoring case');
    assert.equal(entity.comments_count, 0);
    assert.equal(entity.attachments_count, 0);

    const list = await call(t.app, { method: 'GET', url: `${base()}/entities`, headers: as('viewer') });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.entities.find((e: { id: string }) => e.id === entity.id), entity);
  });

  test('`type` is accepted for entity_type; a missing, unknown or conflicting type is 400', async () => {
    const viaType = await call(t.app, { method: 'POST', url: `${base()}/entities`, headers: as('member'), payload: { type: 'location', title: 'Warehouse' } });
    assert.equal(viaType.status, 201);
    assert.equal((await call(t.app, { method: 'GET', url: `${base()}/entities/${viaType.body.id}`, headers: as('member') })).body.type, 'location');
    const before = (await call(t.app, { method: 'GET', url: `${base()}/entities`, headers: as('member') })).body.entities.length;
    for (const payload of [
      { title: 'no type' },
      { entity_type: 'vehicle', title: 'x' },
      { entity_type: 'person', type: 'event', title: 'x' },
      { entity_type: 'person', title: '' },
      { entity_type: 'person', title: 'x', unknown: 1 },
      { entity_type: 'person', title: 'x', tags: ['   '] },
      { entity_type: 'person', title: 'x', tags: 'a' },
      { entity_type: 'person', title: 'x', event_date: 'yesterday' },
      { entity_type: 'person', title: 'x', is_timeslot: 'yes' },
    ]) {
      const { status, body } = await call(t.app, { method: 'POST', url: `${base()}/entities`, headers: as('member'), payload });
      assert.equal(status, 400, JSON.stringify(payload));
      assert.equal(body.code, 'VALIDATION_FAILED');
    }
    const afterCount = (await call(t.app, { method: 'GET', url: `${base()}/entities`, headers: as('member') })).body.entities.length;
    assert.equal(afterCount, before, 'nothing created');
  });

  test('an event cannot end before it starts, on create and on a partial update', async () => {
    const bad = await call(t.app, { method: 'POST', url: `${base()}/entities`, headers: as('member'), payload: { entity_type: 'event', title: 'x', event_date: '2024-05-02', event_end_date: '2024-05-01' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.details[0].field, 'event_end_date');
    const id = await createEntity(t.app, board.id, board.users.member, { entity_type: 'event', event_date: '2024-05-02', event_end_date: '2024-05-03' });
    const update = await call(t.app, { method: 'PUT', url: `${base()}/entities/${id}`, headers: as('member'), payload: { event_end_date: '2024-05-01T00:00:00Z' } });
    assert.equal(update.status, 400);
    const unchanged = await call(t.app, { method: 'GET', url: `${base()}/entities/${id}`, headers: as('member') });
    assert.equal(unchanged.body.event_end_date, '2024-05-03');
    const clear = await call(t.app, { method: 'PUT', url: `${base()}/entities/${id}`, headers: as('member'), payload: { event_date: null } });
    assert.equal(clear.status, 200);
    assert.equal(clear.body.event_date, null);
  });

  test('an event date that is not in the calendar, or a leap second Date cannot hold, is 400 (a leap second was a 500)', async () => {
    const id = await createEntity(t.app, board.id, board.users.member, { entity_type: 'event', event_date: '2016-12-31T23:59:59Z' });
    const before = (await call(t.app, { method: 'GET', url: `${base()}/entities`, headers: as('member') })).body.entities.length;
    for (const [field, value] of [
      ['event_date', '2016-12-31T23:59:60Z'],
      ['event_end_date', '2016-12-31T23:59:60Z'],
      ['event_date', '2023-02-29'],
      ['event_date', '2024-13-01T00:00:00Z'],
      // In UTC these fall in year -1 and 10000, which would be stored as `-000001-...` and `+010000-...`.
      ['event_date', '0000-01-01T00:00:00+23:59'],
      ['event_end_date', '9999-12-31T23:59:59-23:59'],
    ]) {
      const created = await call(t.app, { method: 'POST', url: `${base()}/entities`, headers: as('member'), payload: { entity_type: 'event', title: 'e', [field!]: value } });
      assert.equal(created.status, 400, `POST ${field}=${value}: ${JSON.stringify(created.body)}`);
      assert.equal(created.body.code, 'VALIDATION_FAILED');
      assert.deepEqual([...new Set(created.body.details.map((detail: { field: string }) => detail.field))], [field]);
      const updated = await call(t.app, { method: 'PUT', url: `${base()}/entities/${id}`, headers: as('member'), payload: { [field!]: value } });
      assert.equal(updated.status, 400, `PUT ${field}=${value}: ${JSON.stringify(updated.body)}`);
    }
    assert.equal((await call(t.app, { method: 'GET', url: `${base()}/entities`, headers: as('member') })).body.entities.length, before, 'nothing created');
    const unchanged = await call(t.app, { method: 'GET', url: `${base()}/entities/${id}`, headers: as('member') });
    assert.deepEqual([unchanged.body.event_date, unchanged.body.event_end_date], ['2016-12-31T23:59:59.000Z', null]);
  });

  test('partial update; tags when present replace the set and reuse existing tags', async () => {
    const id = await createEntity(t.app, board.id, board.users.member, { description: 'keep me', tags: ['alpha', 'beta'] });
    const tagsBefore = (await call(t.app, { method: 'GET', url: `${base()}/tags`, headers: as('member') })).body.tags;
    const alpha = tagsBefore.find((tag: { name: string }) => tag.name === 'alpha');

    const renamed = await call(t.app, { method: 'PUT', url: `${base()}/entities/${id}`, headers: as('member'), payload: { title: 'Renamed' } });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.title, 'Renamed');
    assert.equal(renamed.body.description, 'keep me');
    assert.deepEqual(renamed.body.tags.map((tag: { name: string }) => tag.name), ['alpha', 'beta'], 'tags untouched when absent');

    const retagged = await call(t.app, { method: 'PUT', url: `${base()}/entities/${id}`, headers: as('member'), payload: { tags: ['ALPHA', 'gamma'], entity_type: 'evidence' } });
    assert.equal(retagged.status, 200);
    assert.equal(retagged.body.type, 'evidence');
    assert.deepEqual(retagged.body.tags.map((tag: { id: string; name: string }) => tag.name), ['alpha', 'gamma']);
    assert.equal(retagged.body.tags[0].id, alpha.id, 'existing tag reused whatever the case');
    const tagsAfter = (await call(t.app, { method: 'GET', url: `${base()}/tags`, headers: as('member') })).body.tags;
    assert.equal(tagsAfter.filter((tag: { name: string }) => tag.name.toLowerCase() === 'alpha').length, 1);

    const cleared = await call(t.app, { method: 'PUT', url: `${base()}/entities/${id}`, headers: as('member'), payload: { tags: [] } });
    assert.deepEqual(cleared.body.tags, []);
    const empty = await call(t.app, { method: 'PUT', url: `${base()}/entities/${id}`, headers: as('member'), payload: {} });
    assert.equal(empty.status, 400);
  });

  test('tags, tag filter and search fold a final Σ and a dotted İ as the database does', async () => {
    const other = await createBoard(t.app, 'Letters');
    const b = `/api/investigations/${other.id}`;
    const h = other.users.member.headers;
    const created = await call(t.app, { method: 'POST', url: `${b}/entities`, headers: h, payload: { entity_type: 'location', title: 'ΟΔΟΣ ΑΘΗΝΑΣ', tags: ['ΟΔΟΣ', 'İzmir'] } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const entity = (await call(t.app, { method: 'GET', url: `${b}/entities/${created.body.id}`, headers: h })).body;
    assert.deepEqual(entity.tags.map((tag: { name: string }) => tag.name).sort(), ['İzmir', 'ΟΔΟΣ'], 'no tag dropped');
    const ids = async (query: string) => (await call(t.app, { method: 'GET', url: `${b}/entities?${query}`, headers: h })).body.entities.map((e: { id: string }) => e.id);
    assert.deepEqual(await ids(`tag=${encodeURIComponent('ΟΔΟΣ')}`), [created.body.id]);
    assert.deepEqual(await ids(`tag=${encodeURIComponent('İzmir')}`), [created.body.id]);
    assert.deepEqual(await ids(`search=${encodeURIComponent('ΟΔΟΣ')}`), [created.body.id]);
  });

  test('filters: type, tag (name in any case, or id) and case-insensitive search', async () => {
    const other = await createBoard(t.app, 'Filters');
    const b = `/api/investigations/${other.id}`;
    const h = other.users.member.headers;
    const anna = await createEntity(t.app, other.id, other.users.member, { entity_type: 'person', title: 'Anna KARLSSON', tags: ['Suspect'] });
    const car = await createEntity(t.app, other.id, other.users.member, { entity_type: 'evidence', title: 'Red car', description: 'Seen near anna’s house', tags: ['suspect', 'Vehicle'] });
    const park = await createEntity(t.app, other.id, other.users.member, { entity_type: 'location', title: '100% park_side', description: null });
    const ids = async (query: string) => (await call(t.app, { method: 'GET', url: `${b}/entities?${query}`, headers: h })).body.entities.map((e: { id: string }) => e.id).sort();

    assert.deepEqual(await ids('type=person'), [anna]);
    assert.deepEqual(await ids('type=location'), [park]);
    assert.deepEqual(await ids('tag=SUSPECT'), [anna, car].sort());
    const vehicle = (await call(t.app, { method: 'GET', url: `${b}/tags`, headers: h })).body.tags.find((tag: { name: string }) => tag.name === 'Vehicle');
    assert.deepEqual(await ids(`tag=${vehicle.id}`), [car]);
    assert.deepEqual(await ids('search=ANNA'), [anna, car].sort(), 'title or description, any case');
    assert.deepEqual(await ids('search=karl'), [anna]);
    assert.deepEqual(await ids('search=%25'), [park], '% is matched literally');
    assert.deepEqual(await ids('search=_'), [park], '_ is matched literally');
    assert.deepEqual(await ids('search=anna&type=evidence'), [car]);
    assert.deepEqual(await ids('tag=nope'), []);
    assert.deepEqual(await ids(''), [anna, car, park].sort());
    // The contract's `?type=&search=&tag=`: a search box or tag picker left empty is no filter.
    assert.deepEqual(await ids('search=&tag='), [anna, car, park].sort(), 'empty search and tag filter nothing');
    assert.deepEqual(await ids('tag=%20%20'), [anna, car, park].sort(), 'a blank tag filters nothing');
    assert.deepEqual(await ids('search=&type=person'), [anna]);
    assert.deepEqual((await call(t.app, { method: 'GET', url: `${b}/entities?limit=2`, headers: h })).body.entities.map((e: { id: string }) => e.id), [park, car], 'newest first, limited');
    assert.equal((await call(t.app, { method: 'GET', url: `${b}/entities?type=vehicle`, headers: h })).status, 400);
    assert.equal((await call(t.app, { method: 'GET', url: `${b}/entities?limit=5001`, headers: h })).status, 400);
  });

  test('entities of another investigation are 404 here, even to a member of both', async () => {
    const other = await createBoard(t.app, 'Other');
    const foreign = await createEntity(t.app, other.id, other.users.owner);
    const owner = board.users.owner;
    const code = (await call(t.app, { method: 'GET', url: base(), headers: owner.headers })).body.code;
    await call(t.app, { method: 'POST', url: '/api/investigations/join', headers: other.users.owner.headers, payload: { code } });
    for (const headers of [owner.headers, other.users.owner.headers]) {
      assert.equal((await call(t.app, { method: 'GET', url: `${base()}/entities/${foreign}`, headers })).status, 404);
      assert.equal((await call(t.app, { method: 'PUT', url: `${base()}/entities/${foreign}`, headers, payload: { title: 'x' } })).status, 404);
      assert.equal((await call(t.app, { method: 'DELETE', url: `${base()}/entities/${foreign}`, headers })).status, 404);
      assert.equal((await call(t.app, { method: 'GET', url: `${base()}/entities/${foreign}/comments`, headers })).status, 404);
      assert.equal((await call(t.app, { method: 'POST', url: `${base()}/entities/${foreign}/comments`, headers, payload: { content: 'x' } })).status, 404);
      assert.equal((await call(t.app, { method: 'GET', url: `${base()}/entities/${foreign}/links`, headers })).status, 404);
      assert.equal((await call(t.app, { method: 'GET', url: `${base()}/entities/${foreign}/attachments`, headers })).status, 404);
    }
    assert.equal((await call(t.app, { method: 'GET', url: `/api/investigations/${other.id}/entities/${foreign}`, headers: other.users.owner.headers })).body.title, 'Someone');
  });

  test('counts of comments and attachments come without N+1: 500 entities cost the same queries as 5', async () => {
    const big = await createBoard(t.app, 'Big');
    const db = t.app.db as unknown as Kysely<InvestigationsTables>;
    const owner = board.users.owner.user.id;
    const at = now();
    const tagId = newId();
    await db.insertInto('inv_tags').values({ id: tagId, investigation_id: big.id, name: 'bulk', color: '#000000', created_at: at }).execute();
    const ids: string[] = [];
    for (let chunk = 0; chunk < 5; chunk++) {
      const rows = Array.from({ length: 100 }, (_, i) => {
        const id = newId();
        ids.push(id);
        return {
          id, investigation_id: big.id, type: 'person' as const, title: `Person ${chunk * 100 + i}`, description: null, role: null, location: null, address: null,
          event_date: null, event_end_date: null, is_timeslot: false, evidence_type: null, photo_key: null, photo_type: null, created_by: owner, created_at: at, updated_at: at,
        };
      });
      await db.insertInto('inv_entities').values(rows).execute();
      await db.insertInto('inv_entity_tags').values(rows.map((row) => ({ entity_id: row.id, tag_id: tagId }))).execute();
      await db.insertInto('inv_comments').values(rows.map((row) => ({ id: newId(), investigation_id: big.id, entity_id: row.id, user_id: owner, content: 'c', created_at: at, updated_at: at }))).execute();
    }
    const e0 = ids[0]!;
    await db.insertInto('inv_comments').values({ id: newId(), investigation_id: big.id, entity_id: e0, user_id: owner, content: 'second', created_at: at, updated_at: at }).execute();
    const file = multipart('file', 'x.txt', Buffer.from('x'), 'text/plain');
    await call(t.app, { method: 'POST', url: `/api/investigations/${big.id}/entities/${e0}/attachments`, headers: { ...big.users.member.headers, ...file.headers }, payload: file.payload });

    const measure = async (limit: number) => {
      queries = 0;
      counting = true;
      const response = await call(t.app, { method: 'GET', url: `/api/investigations/${big.id}/entities?limit=${limit}`, headers: big.users.viewer.headers });
      counting = false;
      assert.equal(response.status, 200);
      return { count: queries, entities: response.body.entities };
    };
    const small = await measure(5);
    const large = await measure(500);
    assert.equal(small.entities.length, 5);
    assert.equal(large.entities.length, 500);
    assert.equal(large.count, small.count, `500 entities took ${large.count} queries, 5 took ${small.count}`);
    assert.ok(large.count <= 5, `${large.count} queries`);
    const again = await measure(500);
    assert.deepEqual(again.entities, large.entities);
    assert.ok(again.count < large.count, 'an unchanged board is served from the cache');
    const first = large.entities.find((e: { id: string }) => e.id === e0);
    assert.equal(first.comments_count, 2);
    assert.equal(first.attachments_count, 1);
    assert.deepEqual(first.tags.map((tag: { name: string }) => tag.name), ['bulk']);
    assert.ok(large.entities.every((e: { comments_count: number }) => e.comments_count >= 1), 'large.entities.every((e: { comments_count: number }) => e.comments_count >= 1)');
  });

  test('deleting an entity removes its links, comments and attachments', async () => {
    const a = await createEntity(t.app, board.id, board.users.member, { title: 'A' });
    const b = await createEntity(t.app, board.id, board.users.member, { title: 'B' });
    const c = await createEntity(t.app, board.id, board.users.member, { title: 'C' });
    const link1 = await call(t.app, { method: 'POST', url: `${base()}/links`, headers: as('member'), payload: { from_entity_id: a, to_entity_id: b, title: 'ab' } });
    const link2 = await call(t.app, { method: 'POST', url: `${base()}/links`, headers: as('member'), payload: { from_entity_id: c, to_entity_id: a, title: 'ca' } });
    const keep = await call(t.app, { method: 'POST', url: `${base()}/links`, headers: as('member'), payload: { from_entity_id: b, to_entity_id: c, title: 'bc' } });
    const comment = await call(t.app, { method: 'POST', url: `${base()}/entities/${a}/comments`, headers: as('member'), payload: { content: 'gone soon' } });
    const file = multipart('file', 'a.txt', Buffer.from('a'), 'text/plain');
    const attachment = await call(t.app, { method: 'POST', url: `${base()}/entities/${a}/attachments`, headers: { ...as('member'), ...file.headers }, payload: file.payload });
    assert.equal(attachment.status, 201);

    const deleted = await call(t.app, { method: 'DELETE', url: `${base()}/entities/${a}`, headers: as('member') });
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.message, 'Entity deleted successfully');
    assert.equal((await call(t.app, { method: 'GET', url: `${base()}/entities/${a}`, headers: as('member') })).status, 404);
    const links = (await call(t.app, { method: 'GET', url: `${base()}/links`, headers: as('member') })).body.links.map((l: { id: string }) => l.id);
    assert.ok(!links.includes(link1.body.id) && !links.includes(link2.body.id), '!links.includes(link1.body.id) && !links.includes(link2.body.id)');
    assert.ok(links.includes(keep.body.id), 'links.includes(keep.body.id)');
    assert.equal((await call(t.app, { method: 'PUT', url: `${base()}/comments/${comment.body.id}`, headers: as('member'), payload: { content: 'x' } })).status, 404);
    assert.equal((await call(t.app, { method: 'GET', url: `${base()}/attachments/${attachment.body.id}`, headers: as('member') })).status, 404);
    assert.equal((await call(t.app, { method: 'DELETE', url: `${base()}/entities/${a}`, headers: as('member') })).status, 404);
  });
});

describe('links', () => {
  test('create, list, list per entity and delete', async () => {
    const a = await createEntity(t.app, board.id, board.users.member, { title: 'Alice', entity_type: 'person' });
    const b = await createEntity(t.app, board.id, board.users.member, { title: 'Bar', entity_type: 'location' });
    const c = await createEntity(t.app, board.id, board.users.member, { title: 'Cafe', entity_type: 'location' });
    const created = await call(t.app, { method: 'POST', url: `${base()}/links`, headers: as('member'), payload: { from_entity_id: a, to_entity_id: b, title: 'works at', description: 'since 2020' } });
    assert.equal(created.status, 201);
    assert.equal(created.body.message, 'Link created successfully');
    await call(t.app, { method: 'POST', url: `${base()}/links`, headers: as('member'), payload: { from_entity_id: b, to_entity_id: c, title: 'near' } });

    const all = await call(t.app, { method: 'GET', url: `${base()}/links`, headers: as('viewer') });
    const link = all.body.links.find((l: { id: string }) => l.id === created.body.id);
    assert.deepEqual({ ...link, created_at: undefined }, {
      id: created.body.id,
      from_entity: { id: a, title: 'Alice', type: 'person' },
      to_entity: { id: b, title: 'Bar', type: 'location' },
      title: 'works at',
      description: 'since 2020',
      created_by: board.users.member.user.id,
      created_at: undefined,
    });
    const ofA = await call(t.app, { method: 'GET', url: `${base()}/entities/${a}/links`, headers: as('viewer') });
    assert.deepEqual(ofA.body.links.map((l: { id: string }) => l.id), [created.body.id]);
    const ofB = await call(t.app, { method: 'GET', url: `${base()}/entities/${b}/links`, headers: as('viewer') });
    assert.equal(ofB.body.links.length, 2, 'both directions');

    const del = await call(t.app, { method: 'DELETE', url: `${base()}/links/${created.body.id}`, headers: as('member') });
    assert.equal(del.status, 200);
    assert.equal((await call(t.app, { method: 'DELETE', url: `${base()}/links/${created.body.id}`, headers: as('member') })).status, 404);
    assert.equal((await call(t.app, { method: 'GET', url: `${base()}/entities/${a}/links`, headers: as('viewer') })).body.links.length, 0);
  });

  test('self-links and other investigations\u2019 entities are 400; a duplicate either way round is 409', async () => {
    const a = await createEntity(t.app, board.id, board.users.member);
    const b = await createEntity(t.app, board.id, board.users.member);
    const other = await createBoard(t.app, 'Elsewhere');
    const foreign = await createEntity(t.app, other.id, other.users.owner);
    const post = (payload: object) => call(t.app, { method: 'POST', url: `${base()}/links`, headers: as('member'), payload });
    const countLinks = async () => (await call(t.app, { method: 'GET', url: `${base()}/links`, headers: as('member') })).body.links.length;
    const before = await countLinks();

    const self = await post({ from_entity_id: a, to_entity_id: a, title: 'me' });
    assert.equal(self.status, 400);
    assert.equal(self.body.code, 'SELF_LINK');
    const cross = await post({ from_entity_id: a, to_entity_id: foreign, title: 'x' });
    assert.equal(cross.status, 400);
    assert.deepEqual(cross.body.details.map((d: { field: string }) => d.field), ['to_entity_id']);
    const missing = await post({ from_entity_id: '00000000-0000-7000-8000-000000000000', to_entity_id: b, title: 'x' });
    assert.equal(missing.status, 400);
    assert.equal((await post({ from_entity_id: a, to_entity_id: b })).status, 400, 'title required');
    assert.equal((await post({ from_entity_id: 'nope', to_entity_id: b, title: 'x' })).status, 400);
    assert.equal(await countLinks(), before);

    assert.equal((await post({ from_entity_id: a, to_entity_id: b, title: 'first' })).status, 201);
    const same = await post({ from_entity_id: a, to_entity_id: b, title: 'again' });
    assert.equal(same.status, 409);
    assert.equal(same.body.code, 'LINK_EXISTS');
    assert.equal((await post({ from_entity_id: b, to_entity_id: a, title: 'reverse' })).status, 409);
    assert.equal(await countLinks(), before + 1);
  });
});

describe('tags', () => {
  test('create, list, rename, recolour and delete; names unique per investigation ignoring case', async () => {
    const other = await createBoard(t.app, 'Tags');
    const b = `/api/investigations/${other.id}`;
    const h = other.users.member.headers;
    const created = await call(t.app, { method: 'POST', url: `${b}/tags`, headers: h, payload: { name: ' Priority ', color: '#ff0000' } });
    assert.equal(created.status, 201);
    assert.deepEqual({ ...created.body, id: undefined }, { id: undefined, name: 'Priority', color: '#FF0000' });
    const dup = await call(t.app, { method: 'POST', url: `${b}/tags`, headers: h, payload: { name: 'PRIORITY', color: '#00ff00' } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.code, 'TAG_EXISTS');
    // The same name is fine in another investigation.
    assert.equal((await call(t.app, { method: 'POST', url: `${base()}/tags`, headers: as('member'), payload: { name: 'Priority', color: '#00ff00' } })).status, 201);
    for (const payload of [{ name: 'x', color: 'red' }, { name: 'x', color: '#12345' }, { name: '', color: '#123456' }, { name: '   ', color: '#123456' }, { name: 'x', color: '#123456', extra: true }]) {
      assert.equal((await call(t.app, { method: 'POST', url: `${b}/tags`, headers: h, payload })).status, 400, JSON.stringify(payload));
    }
    const second = await call(t.app, { method: 'POST', url: `${b}/tags`, headers: h, payload: { name: 'alpha', color: '#000000' } });
    const list = await call(t.app, { method: 'GET', url: `${b}/tags`, headers: other.users.viewer.headers });
    assert.deepEqual(list.body.tags.map((tag: { name: string }) => tag.name), ['alpha', 'Priority']);

    const clash = await call(t.app, { method: 'PUT', url: `${b}/tags/${second.body.id}`, headers: h, payload: { name: 'priority' } });
    assert.equal(clash.status, 409);
    const renamed = await call(t.app, { method: 'PUT', url: `${b}/tags/${second.body.id}`, headers: h, payload: { name: 'Beta', color: '#abcdef' } });
    assert.equal(renamed.status, 200);
    assert.deepEqual(renamed.body, { id: second.body.id, name: 'Beta', color: '#ABCDEF' });

    const entity = await createEntity(t.app, other.id, other.users.member, { tags: ['beta'] });
    assert.equal((await call(t.app, { method: 'GET', url: `${b}/entities/${entity}`, headers: h })).body.tags[0].id, second.body.id);
    const del = await call(t.app, { method: 'DELETE', url: `${b}/tags/${second.body.id}`, headers: h });
    assert.equal(del.status, 200);
    assert.deepEqual((await call(t.app, { method: 'GET', url: `${b}/entities/${entity}`, headers: h })).body.tags, [], 'taken off entities');
    assert.equal((await call(t.app, { method: 'DELETE', url: `${b}/tags/${second.body.id}`, headers: h })).status, 404);
    // Another investigation's tag is 404 here.
    assert.equal((await call(t.app, { method: 'PUT', url: `${base()}/tags/${created.body.id}`, headers: as('owner'), payload: { color: '#000000' } })).status, 404);
    assert.equal((await call(t.app, { method: 'DELETE', url: `${base()}/tags/${created.body.id}`, headers: as('owner') })).status, 404);
  });
});

describe('comments', () => {
  test('post, list oldest first with the author, edit, and counts on the entity', async () => {
    const entity = await createEntity(t.app, board.id, board.users.member);
    const url = `${base()}/entities/${entity}/comments`;
    const first = await call(t.app, { method: 'POST', url, headers: as('member'), payload: { content: 'First!' } });
    assert.equal(first.status, 201);
    assert.deepEqual(Object.keys(first.body).sort(), ['author', 'content', 'created_at', 'id', 'updated_at']);
    assert.deepEqual(first.body.author, { id: board.users.member.user.id, username: null, name: board.users.member.user.name });
    await call(t.app, { method: 'POST', url, headers: as('admin'), payload: { content: 'Second' } });
    const list = await call(t.app, { method: 'GET', url, headers: as('viewer') });
    assert.deepEqual(list.body.comments.map((c: { content: string }) => c.content), ['First!', 'Second']);
    assert.equal((await call(t.app, { method: 'GET', url: `${base()}/entities/${entity}`, headers: as('viewer') })).body.comments_count, 2);
    for (const payload of [{}, { content: '' }, { content: 'x'.repeat(10_001) }, { content: 'x', extra: 1 }]) {
      assert.equal((await call(t.app, { method: 'POST', url, headers: as('member'), payload })).status, 400);
    }
    assert.equal((await call(t.app, { method: 'GET', url, headers: as('viewer') })).body.comments.length, 2);
    const other = await createBoard(t.app, 'Comments elsewhere');
    assert.equal((await call(t.app, { method: 'PUT', url: `/api/investigations/${other.id}/comments/${first.body.id}`, headers: other.users.owner.headers, payload: { content: 'x' } })).status, 404);
    assert.equal((await call(t.app, { method: 'DELETE', url: `/api/investigations/${other.id}/comments/${first.body.id}`, headers: other.users.owner.headers })).status, 404);
  });
});

test('a stranger registered later sees no investigation', async () => {
  const stranger = await registerUser(t.app);
  assert.deepEqual((await call(t.app, { method: 'GET', url: '/api/investigations', headers: stranger.headers })).body.investigations, []);
});

test('the cached list is never stale: every change that shows in it is seen at once', async () => {
  const b = await createBoard(t.app, 'Cache');
  const url = `/api/investigations/${b.id}/entities`;
  const h = b.users.member.headers;
  const list = async () => (await call(t.app, { method: 'GET', url, headers: b.users.viewer.headers })).body.entities;
  const one = async (id: string) => (await list()).find((e: { id: string }) => e.id === id);

  const id = await createEntity(t.app, b.id, b.users.member, { title: 'v1', tags: ['red'] });
  assert.equal((await one(id)).title, 'v1');
  assert.deepEqual(await list(), await list(), 'a repeated read is identical');

  await call(t.app, { method: 'PUT', url: `${url}/${id}`, headers: h, payload: { title: 'v2' } });
  assert.equal((await one(id)).title, 'v2');

  const tagId = (await one(id)).tags[0].id;
  await call(t.app, { method: 'PUT', url: `/api/investigations/${b.id}/tags/${tagId}`, headers: h, payload: { name: 'crimson', color: '#AA0000' } });
  assert.deepEqual((await one(id)).tags, [{ id: tagId, name: 'crimson', color: '#AA0000' }]);
  await call(t.app, { method: 'DELETE', url: `/api/investigations/${b.id}/tags/${tagId}`, headers: h });
  assert.deepEqual((await one(id)).tags, []);

  const comment = await call(t.app, { method: 'POST', url: `${url}/${id}/comments`, headers: h, payload: { content: 'x' } });
  assert.equal((await one(id)).comments_count, 1);
  await call(t.app, { method: 'DELETE', url: `/api/investigations/${b.id}/comments/${comment.body.id}`, headers: h });
  assert.equal((await one(id)).comments_count, 0);

  const file = multipart('file', 'a.txt', Buffer.from('a'));
  const attachment = await call(t.app, { method: 'POST', url: `${url}/${id}/attachments`, headers: { ...h, ...file.headers }, payload: file.payload });
  assert.equal((await one(id)).attachments_count, 1);
  await call(t.app, { method: 'DELETE', url: attachment.body.url, headers: h });
  assert.equal((await one(id)).attachments_count, 0);

  const photo = multipart('photo', 'p.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]));
  await call(t.app, { method: 'POST', url: `${url}/${id}/photo`, headers: { ...h, ...photo.headers }, payload: photo.payload });
  assert.equal((await one(id)).photo_url, `${url}/${id}/photo`);
  await call(t.app, { method: 'DELETE', url: `${url}/${id}/photo`, headers: h });
  assert.equal((await one(id)).photo_url, null);

  const second = await createEntity(t.app, b.id, b.users.member, { title: 'second' });
  assert.equal((await list()).length, 2);
  await call(t.app, { method: 'DELETE', url: `${url}/${second}`, headers: h });
  assert.deepEqual((await list()).map((e: { id: string }) => e.id), [id]);

  // Filters and pages are cached apart.
  assert.equal((await call(t.app, { method: 'GET', url: `${url}?search=nothing`, headers: h })).body.entities.length, 0);
  assert.equal((await call(t.app, { method: 'GET', url: `${url}?search=v2`, headers: h })).body.entities.length, 1);
});

test('a page using more than 1,000 distinct tags still lists every tag', async () => {
  const b = await createBoard(t.app, 'Many tags');
  const db = t.app.db as unknown as Kysely<InvestigationsTables>;
  const at = now();
  const entities = Array.from({ length: 21 }, (_, i) => ({
    id: newId(), investigation_id: b.id, type: 'evidence' as const, title: `E${i}`, description: null, role: null, location: null, address: null,
    event_date: null, event_end_date: null, is_timeslot: false, evidence_type: null, photo_key: null, photo_type: null, created_by: b.users.owner.user.id, created_at: at, updated_at: at,
  }));
  await db.insertInto('inv_entities').values(entities).execute();
  for (const [i, entity] of entities.entries()) {
    const tags = Array.from({ length: 50 }, (_, j) => ({ id: newId(), investigation_id: b.id, name: `t${String(i * 50 + j).padStart(4, '0')}`, color: '#000000', created_at: at }));
    await db.insertInto('inv_tags').values(tags).execute();
    await db.insertInto('inv_entity_tags').values(tags.map((tag) => ({ entity_id: entity.id, tag_id: tag.id }))).execute();
  }
  const { status, body } = await call(t.app, { method: 'GET', url: `/api/investigations/${b.id}/entities`, headers: b.users.viewer.headers });
  assert.equal(status, 200);
  assert.equal(body.entities.length, 21);
  const first = body.entities.find((e: { title: string }) => e.title === 'E0');
  assert.deepEqual(first.tags.map((tag: { name: string }) => tag.name), Array.from({ length: 50 }, (_, j) => `t${String(j).padStart(4, '0')}`));
  assert.equal(body.entities.reduce((sum: number, e: { tags: unknown[] }) => sum + e.tags.length, 0), 1050);
});

test('text made only of white space is a 400 naming the field wherever a title, name or content is required, and nothing is stored', async () => {
  const b = await createBoard(t.app, 'Blanks');
  const url = `/api/investigations/${b.id}`;
  const h = b.users.owner.headers;
  const [from, to] = [await createEntity(t.app, b.id, b.users.owner, { title: 'From' }), await createEntity(t.app, b.id, b.users.owner, { title: 'To' })];
  const tag = (await call(t.app, { method: 'POST', url: `${url}/tags`, headers: h, payload: { name: 'Kept' } })).body;
  const comment = (await call(t.app, { method: 'POST', url: `${url}/entities/${from}/comments`, headers: h, payload: { content: 'Kept' } })).body;
  const snapshot = async () => ({
    investigations: (await call(t.app, { method: 'GET', url: '/api/investigations', headers: h })).body,
    entities: (await call(t.app, { method: 'GET', url: `${url}/entities`, headers: h })).body,
    links: (await call(t.app, { method: 'GET', url: `${url}/links`, headers: h })).body,
    tags: (await call(t.app, { method: 'GET', url: `${url}/tags`, headers: h })).body,
    comments: (await call(t.app, { method: 'GET', url: `${url}/entities/${from}/comments`, headers: h })).body,
  });
  const before = await snapshot();
  const blank = ' \t\n ';
  const cases: Array<['POST' | 'PUT', string, Record<string, unknown>, string]> = [
    ['POST', '/api/investigations', { title: blank }, 'title'],
    ['PUT', url, { title: blank }, 'title'],
    ['POST', `${url}/entities`, { entity_type: 'person', title: blank }, 'title'],
    ['PUT', `${url}/entities/${from}`, { title: blank }, 'title'],
    ['POST', `${url}/entities`, { entity_type: 'person', title: 'x', tags: ['ok', blank] }, 'tags.1'],
    ['PUT', `${url}/entities/${from}`, { tags: [blank] }, 'tags.0'],
    ['POST', `${url}/links`, { from_entity_id: from, to_entity_id: to, title: blank }, 'title'],
    ['POST', `${url}/tags`, { name: blank }, 'name'],
    ['PUT', `${url}/tags/${tag.id}`, { name: blank }, 'name'],
    ['POST', `${url}/entities/${from}/comments`, { content: blank }, 'content'],
    ['PUT', `${url}/comments/${comment.id}`, { content: blank }, 'content'],
    ['POST', '/api/investigations/join', { code: blank }, 'code'],
  ];
  for (const [method, path, payload, field] of cases) {
    const { status, body } = await call(t.app, { method, url: path, headers: h, payload });
    assert.equal(status, 400, `${method} ${path} ${JSON.stringify(payload)}: ${JSON.stringify(body)}`);
    assert.equal(body.code, 'VALIDATION_FAILED', `${method} ${path}`);
    assert.deepEqual([...new Set(body.details.map((detail: { field: string }) => detail.field))], [field], `${method} ${path}`);
  }
  assert.deepEqual(await snapshot(), before, 'nothing stored or changed');
});

describe('a row removed by another process between the check and the write', { skip: process.env.TEST_DATABASE_URL ? 'the race is staged through a second SQLite connection' : false }, () => {
  test('a role change for a member who left meanwhile is 404, not a 200 for a change that did not happen', async () => {
    let removeBeforeUpdate: { board: string; user: string } | undefined;
    let other: BetterSqlite3.Database | undefined;
    const app = await startInvestigationsApp({}, {
      observeQuery: (kind) => {
        if (kind === 'UpdateQueryNode' && removeBeforeUpdate) {
          other!.prepare('delete from inv_members where investigation_id = ? and user_id = ?').run(removeBeforeUpdate.board, removeBeforeUpdate.user);
          removeBeforeUpdate = undefined;
        }
      },
    });
    try {
      other = new BetterSqlite3(path.join(app.config.dataDir, 'app.db'));
      const staged = await createBoard(app.app);
      removeBeforeUpdate = { board: staged.id, user: staged.users.member.user.id };
      const url = `/api/investigations/${staged.id}/members/${staged.users.member.user.id}`;
      const changed = await call(app.app, { method: 'PUT', url, headers: staged.users.owner.headers, payload: { role: 'admin' } });
      assert.equal(changed.status, 404, JSON.stringify(changed.body));
      const members = await call(app.app, { method: 'GET', url: `/api/investigations/${staged.id}/members`, headers: staged.users.owner.headers });
      assert.ok(!members.body.members.some((m: { id: string }) => m.id === staged.users.member.user.id), 'the member stays gone');
    } finally {
      other?.close();
      await app.close();
    }
  });

  // A comment's insert runs in a transaction, which this staging cannot enter; it maps the same error as attachments do.
  test('a link to it is 400 INVALID_REFERENCE, not a 500', async () => {
    let deleteBeforeInsert: string | undefined;
    let other: BetterSqlite3.Database | undefined;
    const app = await startInvestigationsApp({}, {
      observeQuery: (kind) => {
        // Another process (a second worker, the CLI) deletes the entity just as this insert is built.
        if (kind === 'InsertQueryNode' && deleteBeforeInsert) other!.prepare('delete from inv_entities where id = ?').run(deleteBeforeInsert);
      },
    });
    try {
      other = new BetterSqlite3(path.join(app.config.dataDir, 'app.db'));
      const staged = await createBoard(app.app);
      const member = staged.users.member;
      const [from, to] = [await createEntity(app.app, staged.id, member), await createEntity(app.app, staged.id, member)];
      deleteBeforeInsert = to;
      const link = await call(app.app, { method: 'POST', url: `/api/investigations/${staged.id}/links`, headers: member.headers, payload: { from_entity_id: from, to_entity_id: to, title: 'Met' } });
      assert.equal(link.status, 400, JSON.stringify(link.body));
      assert.equal(link.body.code, 'INVALID_REFERENCE');
    } finally {
      other?.close();
      await app.close();
    }
  });
});

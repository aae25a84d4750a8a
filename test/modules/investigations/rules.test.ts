import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hasRole } from '../../../src/modules/investigations/access.js';
import { JOIN_CODE_ALPHABET, newJoinCode, normaliseJoinCode, withUniqueCode } from '../../../src/modules/investigations/boards/join-code.js';
import { checkEventDates, entityTypeOf, normaliseEventDate, normaliseTagNames } from '../../../src/modules/investigations/entities/rules.js';
import { endsStreamOf, formatEvent } from '../../../src/modules/investigations/live/routes.js';
import { isOnline, removalDecision, roleChangeDecision } from '../../../src/modules/investigations/members/rules.js';

describe('join codes', () => {
  test('8 characters from A-Z0-9, spread over the whole alphabet', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const code = newJoinCode();
      assert.match(code, /^[A-Z0-9]{8}$/);
      for (const char of code) seen.add(char);
    }
    assert.equal(seen.size, JOIN_CODE_ALPHABET.length, 'every character occurs');
  });

  test('typed codes are trimmed and upper-cased', () => {
    assert.equal(normaliseJoinCode('  ab12cd34 '), 'AB12CD34');
  });

  test('a taken code is retried with a fresh one; other errors are not', async () => {
    const tried: string[] = [];
    const collision = new Error('taken');
    const result = await withUniqueCode(async (code) => {
      tried.push(code);
      if (tried.length < 3) throw collision;
      return code;
    }, (error) => error === collision);
    assert.equal(tried.length, 3);
    assert.equal(result, tried[2]);
    await assert.rejects(withUniqueCode(async () => { throw new Error('disk'); }, (error) => error === collision), /disk/);
    await assert.rejects(withUniqueCode(async () => { throw collision; }, (error) => error === collision, 4), /taken/);
  });
});

describe('roles', () => {
  test('owner > admin > member > viewer', () => {
    assert.ok(hasRole('owner', 'admin') && hasRole('admin', 'member') && hasRole('member', 'viewer') && hasRole('viewer', 'viewer'), "hasRole('owner', 'admin') && hasRole('admin', 'member') && hasRole('member', 'viewer') && hasRole('viewer', 'viewer')");
    assert.ok(!hasRole('viewer', 'member') && !hasRole('member', 'admin') && !hasRole('admin', 'owner'), "!hasRole('viewer', 'member') && !hasRole('member', 'admin') && !hasRole('admin', 'owner')");
  });

  test('removal: nobody removes the owner; anyone leaves; admins and the owner remove others', () => {
    const owner = { userId: 'o', role: 'owner' as const };
    const admin = { userId: 'a', role: 'admin' as const };
    const member = { userId: 'm', role: 'member' as const };
    const viewer = { userId: 'v', role: 'viewer' as const };
    assert.deepEqual(removalDecision(owner, owner), { allowed: false, status: 403, code: 'OWNER_CANNOT_BE_REMOVED', message: 'The owner cannot be removed from the investigation' });
    assert.equal(removalDecision(admin, owner).allowed, false);
    assert.deepEqual(removalDecision(viewer, viewer), { allowed: true, self: true });
    assert.deepEqual(removalDecision(admin, member), { allowed: true, self: false });
    assert.deepEqual(removalDecision(admin, { userId: 'a2', role: 'admin' }), { allowed: true, self: false });
    assert.deepEqual(removalDecision(owner, admin), { allowed: true, self: false });
    const refused = removalDecision(member, viewer);
    assert.equal(refused.allowed, false);
    assert.equal(!refused.allowed && refused.status, 403);
  });

  test("the owner's role is fixed", () => {
    assert.deepEqual(roleChangeDecision({ userId: 'o', role: 'owner' }), { allowed: false, status: 403, code: 'OWNER_ROLE_FIXED', message: "The owner's role cannot be changed" });
    assert.equal(roleChangeDecision({ userId: 'v', role: 'viewer' }).allowed, true);
  });
});

describe('presence', () => {
  test('online means a heartbeat within the last 30 seconds', () => {
    const at = Date.parse('2024-01-01T12:00:30.000Z');
    assert.equal(isOnline(null, at), false);
    assert.equal(isOnline('2024-01-01T12:00:00.000Z', at), true);
    assert.equal(isOnline('2024-01-01T11:59:59.999Z', at), false);
    assert.equal(isOnline('garbage', at), false);
  });
});

describe('entities', () => {
  test('tag names: trimmed, first spelling kept, duplicates in any case dropped (blank names are refused by the body schema)', () => {
    assert.deepEqual(normaliseTagNames([' Urgent ', 'urgent', 'URGENT', 'Docks', ' docks']), ['Urgent', 'Docks']);
    assert.deepEqual(normaliseTagNames([]), []);
  });

  test('event dates: dates stay dates, date-times become UTC; the end may not precede the start', () => {
    assert.equal(normaliseEventDate('2024-03-01'), '2024-03-01');
    assert.equal(normaliseEventDate('2024-03-01T21:00:00+01:00'), '2024-03-01T20:00:00.000Z');
    assert.equal(normaliseEventDate(null), null);
    assert.equal(normaliseEventDate(undefined), undefined);
    assert.doesNotThrow(() => checkEventDates('2024-03-01', '2024-03-01'));
    assert.doesNotThrow(() => checkEventDates('2024-03-01T10:00:00.000Z', null));
    assert.doesNotThrow(() => checkEventDates(null, '2024-03-01'));
    assert.throws(() => checkEventDates('2024-03-02', '2024-03-01'), /before/);
    assert.throws(() => checkEventDates('2024-03-01T10:00:00.000Z', '2024-03-01T09:59:59.000Z'), /before/);
  });

  test('entity_type, or type, and both must agree', () => {
    assert.equal(entityTypeOf({ entity_type: 'person' }), 'person');
    assert.equal(entityTypeOf({ type: 'event' }), 'event');
    assert.equal(entityTypeOf({ entity_type: 'event', type: 'event' }), 'event');
    assert.equal(entityTypeOf({}), undefined);
    assert.throws(() => entityTypeOf({ entity_type: 'person', type: 'event' }), /disagree/);
  });
});

describe('event stream', () => {
  test('events are formatted as one SSE block with single-line JSON data', () => {
    assert.equal(formatEvent({ type: 'entity.deleted', data: { id: 'x' } }), 'event: entity.deleted\ndata: {"id":"x"}\n\n');
    assert.equal(formatEvent({ type: 'comment.created', data: { content: 'two\nlines' } }), 'event: comment.created\ndata: {"content":"two\\nlines"}\n\n');
  });

  test('a stream ends when its user is removed or the investigation is deleted', () => {
    assert.equal(endsStreamOf({ type: 'member.removed', data: { id: 'u1' } }, 'u1'), true);
    assert.equal(endsStreamOf({ type: 'member.removed', data: { id: 'u2' } }, 'u1'), false);
    assert.equal(endsStreamOf({ type: 'investigation.deleted', data: { id: 'i' } }, 'u1'), true);
    assert.equal(endsStreamOf({ type: 'entity.deleted', data: { id: 'u1' } }, 'u1'), false);
  });
});

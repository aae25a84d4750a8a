import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, type TestApp } from '../../helpers/app.js';
import { createBoard, createEntity, eventually, multipart, multipartParts, PNG_BYTES, startInvestigationsApp, type Board } from './helpers.js';

let t: TestApp;
let board: Board;
before(async () => {
  t = await startInvestigationsApp();
  board = await createBoard(t.app);
});
after(() => t.close());

const base = () => `/api/investigations/${board.id}`;
const member = () => board.users.member.headers;

function storedFiles(app: TestApp): Array<{ name: string; size: number }> {
  const dir = path.join(app.config.dataDir, 'uploads', 'investigations');
  try {
    return readdirSync(dir).map((name) => ({ name, size: statSync(path.join(dir, name)).size }));
  } catch {
    return [];
  }
}

async function upload(entity: string, field: string, filename: string, content: Buffer, type?: string, headers = member()) {
  const file = multipart(field, filename, content, type);
  const kind = field === 'photo' ? 'photo' : 'attachments';
  return call(t.app, { method: 'POST', url: `${base()}/entities/${entity}/${kind}`, headers: { ...headers, ...file.headers }, payload: file.payload });
}

describe('attachments', () => {
  test('upload, list and download: generated stored name, client name as metadata only', async () => {
    const entity = await createEntity(t.app, board.id, board.users.member);
    const content = Buffer.from('%PDF-1.4 fake but recognisable');
    const before = storedFiles(t).length;
    const created = await upload(entity, 'file', '../../etc/re<port>\u0007.pdf', content, 'text/html');
    assert.equal(created.status, 201);
    const attachment = created.body;
    assert.deepEqual(Object.keys(attachment).sort(), ['file_type', 'filename', 'id', 'size', 'uploaded_at', 'uploaded_by', 'url']);
    assert.equal(attachment.filename, 're_port__.pdf');
    assert.equal(attachment.file_type, 'application/pdf', 'recognised by content, not the declared type');
    assert.equal(attachment.size, content.length);
    assert.equal(attachment.uploaded_by, board.users.member.user.id);
    assert.equal(attachment.url, `${base()}/attachments/${attachment.id}`);

    const files = storedFiles(t);
    assert.equal(files.length, before + 1);
    assert.ok(files.every((file) => /^[0-9a-f-]{36}$/.test(file.name)), 'stored under generated names only');

    const list = await call(t.app, { method: 'GET', url: `${base()}/entities/${entity}/attachments`, headers: board.users.viewer.headers });
    assert.deepEqual(list.body.attachments, [attachment]);
    assert.equal((await call(t.app, { method: 'GET', url: `${base()}/entities/${entity}`, headers: member() })).body.attachments_count, 1);

    const download = await t.app.inject({ method: 'GET', url: attachment.url, headers: board.users.viewer.headers });
    assert.equal(download.statusCode, 200);
    assert.deepEqual(download.rawPayload, content);
    assert.equal(download.headers['content-type'], 'application/pdf');
    assert.equal(download.headers['x-content-type-options'], 'nosniff');
    assert.equal(download.headers['content-disposition'], `attachment; filename="re_port__.pdf"; filename*=UTF-8''re_port__.pdf`);
    assert.equal(Number(download.headers['content-length']), content.length);
  });

  test('unknown content keeps a well-formed declared type; downloads are still attachments', async () => {
    const entity = await createEntity(t.app, board.id, board.users.member);
    const html = await upload(entity, 'file', 'page.html', Buffer.from('<script>alert(1)</script>'), 'text/html');
    assert.equal(html.body.file_type, 'text/html');
    const download = await t.app.inject({ method: 'GET', url: html.body.url, headers: member() });
    assert.match(String(download.headers['content-disposition']), /^attachment;/);
    assert.equal(download.headers['x-content-type-options'], 'nosniff');
    const odd = await upload(entity, 'file', 'x.bin', Buffer.from('plain'), 'nonsense');
    assert.equal(odd.body.file_type, 'application/octet-stream');
  });

  test('bad uploads are 4xx and leave nothing behind', async () => {
    const entity = await createEntity(t.app, board.id, board.users.member);
    const before = storedFiles(t).length;
    const wrongField = await upload(entity, 'document', 'a.txt', Buffer.from('a'));
    assert.equal(wrongField.status, 400);
    assert.equal(wrongField.body.details[0].field, 'file');
    const notMultipart = await call(t.app, { method: 'POST', url: `${base()}/entities/${entity}/attachments`, headers: member(), payload: { file: 'x' } });
    assert.equal(notMultipart.status, 415);
    const boundary = 'xyz';
    const noFile = await call(t.app, {
      method: 'POST',
      url: `${base()}/entities/${entity}/attachments`,
      headers: { ...member(), 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: `--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n--${boundary}--\r\n`,
    });
    assert.equal(noFile.status, 400);
    const truncated = await call(t.app, {
      method: 'POST',
      url: `${base()}/entities/${entity}/attachments`,
      headers: { ...member(), 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhalf a file`,
    });
    assert.equal(truncated.status, 400, JSON.stringify(truncated.body));
    const missingEntity = await upload('00000000-0000-7000-8000-000000000000', 'file', 'a.txt', Buffer.from('a'));
    assert.equal(missingEntity.status, 404);
    assert.equal(storedFiles(t).length, before);
    assert.deepEqual((await call(t.app, { method: 'GET', url: `${base()}/entities/${entity}/attachments`, headers: member() })).body.attachments, []);
  });

  test('more than one file in one upload is 400 TOO_MANY_FILES and keeps none of them, for attachments and photos', async () => {
    const entity = await createEntity(t.app, board.id, board.users.member);
    const before = storedFiles(t).length;
    const send = (kind: string, body: ReturnType<typeof multipartParts>) =>
      call(t.app, { method: 'POST', url: `${base()}/entities/${entity}/${kind}`, headers: { ...member(), ...body.headers }, payload: body.payload });
    const uploads: Array<[string, ReturnType<typeof multipartParts>]> = [
      ['attachments', multipartParts([{ field: 'file', filename: 'a.txt', content: 'first' }, { field: 'file', filename: 'b.txt', content: 'second' }])],
      ['attachments', multipartParts([{ field: 'file', filename: 'a.txt', content: 'first' }, { field: 'note', content: 'a form field' }, { field: 'other', filename: 'b.txt', content: 'second' }])],
      ['photo', multipartParts([{ field: 'photo', filename: 'a.png', content: PNG_BYTES }, { field: 'photo', filename: 'b.png', content: PNG_BYTES }])],
    ];
    for (const [kind, body] of uploads) {
      const response = await send(kind, body);
      assert.equal(response.status, 400, `${kind}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.code, 'TOO_MANY_FILES', kind);
    }
    assert.equal(storedFiles(t).length, before, 'no file kept');
    assert.deepEqual((await call(t.app, { method: 'GET', url: `${base()}/entities/${entity}/attachments`, headers: member() })).body.attachments, []);
    assert.equal((await call(t.app, { method: 'GET', url: `${base()}/entities/${entity}`, headers: member() })).body.photo_url, null);
    // One file with form fields around it is still one upload.
    const withFields = await send('attachments', multipartParts([{ field: 'note', content: 'x' }, { field: 'file', filename: 'a.txt', content: 'only' }, { field: 'note', content: 'y' }]));
    assert.equal(withFields.status, 201, JSON.stringify(withFields.body));
    assert.equal(withFields.body.size, 4);
  });

  test('deleting an attachment deletes its file', async () => {
    const entity = await createEntity(t.app, board.id, board.users.member);
    const before = storedFiles(t).length;
    const created = await upload(entity, 'file', 'a.txt', Buffer.from('delete me'));
    assert.equal(storedFiles(t).length, before + 1);
    const del = await call(t.app, { method: 'DELETE', url: created.body.url, headers: member() });
    assert.equal(del.status, 200);
    assert.equal(storedFiles(t).length, before);
    assert.equal((await call(t.app, { method: 'GET', url: created.body.url, headers: member() })).status, 404);
    assert.equal((await call(t.app, { method: 'DELETE', url: created.body.url, headers: member() })).status, 404);
  });

  test('a 20 MB file streams to disk and back byte for byte over real HTTP', async () => {
    const url = await t.listen();
    const entity = await createEntity(t.app, board.id, board.users.member);
    const boundary = `----big${randomBytes(6).toString('hex')}`;
    const sent = createHash('sha256');
    const CHUNK = 256 * 1024;
    const TOTAL = 20 * 1024 * 1024;
    const before = storedFiles(t).map((file) => file.name);

    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(`${url}${base()}/entities/${entity}/attachments`, {
        method: 'POST',
        headers: { ...member(), 'content-type': `multipart/form-data; boundary=${boundary}` },
      });
      request.on('error', reject);
      request.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      void (async () => {
        const write = (data: Buffer | string) => new Promise<void>((done) => (request.write(data) ? done() : request.once('drain', done)));
        await write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="evidence.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
        for (let written = 0; written < TOTAL; written += CHUNK) {
          const chunk = randomBytes(CHUNK);
          sent.update(chunk);
          await write(chunk);
          if (written === TOTAL / 2) {
            // Half sent and the request still open: the file must already be growing on disk.
            await eventually(() => storedFiles(t).some((file) => !before.includes(file.name) && file.size > 1024 * 1024), 'the upload to reach the disk while streaming');
          }
        }
        request.end(`\r\n--${boundary}--\r\n`);
      })().catch(reject);
    });
    const { status, body } = await response;
    assert.equal(status, 201, body);
    const attachment = JSON.parse(body);
    assert.equal(attachment.size, TOTAL);

    const download = await fetch(`${url}${attachment.url}`, { headers: member() });
    assert.equal(download.status, 200);
    assert.equal(download.headers.get('content-length'), String(TOTAL));
    const received = createHash('sha256');
    let bytes = 0;
    for await (const chunk of download.body!) {
      received.update(chunk);
      bytes += chunk.length;
    }
    assert.equal(bytes, TOTAL);
    assert.equal(received.digest('hex'), sent.digest('hex'));
  });
});

describe('photos', () => {
  test('only images, recognised by content; photo_url is served as a download; replacing and removing delete files', async () => {
    const entity = await createEntity(t.app, board.id, board.users.member);
    const before = storedFiles(t).length;
    const fake = await upload(entity, 'photo', 'cat.png', Buffer.from('<svg onload="alert(1)"></svg>'), 'image/png');
    assert.equal(fake.status, 415);
    assert.equal(fake.body.code, 'UNSUPPORTED_FILE_TYPE');
    assert.equal(storedFiles(t).length, before, 'refused photo not kept');
    const wrongField = await upload(entity, 'file', 'cat.png', PNG_BYTES, 'image/png');
    assert.equal(wrongField.status, 201, 'the attachments route takes any file');
    const wrongPhotoField = await upload(entity, 'image', 'cat.png', PNG_BYTES);
    assert.equal(wrongPhotoField.status, 400);

    const set = await upload(entity, 'photo', 'notes.txt', PNG_BYTES, 'text/plain');
    assert.equal(set.status, 200);
    assert.equal(set.body.photo_url, `${base()}/entities/${entity}/photo`);
    assert.equal(set.body.message, 'Photo uploaded successfully');
    assert.equal((await call(t.app, { method: 'GET', url: `${base()}/entities/${entity}`, headers: member() })).body.photo_url, set.body.photo_url);
    const photo = await t.app.inject({ method: 'GET', url: set.body.photo_url, headers: board.users.viewer.headers });
    assert.equal(photo.statusCode, 200);
    assert.deepEqual(photo.rawPayload, PNG_BYTES);
    assert.equal(photo.headers['content-type'], 'image/png');
    assert.equal(photo.headers['x-content-type-options'], 'nosniff');
    assert.match(String(photo.headers['content-disposition']), /^attachment;/);
    const withPhoto = storedFiles(t).length;

    const gif = Buffer.concat([Buffer.from('GIF89a'), randomBytes(50)]);
    const replaced = await upload(entity, 'photo', 'x.gif', gif);
    assert.equal(replaced.status, 200);
    assert.equal(storedFiles(t).length, withPhoto, 'the old photo file is deleted');
    assert.equal((await t.app.inject({ method: 'GET', url: set.body.photo_url, headers: member() })).headers['content-type'], 'image/gif');

    const removed = await call(t.app, { method: 'DELETE', url: set.body.photo_url, headers: member() });
    assert.equal(removed.status, 200);
    assert.equal(storedFiles(t).length, withPhoto - 1);
    assert.equal((await call(t.app, { method: 'GET', url: `${base()}/entities/${entity}`, headers: member() })).body.photo_url, null);
    assert.equal((await call(t.app, { method: 'GET', url: set.body.photo_url, headers: member() })).status, 404);
    assert.equal((await call(t.app, { method: 'DELETE', url: set.body.photo_url, headers: member() })).status, 404);
  });
});

describe('files go with what holds them', () => {
  test('deleting an entity deletes its attachments and photo files', async () => {
    const entity = await createEntity(t.app, board.id, board.users.member);
    const before = storedFiles(t).length;
    await upload(entity, 'file', 'a.txt', Buffer.from('a'));
    await upload(entity, 'file', 'b.txt', Buffer.from('b'));
    await upload(entity, 'photo', 'p.png', PNG_BYTES);
    assert.equal(storedFiles(t).length, before + 3);
    assert.equal((await call(t.app, { method: 'DELETE', url: `${base()}/entities/${entity}`, headers: member() })).status, 200);
    assert.equal(storedFiles(t).length, before);
  });

  test('deleting an investigation deletes every file in it and nothing of other investigations', async () => {
    const doomed = await createBoard(t.app, 'Doomed');
    const keepEntity = await createEntity(t.app, board.id, board.users.member);
    await upload(keepEntity, 'file', 'keep.txt', Buffer.from('keep'));
    const keep = storedFiles(t).map((file) => file.name);
    const e1 = await createEntity(t.app, doomed.id, doomed.users.member);
    const e2 = await createEntity(t.app, doomed.id, doomed.users.member);
    for (const [entity, field, content] of [[e1, 'file', Buffer.from('1')], [e1, 'photo', PNG_BYTES], [e2, 'file', Buffer.from('2')]] as const) {
      const file = multipart(field, 'f', content);
      const kind = field === 'photo' ? 'photo' : 'attachments';
      const res = await call(t.app, { method: 'POST', url: `/api/investigations/${doomed.id}/entities/${entity}/${kind}`, headers: { ...doomed.users.member.headers, ...file.headers }, payload: file.payload });
      assert.ok(res.status < 300, 'res.status < 300');
    }
    assert.equal(storedFiles(t).length, keep.length + 3);
    const del = await call(t.app, { method: 'DELETE', url: `/api/investigations/${doomed.id}`, headers: doomed.users.owner.headers });
    assert.equal(del.status, 200);
    assert.deepEqual(storedFiles(t).map((file) => file.name).sort(), [...keep].sort());
  });
});

describe('UPLOAD_MAX_MB', () => {
  let small: TestApp;
  let smallBoard: Board;
  before(async () => {
    small = await startInvestigationsApp({ UPLOAD_MAX_MB: '1' });
    smallBoard = await createBoard(small.app);
  });
  after(() => small.close());

  test('a file over the limit is 413 and nothing is kept; one at the limit is accepted', async () => {
    const entity = await createEntity(small.app, smallBoard.id, smallBoard.users.member);
    const url = `/api/investigations/${smallBoard.id}/entities/${entity}/attachments`;
    const headers = smallBoard.users.member.headers;
    const over = multipart('file', 'big.bin', randomBytes(1024 * 1024 + 1));
    const refused = await call(small.app, { method: 'POST', url, headers: { ...headers, ...over.headers }, payload: over.payload });
    assert.equal(refused.status, 413);
    assert.equal(refused.body.code, 'PAYLOAD_TOO_LARGE');
    assert.deepEqual(storedFiles(small), []);
    assert.deepEqual((await call(small.app, { method: 'GET', url, headers })).body.attachments, []);

    const photo = multipart('photo', 'big.png', Buffer.concat([PNG_BYTES, randomBytes(2 * 1024 * 1024)]));
    const refusedPhoto = await call(small.app, { method: 'POST', url: `/api/investigations/${smallBoard.id}/entities/${entity}/photo`, headers: { ...headers, ...photo.headers }, payload: photo.payload });
    assert.equal(refusedPhoto.status, 413);
    assert.deepEqual(storedFiles(small), []);

    const exact = multipart('file', 'exact.bin', randomBytes(1024 * 1024));
    const accepted = await call(small.app, { method: 'POST', url, headers: { ...headers, ...exact.headers }, payload: exact.payload });
    assert.equal(accepted.status, 201);
    assert.equal(accepted.body.size, 1024 * 1024);
  });
});

describe('concurrent deletes: one 200, the rest 404 (on PostgreSQL all answered 200)', () => {
  const statuses = (responses: Array<{ status: number }>) => responses.map((response) => response.status).sort();
  const ONE_WINS = [200, ...Array(9).fill(404)];
  const tenTimes = (url: string, headers = member()) => Promise.all(Array.from({ length: 10 }, () => call(t.app, { method: 'DELETE', url, headers })));

  test('an attachment: its file goes once, the count drops once', async () => {
    const entity = await createEntity(t.app, board.id, board.users.member);
    const before = storedFiles(t).length;
    const { body: attachment } = await upload(entity, 'file', 'a.txt', Buffer.from('race'));
    const responses = await tenTimes(attachment.url);
    assert.deepEqual(statuses(responses), ONE_WINS, JSON.stringify(responses.map((response) => response.body)));
    assert.equal(storedFiles(t).length, before);
    assert.equal((await call(t.app, { method: 'GET', url: `${base()}/entities/${entity}`, headers: member() })).body.attachments_count, 0);
  });

  test('a photo; and concurrent uploads leave exactly one photo file, no orphans', async () => {
    const entity = await createEntity(t.app, board.id, board.users.member);
    const before = storedFiles(t).length;
    const uploads = await Promise.all(Array.from({ length: 6 }, () => upload(entity, 'photo', 'p.png', PNG_BYTES)));
    assert.deepEqual(uploads.map((response) => response.status), Array(6).fill(200));
    assert.equal(storedFiles(t).length, before + 1, 'one photo file, the one the entity points to');
    const responses = await tenTimes(`${base()}/entities/${entity}/photo`);
    assert.deepEqual(statuses(responses), ONE_WINS, JSON.stringify(responses.map((response) => response.body)));
    assert.equal(storedFiles(t).length, before);
    assert.equal((await call(t.app, { method: 'GET', url: `${base()}/entities/${entity}`, headers: member() })).body.photo_url, null);
  });

  test('an entity, and a comment', async () => {
    const entity = await createEntity(t.app, board.id, board.users.member);
    const comment = await call(t.app, { method: 'POST', url: `${base()}/entities/${entity}/comments`, headers: member(), payload: { content: 'race' } });
    assert.equal(comment.status, 201);
    const comments = await tenTimes(`${base()}/comments/${comment.body.id}`);
    assert.deepEqual(statuses(comments), ONE_WINS, JSON.stringify(comments.map((response) => response.body)));
    const responses = await tenTimes(`${base()}/entities/${entity}`);
    assert.deepEqual(statuses(responses), ONE_WINS, JSON.stringify(responses.map((response) => response.body)));
  });

  test('an investigation (was ten 200s on both engines)', async () => {
    const doomed = await createBoard(t.app, 'Raced');
    const entity = await createEntity(t.app, doomed.id, doomed.users.member);
    const before = storedFiles(t).length;
    const file = multipart('file', 'f.txt', Buffer.from('x'));
    const uploaded = await call(t.app, { method: 'POST', url: `/api/investigations/${doomed.id}/entities/${entity}/attachments`, headers: { ...doomed.users.member.headers, ...file.headers }, payload: file.payload });
    assert.equal(uploaded.status, 201);
    const responses = await tenTimes(`/api/investigations/${doomed.id}`, doomed.users.owner.headers);
    assert.deepEqual(statuses(responses), ONE_WINS, JSON.stringify(responses.map((response) => response.body)));
    assert.equal(storedFiles(t).length, before);
  });
});

describe('a file arriving while its entity is deleted (PostgreSQL)', { skip: process.env.TEST_DATABASE_URL ? false : 'a PostgreSQL row lock stages the race' }, () => {
  test('is removed with the entity, never left on disk with no row', async () => {
    const { default: pg } = await import('pg');
    const outside = new pg.Client({ connectionString: t.config.databaseUrl! });
    await outside.connect();
    try {
      const entity = await createEntity(t.app, board.id, board.users.member);
      const before = storedFiles(t).length;
      // Another transaction holds a key-share lock on the entity (as any insert referencing it does),
      // so the delete waits at the entity's row: the upload commits while it waits.
      await outside.query('begin');
      await outside.query('select 1 from inv_entities where id = $1 for key share', [entity]);
      const deleting = call(t.app, { method: 'DELETE', url: `${base()}/entities/${entity}`, headers: member() });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const uploaded = await upload(entity, 'file', 'late.pdf', Buffer.from('%PDF-1.4 late'));
      await outside.query('commit');
      assert.equal((await deleting).status, 200);
      assert.ok([201, 404].includes(uploaded.status), `upload ${uploaded.status}`);
      await eventually(() => storedFiles(t).length === before, 'no file left behind');
    } finally {
      await outside.end();
    }
  });
});

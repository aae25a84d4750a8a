import assert from 'node:assert/strict';
import fs, { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { contentDisposition, detectImageType, fileTypeOf, sanitizeFilename } from '../../../src/core/storage/file-type.js';
import { createDiskStorage, FileTooLargeError, isStorageKey } from '../../../src/core/storage/storage.js';
import { AppError } from '../../../src/core/http/errors.js';

const root = mkdtempSync(path.join(tmpdir(), 'ub-storage-'));
after(() => rmSync(root, { recursive: true, force: true }));
const storage = createDiskStorage(root);

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

/** A stream of `total` bytes in small chunks, as a network upload would arrive. */
function chunked(total: number, chunkSize = 1000): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return this.push(null);
      const size = Math.min(chunkSize, total - sent);
      this.push(Buffer.alloc(size, sent % 251));
      sent += size;
    },
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const filesIn = (namespace: string): string[] => {
  try {
    return readdirSync(path.join(root, namespace));
  } catch {
    return [];
  }
};

describe('disk storage', () => {
  test('save, open and delete round trip under a generated name', async () => {
    const content = Buffer.from('hello storage');
    const saved = await storage.save(Readable.from([content]), { namespace: 'roundtrip', maxBytes: 100 });
    assert.ok(isStorageKey(saved.key), 'isStorageKey(saved.key)');
    assert.match(saved.key, /^roundtrip\/[0-9a-f-]{36}$/);
    assert.equal(saved.size, content.length);
    assert.deepEqual(saved.head, content);
    const opened = await storage.open(saved.key);
    assert.ok(opened, 'opened');
    assert.equal(opened.size, content.length);
    assert.deepEqual(await readAll(opened.stream), content);
    await storage.delete(saved.key);
    assert.equal(await storage.open(saved.key), null);
    await storage.delete(saved.key); // already gone: not an error
  });

  test('two saves never share a name', async () => {
    const a = await storage.save(Readable.from([Buffer.from('a')]), { namespace: 'unique', maxBytes: 10 });
    const b = await storage.save(Readable.from([Buffer.from('a')]), { namespace: 'unique', maxBytes: 10 });
    assert.notEqual(a.key, b.key);
    assert.equal(filesIn('unique').length, 2);
  });

  test('a file over the limit fails with 413 and leaves nothing behind', async () => {
    await assert.rejects(storage.save(chunked(5000), { namespace: 'limit', maxBytes: 4999 }), (error) => {
      assert.ok(error instanceof FileTooLargeError, 'error instanceof FileTooLargeError');
      assert.equal(error.statusCode, 413);
      return true;
    });
    assert.deepEqual(filesIn('limit'), []);
    const exact = await storage.save(chunked(5000), { namespace: 'limit', maxBytes: 5000 });
    assert.equal(exact.size, 5000);
  });

  test('a save that fails before its file has even opened leaves nothing behind, also moments later', async (t) => {
    // A slow disk: the file opens only after the oversized first chunk has failed the save.
    const open = fs.open;
    t.mock.method(fs, 'open', (...args: Parameters<typeof fs.open>) => setTimeout(() => open(...args), 30));
    await assert.rejects(storage.save(Readable.from([Buffer.alloc(100)]), { namespace: 'early', maxBytes: 10 }), FileTooLargeError);
    t.mock.restoreAll();
    assert.deepEqual(filesIn('early'), []);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(filesIn('early'), []);
  });

  test('accept sees the first bytes and can refuse the file before it is kept', async () => {
    const seen: Buffer[] = [];
    const refuse = (head: Buffer) => {
      seen.push(head);
      if (!detectImageType(head)) throw new AppError(400, 'NOT_AN_IMAGE', 'no');
    };
    await assert.rejects(storage.save(chunked(10_000, 7), { namespace: 'accept', maxBytes: 1e6, accept: refuse }), /no/);
    assert.equal(seen[0]!.length, 64);
    assert.deepEqual(filesIn('accept'), []);

    const png = Buffer.concat([PNG, Buffer.alloc(10_000, 1)]);
    const saved = await storage.save(Readable.from([png.subarray(0, 3), png.subarray(3, 20), png.subarray(20)]), {
      namespace: 'accept',
      maxBytes: 1e6,
      accept: refuse,
    });
    assert.equal(saved.size, png.length);
    assert.deepEqual(await readAll((await storage.open(saved.key))!.stream), png);

    // A file shorter than the head is still inspected (at its end).
    await assert.rejects(storage.save(Readable.from([Buffer.from('GIF')]), { namespace: 'accept', maxBytes: 10, accept: refuse }), /no/);
    const tiny = await storage.save(Readable.from([PNG]), { namespace: 'accept', maxBytes: 100, accept: refuse });
    assert.equal(tiny.size, PNG.length);
  });

  test('keys that are not ours are refused without touching the disk', async () => {
    for (const key of ['../etc/passwd', 'a/../../x', '/etc/passwd', 'ok/not-a-uuid', 'UP/01234567-89ab-cdef-0123-456789abcdef']) {
      assert.equal(isStorageKey(key), false, key);
      assert.equal(await storage.open(key), null);
      await storage.delete(key);
    }
    await assert.rejects(storage.save(Readable.from([Buffer.from('x')]), { namespace: '../up', maxBytes: 10 }), /namespace/);
  });

  test('a failing source leaves nothing behind', async () => {
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(100));
        this.destroy(new Error('client went away'));
      },
    });
    await assert.rejects(storage.save(failing, { namespace: 'broken', maxBytes: 1e6 }), /client went away/);
    assert.deepEqual(filesIn('broken'), []);
  });
});

describe('file types and names', () => {
  test('images are recognised by content only', () => {
    assert.equal(detectImageType(PNG), 'image/png');
    assert.equal(detectImageType(Buffer.from([0xff, 0xd8, 0xff, 0xe0])), 'image/jpeg');
    assert.equal(detectImageType(Buffer.from('GIF89a....')), 'image/gif');
    assert.equal(detectImageType(Buffer.from('RIFF\x00\x00\x00\x00WEBPVP8 ', 'latin1')), 'image/webp');
    assert.equal(detectImageType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>')), null);
    assert.equal(detectImageType(Buffer.from('<html><script>alert(1)</script>')), null);
    assert.equal(detectImageType(Buffer.alloc(0)), null);
  });

  test('file types: content first, then a well-formed declared type, else octet-stream', () => {
    assert.equal(fileTypeOf(PNG, 'text/html'), 'image/png');
    assert.equal(fileTypeOf(Buffer.from('%PDF-1.7'), undefined), 'application/pdf');
    assert.equal(fileTypeOf(Buffer.from('hello'), 'Text/Plain; charset=utf-8'), 'text/plain');
    assert.equal(fileTypeOf(Buffer.from('hello'), 'not a type'), 'application/octet-stream');
    assert.equal(fileTypeOf(Buffer.from('hello'), undefined), 'application/octet-stream');
  });

  test('client file names lose directories and dangerous characters', () => {
    assert.equal(sanitizeFilename('../../etc/passwd'), 'passwd');
    assert.equal(sanitizeFilename('C:\\Users\\x\\report.pdf'), 'report.pdf');
    assert.equal(sanitizeFilename('a"b\r\nc.txt'), 'a_b__c.txt');
    assert.equal(sanitizeFilename('.hidden'), 'hidden');
    assert.equal(sanitizeFilename(''), 'file');
    assert.equal(sanitizeFilename(undefined, 'photo'), 'photo');
    assert.equal(sanitizeFilename('x'.repeat(400)).length, 255);
    assert.equal(sanitizeFilename('résumé.pdf'), 'résumé.pdf');
  });

  test('Content-Disposition keeps the header well-formed for any name', () => {
    assert.equal(contentDisposition('report.pdf'), `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
    const header = contentDisposition('résumé "final".pdf');
    assert.match(header, /^attachment; filename="r_sum_ _final_\.pdf"; filename\*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22\.pdf$/);
  });
});

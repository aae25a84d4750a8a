import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fastify } from 'fastify';
import { createMemoryBus, type Bus } from '../../../src/core/bus/bus.js';
import type { JobOutcome, JobQueue } from '../../../src/modules/chat/jobs.js';
import { JobPeers, type RemoteStream } from '../../../src/modules/chat/peers.js';

/**
 * The stream protocol between processes, with the other process played by hand: one bus in memory
 * that claims to span processes, a JobPeers asking, and a handler answering what a real peer would,
 * or what a lossy bus would let through.
 */

type Asked = { op: string; id?: string; owner?: string; from: string; nonce: string };

function sharedBus(): Bus {
  return { ...createMemoryBus(), spansProcesses: true };
}

/** The asking side never holds the job it watches, so its own queue is never consulted. */
const noLocalJobs = {} as JobQueue;
const quietLog = fastify({ logger: false }).log;

async function watchWithPeer(bus: Bus, answer: (asked: Asked, reply: (message: object) => Promise<void>) => void) {
  const heard: Asked[] = [];
  bus.subscribe('chat-jobs:ask', (message) => {
    const asked = message as Asked;
    heard.push(asked);
    answer(asked, (reply) => bus.publish(`chat-jobs:reply:${asked.from}`, { ...reply, nonce: asked.nonce }));
  });
  const peers = new JobPeers(noLocalJobs, bus, quietLog);
  const watched = await peers.watch('owner-1', 'job-1');
  return { peers, watched, heard };
}

function collect(stream: RemoteStream): Promise<{ pieces: string[]; outcome: JobOutcome }> {
  return new Promise((resolve) => {
    const pieces: string[] = [];
    stream.follow(
      (piece) => pieces.push(piece),
      (outcome) => resolve({ pieces, outcome }),
    );
  });
}

describe('chat job streams between processes', () => {
  test('pieces arrive in order and the outcome ends the stream; the watcher names the job and its owner', async () => {
    const bus = sharedBus();
    const { peers, watched, heard } = await watchWithPeer(bus, (asked, reply) => {
      if (asked.op !== 'watch') return;
      void (async () => {
        await reply({ kind: 'open', cached: false });
        await reply({ kind: 'piece', seq: 0, piece: 'Hello' });
        await reply({ kind: 'piece', seq: 1, piece: ' world' });
        await reply({ kind: 'done', outcome: { ok: true, content: 'Hello world', cached: false } });
      })();
    });
    assert.ok(watched && 'stream' in watched, 'the peer opened a stream');
    const { pieces, outcome } = await collect(watched.stream);
    assert.deepEqual(pieces, ['Hello', ' world']);
    assert.deepEqual(outcome, { ok: true, content: 'Hello world', cached: false });
    assert.deepEqual(
      heard.map(({ op, id, owner }) => ({ op, id, owner })),
      [{ op: 'watch', id: 'job-1', owner: 'owner-1' }],
      'a stream that ended normally asks for nothing more',
    );
    peers.close();
  });

  test('a lost piece ends the stream with an error, not a truncated answer, and tells the peer to stop', async () => {
    const bus = sharedBus();
    const { peers, watched, heard } = await watchWithPeer(bus, (asked, reply) => {
      if (asked.op !== 'watch') return;
      void (async () => {
        await reply({ kind: 'open', cached: false });
        await reply({ kind: 'piece', seq: 0, piece: 'Hello' });
        await reply({ kind: 'piece', seq: 2, piece: ' again' });
        await reply({ kind: 'piece', seq: 3, piece: ' and again' });
      })();
    });
    assert.ok(watched && 'stream' in watched, 'the peer opened a stream');
    const { pieces, outcome } = await collect(watched.stream);
    assert.deepEqual(pieces, ['Hello']);
    assert.equal(outcome.ok, false);
    assert.match((outcome as { error: string }).error, /lost/);
    const watchNonce = heard[0]!.nonce;
    assert.deepEqual(
      heard.slice(1).map(({ op, nonce }) => ({ op, nonce })),
      [{ op: 'unwatch', nonce: watchNonce }],
    );
    peers.close();
  });

  test('a finished job answers with its outcome; a job no process holds is null once the wait is over', async () => {
    const bus = sharedBus();
    const finished = await watchWithPeer(bus, (asked, reply) => {
      if (asked.op === 'watch' && asked.id === 'job-1') void reply({ kind: 'done', outcome: { ok: false, error: 'Cancelled' } });
    });
    assert.deepEqual(finished.watched, { outcome: { ok: false, error: 'Cancelled' } });
    finished.peers.close();

    const silent = await watchWithPeer(sharedBus(), () => undefined);
    assert.equal(silent.watched, null);
    assert.equal(silent.heard.length, 1);
    silent.peers.close();
  });

  test('a bus confined to this process asks nobody', async () => {
    const bus = createMemoryBus();
    const { peers, watched, heard } = await watchWithPeer(bus, () => assert.fail('nobody should be asked'));
    assert.equal(watched, null);
    assert.equal(heard.length, 0);
    peers.close();
  });
});

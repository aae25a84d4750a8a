import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fastify } from 'fastify';
import { createMemoryBus, type Bus } from '../../../src/core/bus/bus.js';
import type { Generation } from '../../../src/modules/chat/gateway.js';
import type { Job, JobOutcome, JobQueue } from '../../../src/modules/chat/jobs.js';
import { ASK_TIMEOUT_MS, JobPeers, type JobStream } from '../../../src/modules/chat/peers.js';

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

/** `reply` answers as process `by` (peer-1 unless named). */
async function watchWithPeer(bus: Bus, answer: (asked: Asked, reply: (message: object, by?: string) => Promise<void>) => void) {
  const heard: Asked[] = [];
  bus.subscribe('chat-jobs:ask', (message) => {
    const asked = message as Asked;
    heard.push(asked);
    answer(asked, (reply, by = 'peer-1') => bus.publish(`chat-jobs:reply:${asked.from}`, { ...reply, nonce: asked.nonce, by }));
  });
  const peers = new JobPeers(noLocalJobs, bus, quietLog);
  const watched = await peers.watch('owner-1', 'job-1');
  return { peers, watched, heard };
}

const opened = { kind: 'open', cached: false };
const piece = (seq: number, text: string) => ({ kind: 'piece', seq, piece: text });
const helloWorld: JobOutcome = { ok: true, content: 'Hello world', cached: false };
const done = (outcome: JobOutcome, pieces?: number) => ({ kind: 'done', outcome, pieces });

/** A peer answering a watch with these messages in order, each from peer-1 or from the process named beside it. */
const scripted =
  (...messages: (object | [object, string])[]) =>
  (asked: Asked, reply: (message: object, by?: string) => Promise<void>) => {
    if (asked.op !== 'watch') return;
    void (async () => {
      for (const message of messages) await (Array.isArray(message) ? reply(message[0], message[1]) : reply(message));
    })();
  };

function collect(stream: JobStream): Promise<{ pieces: string[]; outcome: JobOutcome }> {
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
    const { peers, watched, heard } = await watchWithPeer(bus, scripted(opened, piece(0, 'Hello'), piece(1, ' world'), done(helloWorld, 2)));
    assert.ok(watched && 'stream' in watched, 'the peer opened a stream');
    const { pieces, outcome } = await collect(watched.stream);
    assert.deepEqual(pieces, ['Hello', ' world']);
    assert.deepEqual(outcome, helloWorld);
    assert.deepEqual(
      heard.map(({ op, id, owner }) => ({ op, id, owner })),
      [{ op: 'watch', id: 'job-1', owner: 'owner-1' }],
      'a stream that ended normally asks for nothing more',
    );
    peers.close();
  });

  test('a lost piece ends the stream with an error, not a truncated answer, and tells the peer to stop', async () => {
    const bus = sharedBus();
    const { peers, watched, heard } = await watchWithPeer(bus, scripted(opened, piece(0, 'Hello'), piece(2, ' again'), piece(3, ' and again')));
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

  test('a lost last piece ends the stream with an error: the outcome says how many pieces were sent', async () => {
    const bus = sharedBus();
    const { peers, watched } = await watchWithPeer(bus, scripted(opened, piece(0, 'Hello'), done(helloWorld, 2)));
    assert.ok(watched && 'stream' in watched, 'the peer opened a stream');
    const { pieces, outcome } = await collect(watched.stream);
    assert.deepEqual(pieces, ['Hello']);
    assert.deepEqual(outcome, { ok: false, error: 'Part of this stream was lost between processes; poll the request for its full result' });
    peers.close();
  });

  test('once a process opened the stream, what another process answers for the same question is ignored', async () => {
    const bus = sharedBus();
    // peer-2 found the result already stored, and is heard before the opener's pieces.
    const { peers, watched } = await watchWithPeer(bus, scripted(opened, [done(helloWorld), 'peer-2'], piece(0, 'Hello'), piece(1, ' world'), done(helloWorld, 2)));
    assert.ok(watched && 'stream' in watched, 'the peer opened a stream');
    const { pieces, outcome } = await collect(watched.stream);
    assert.deepEqual(pieces, ['Hello', ' world']);
    assert.equal(outcome.ok, true);
    peers.close();
  });

  test('a stream whose opening was lost is an error, not a 404, and its process is told to stop', async () => {
    const bus = sharedBus();
    const { peers, watched, heard } = await watchWithPeer(bus, (asked, reply) => {
      if (asked.op === 'watch') void reply(piece(3, 'late'));
    });
    assert.deepEqual(watched, { outcome: { ok: false, error: 'Part of this stream was lost between processes; poll the request for its full result' } });
    assert.deepEqual(
      heard.map(({ op }) => op),
      ['watch', 'unwatch'],
    );
    peers.close();
  });

  test('a stream opened after the question timed out is told to stop', async () => {
    const bus = sharedBus();
    const { peers, watched, heard } = await watchWithPeer(bus, (asked, reply) => {
      if (asked.op === 'watch') setTimeout(() => void reply(opened), ASK_TIMEOUT_MS + 100);
    });
    assert.equal(watched, null);
    const deadline = Date.now() + 2000;
    while (heard.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(
      heard.map(({ op, nonce }) => ({ op, nonce })),
      [
        { op: 'watch', nonce: heard[0]!.nonce },
        { op: 'unwatch', nonce: heard[0]!.nonce },
      ],
    );
    peers.close();
  });

  test('shutting down ends the streams followed from other processes with a pointer to poll, and stops their forwarding', async () => {
    const bus = sharedBus();
    const { peers, watched, heard } = await watchWithPeer(bus, scripted(opened, piece(0, 'Hello')));
    assert.ok(watched && 'stream' in watched, 'the peer opened a stream');
    const collected = collect(watched.stream);
    peers.endFollowing();
    const { pieces, outcome } = await collected;
    assert.deepEqual(pieces, ['Hello']);
    assert.deepEqual(outcome, { ok: false, error: 'This server is shutting down; poll the request for its result' });
    assert.deepEqual(
      heard.map(({ op }) => op),
      ['watch', 'unwatch'],
    );
    peers.close();
  });

  test('a finished job answers with its outcome; a job no process holds is null once the wait is over', async () => {
    const bus = sharedBus();
    const finished = await watchWithPeer(bus, (asked, reply) => {
      if (asked.op === 'watch' && asked.id === 'job-1') void reply(done({ ok: false, error: 'Cancelled' }));
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

  describe('the process holding the job', () => {
    /** One running job of owner-1 in a queue otherwise empty; `emit` produces a piece, `finish` settles it. */
    function holding() {
      const pieces: string[] = [];
      const listeners = new Set<(piece: string) => void>();
      let follows = 0;
      let settle: (outcome: JobOutcome) => void = () => undefined;
      const settled = new Promise<JobOutcome>((resolve) => (settle = resolve));
      // Only what forwarding a stream reads of a generation.
      const generation = {
        cached: false,
        follow(onPiece: (piece: string) => void) {
          follows++;
          for (const piece of pieces) onPiece(piece);
          listeners.add(onPiece);
          return () => void listeners.delete(onPiece);
        },
      } as unknown as Generation;
      const job: Job = { id: 'job-1', owner: 'owner-1', generation, outcome: null, settled };
      // Only what answering a watch reads of a queue.
      const jobs = { liveJob: (owner: string, id: string) => (owner === job.owner && id === job.id ? job : undefined), storedOutcome: async () => null } as unknown as JobQueue;
      const bus = sharedBus();
      const holder = new JobPeers(jobs, bus, quietLog);
      const emit = (piece: string) => {
        pieces.push(piece);
        for (const listener of listeners) listener(piece);
      };
      return { bus, holder, emit, finish: (outcome: JobOutcome) => settle(outcome), follows: () => follows, listening: () => listeners.size };
    }
    const settle = () => new Promise((resolve) => setImmediate(resolve));

    test('forwards the pieces so far and to come, numbered, from one process, then the outcome with their count', async () => {
      const { bus, holder, emit, finish } = holding();
      emit('Hello');
      const heard: Record<string, unknown>[] = [];
      bus.subscribe('chat-jobs:reply:asker', (message) => void heard.push(message as Record<string, unknown>));
      await bus.publish('chat-jobs:ask', { op: 'watch', id: 'job-1', owner: 'owner-1', from: 'asker', nonce: 'n1' });
      await settle();
      emit(' world');
      finish(helloWorld);
      await settle();
      assert.deepEqual(
        heard.map(({ by: _by, ...rest }) => rest),
        [
          { kind: 'open', cached: false, nonce: 'n1' },
          { kind: 'piece', seq: 0, piece: 'Hello', nonce: 'n1' },
          { kind: 'piece', seq: 1, piece: ' world', nonce: 'n1' },
          { kind: 'done', outcome: helloWorld, pieces: 2, nonce: 'n1' },
        ],
      );
      assert.equal(new Set(heard.map(({ by }) => by)).size, 1, 'one process answered');
      holder.close();
    });

    test('an unwatch arriving while the stream is being opened stops it before any piece; another owner hears nothing', async () => {
      const { bus, holder, emit, finish, follows, listening } = holding();
      emit('Hello');
      const heard: Record<string, unknown>[] = [];
      bus.subscribe('chat-jobs:reply:asker', (message) => {
        const answer = message as Record<string, unknown>;
        heard.push(answer);
        if (answer.kind === 'open') void bus.publish('chat-jobs:ask', { op: 'unwatch', from: 'asker', nonce: answer.nonce });
      });
      await bus.publish('chat-jobs:ask', { op: 'watch', id: 'job-1', owner: 'owner-1', from: 'asker', nonce: 'n1' });
      await bus.publish('chat-jobs:ask', { op: 'watch', id: 'job-1', owner: 'owner-2', from: 'asker', nonce: 'n2' });
      await settle();
      emit(' world');
      finish(helloWorld);
      await settle();
      assert.deepEqual(
        heard.map(({ kind, nonce }) => ({ kind, nonce })),
        [{ kind: 'open', nonce: 'n1' }],
      );
      assert.equal(follows(), 0);
      assert.equal(listening(), 0);
      holder.close();
    });
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pinnedTickShape, pinTickObjectShape } from '../../src/core/tick-shape.js';

test('pinTickObjectShape keeps one of process.nextTick’s tick objects alive', async () => {
  assert.equal(pinnedTickShape(), undefined);
  pinTickObjectShape();
  await new Promise((resolve) => setImmediate(resolve));
  const tick = pinnedTickShape() as Record<string, unknown> | undefined;
  assert.ok(tick, 'a tick object is kept');
  // Node's tick object: its async id and trigger id under two internal symbols, then callback and args.
  // Anything else (a promise, the top-level resource) would not hold the shape nextTick builds.
  assert.equal(Object.getOwnPropertySymbols(tick).length, 2);
  assert.deepEqual(Object.keys(tick), ['callback', 'args']);
  assert.equal(typeof tick.callback, 'function');
});

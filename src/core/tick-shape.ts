import { executionAsyncResource } from 'node:async_hooks';

let pinnedTickObject: object | undefined;

/**
 * Keeps one of Node's `process.nextTick` tick objects alive for the life of the process.
 *
 * Why: V8 remembers the shape (map) of the tick object `nextTick` builds only weakly, in its
 * feedback. When the server idles after start-up, no tick object is alive, so the first full GC
 * (V8's memory reducer runs one 8-30 s after start-up) frees those maps and clears that feedback.
 * TurboFan then compiles the hot stream functions that inline `nextTick` (end of request body,
 * socket write completion, response finish) from the cleared feedback and falls back to a runtime
 * call per tick-object property, for the life of the process: ~9% of the CPU of every request on
 * this server (`bench/README.md`, sixth session). One live tick object keeps its maps alive, so
 * the feedback is never cleared. Call it once start-up is over, when the tick object's shape is
 * final; inside a tick callback, the execution resource is that tick object.
 */
export function pinTickObjectShape(): void {
  process.nextTick(() => {
    pinnedTickObject = executionAsyncResource();
  });
}

/** The pinned tick object, for tests. */
export function pinnedTickShape(): object | undefined {
  return pinnedTickObject;
}

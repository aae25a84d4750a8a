import type { FastifyInstance, onRequestHookHandler, preHandlerAsyncHookHandler, RouteOptions } from 'fastify';

/** A route's hooks as a list, whichever of the three forms Fastify accepts it was given in. */
export const hookList = <Hook>(hooks: Hook | Hook[] | undefined): Hook[] => (hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]);

export type RouteGuard = onRequestHookHandler | preHandlerAsyncHookHandler;

/**
 * `app.addRouteGuard(guard)`: runs `guard` first on every route the calling plugin (and its
 * children) registers from then on, right after the per-IP limit and any guard added before it, and
 * before the route's own hooks.
 *
 * A guard added with `app.addHook('onRequest', ...)` inside a plugin runs before every route-level
 * hook, so it would run before the per-IP limit (which each route gets at registration): requests
 * refused by the guard, such as an unauthenticated flood, were never counted. Guards are route-level
 * hooks placed after the limit instead.
 */
export function createRouteGuards(perIpLimit: RouteGuard): (this: FastifyInstance, guard: RouteGuard) => void {
  const leading = new WeakSet<RouteGuard>([perIpLimit]);
  return function addRouteGuard(this: FastifyInstance, guard: RouteGuard) {
    leading.add(guard);
    this.addHook('onRoute', (route: RouteOptions) => {
      const hooks = hookList<RouteGuard>(route.onRequest as RouteGuard | RouteGuard[] | undefined);
      let at = 0;
      while (at < hooks.length && leading.has(hooks[at]!)) at++;
      hooks.splice(at, 0, guard);
      route.onRequest = hooks as RouteOptions['onRequest'];
    });
  };
}

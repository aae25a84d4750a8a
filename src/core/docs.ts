import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger, { type FastifyDynamicSwaggerOptions, type StaticDocumentSpec } from '@fastify/swagger';
import { AppError, notFound } from './http/errors.js';

const PREFIX = '/docs';
/** What a browser sends that changes the answer for a static file; nothing else is passed on. */
const FORWARDED_REQUEST_HEADERS = ['if-none-match', 'if-modified-since', 'range', 'if-range'] as const;
/** Set again by this server for the answer it writes. */
const CONNECTION_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date']);

/**
 * The interactive reference at /docs, drawn by @fastify/swagger-ui from the OpenAPI document.
 *
 * The page's plugin and what it brings (@fastify/static, send, yaml, the page's assets) measured
 * ~8 MB of RSS in every idle process, for a page few processes ever serve. It is loaded on the first
 * /docs request instead, into a Fastify instance of its own that never listens, and /docs requests
 * are passed to it with `inject`. That instance serves the document this server generated
 * (@fastify/swagger in static mode), so the page and /openapi.json always agree.
 */
export async function docsRoutes(app: FastifyInstance): Promise<void> {
  let pages: Promise<FastifyInstance> | undefined;
  const load = async () => {
    const { default: swaggerUi } = await import('@fastify/swagger-ui');
    const instance = Fastify({ logger: false });
    // This server writes OpenAPI 3.0 (see app.ts), a version static mode accepts.
    const document = app.swagger() as StaticDocumentSpec['document'];
    await instance.register(swagger, { mode: 'static', specification: { document } });
    await instance.register(swaggerUi, { routePrefix: PREFIX, staticCSP: true });
    await instance.ready();
    return instance;
  };

  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    pages ??= load().catch((error: unknown) => {
      pages = undefined; // the next request tries again
      throw error;
    });
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    // HEAD is answered by Fastify from this GET handler, which drops the body.
    const answer = await (await pages).inject({ method: 'GET', url: request.url, headers });
    if (answer.statusCode === 404) throw notFound('Documentation page');
    if (answer.statusCode >= 400) throw new AppError(answer.statusCode, answer.statusCode === 416 ? 'RANGE_NOT_SATISFIABLE' : 'INTERNAL_ERROR', answer.statusMessage);
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !CONNECTION_HEADERS.has(name)) reply.header(name, value);
    }
    return reply.code(answer.statusCode).send(answer.rawPayload);
  };

  // Hidden from the document: the page is not part of the API.
  app.get(PREFIX, { schema: { hide: true } }, serve);
  app.get(`${PREFIX}/*`, { schema: { hide: true } }, serve);
  app.addHook('onClose', async () => {
    if (pages) await (await pages.catch(() => undefined))?.close();
  });
}

/**
 * The OpenAPI document's view of every route: a `default` response in the error shape (every route
 * can answer 400, 401, 429 or 500 with `{error, code, details?}`), and no token required where the
 * route says `security: []`. The shared `ErrorBody` schema is listed once under its own name.
 */
export const openApiOptions: Pick<FastifyDynamicSwaggerOptions, 'refResolver' | 'transform'> = {
  refResolver: {
    buildLocalReference: (json, _baseUri, _fragment, index) => (typeof json.$id === 'string' ? json.$id : `def-${index}`),
  },
  transform: ({ schema, url }) => {
    if (!schema || schema.hide) return { schema, url };
    const response = { ...(schema.response as Record<string, unknown> | undefined), default: { description: 'Any failure, in the error shape', $ref: 'ErrorBody#' } };
    return { schema: { ...schema, response }, url };
  },
};

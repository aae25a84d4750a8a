import type { FastifyInstance } from 'fastify';
import { AppError } from './errors.js';

/** A `\uD800`-`\uDFFF` escape: JSON text that may hold a lone surrogate (`hasLoneSurrogate` decides). */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /\p{Cs}/u;
/** Walks the parsed body with a stack of its own: a deeply nested body must not overflow the call stack. */
function hasLoneSurrogate(body: unknown): boolean {
  const pending = [body];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) return true;
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (LONE_SURROGATE.test(key)) return true;
        pending.push(item);
      }
    }
  }
  return false;
}
/** `\u0000` in JSON text, not preceded by an escaping backslash (an even run of backslashes is text). */
const ESCAPED_NUL = /(?:^|[^\\])(?:\\\\)*\\u0000/;

/**
 * The JSON body parser every route uses: Fastify's own (prototype poisoning refused), after checks
 * on the text that the databases need.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  // Bodies must be valid UTF-8: the default parser would silently turn bad bytes into U+FFFD.
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    // Many clients send `Content-Type: application/json` on every request, bodiless POSTs
    // (logout, stopping a timer) included: no bytes is no body, and the route's schema decides.
    if ((body as Buffer).length === 0) {
      done(null, undefined);
      return;
    }
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(new AppError(400, 'INVALID_ENCODING', 'Request body is not valid UTF-8'), undefined);
      return;
    }
    // PostgreSQL cannot store U+0000 in text, and no field of this API has a use for it.
    if (text.includes('\\u0000') && ESCAPED_NUL.test(text)) {
      done(new AppError(400, 'INVALID_CHARACTER', 'Request body contains a NUL character (\\u0000)'), undefined);
      return;
    }
    // A lone UTF-16 surrogate (`\ud800`) has no UTF-8 form: the databases would store U+FFFD in its
    // place (SQLite three of them), silently changing the text and its length.
    if (text.includes('\\u') && SURROGATE_ESCAPE.test(text)) {
      parseJson(request, text, (error, parsed) => {
        if (!error && hasLoneSurrogate(parsed)) done(new AppError(400, 'INVALID_CHARACTER', 'Request body contains an unpaired UTF-16 surrogate'), undefined);
        else done(error, parsed);
      });
      return;
    }
    parseJson(request, text, done);
  });
  // Fastify takes text/plain bodies as strings by default. No route reads text, so such a body is
  // refused as the type it is (it was a 400 saying the body must be an object), and an empty one
  // is no body, as with JSON above.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('text/plain', { parseAs: 'buffer' }, (_request, body, done) => {
    if ((body as Buffer).length === 0) done(null, undefined);
    else done(new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported Content-Type'), undefined);
  });
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * The headers helmet sets for these options, computed once. @fastify/helmet rebuilds helmet's
 * middleware (and re-parses the CSP) on every request; the headers never change, so applying a
 * precomputed set measured cheaper while helmet still decides every value.
 */
export function securityHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: unknown;
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    failure = error;
  });
  if (failure) throw failure;
  return headers;
}

/**
 * The API answers JSON: helmet is set up per OWASP's REST Security guidance (nothing may be framed
 * or loaded from a response, HTTPS only, no sniffing). Helmet's headers for HTML documents (DNS
 * prefetch, IE download options, Flash policies, XSS auditor, COOP, origin-agent-cluster) do nothing
 * for JSON, and each header measured ~1 us per response. /docs sets its own page CSP.
 */
export function apiSecurityHeaders(): Record<string, string> {
  return securityHeaders({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    xFrameOptions: { action: 'deny' },
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  });
}

import fastifyHelmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A route's own helmet options, read by `@fastify/helmet` on each request (see {@link routeHelmet}). */
    helmet?: Omit<FastifyHelmetOptions, 'global'>;
  }
}

/** A Content-Security-Policy as directive → sources, as `@fastify/helmet` takes it. */
export type CspDirectives = Readonly<Record<string, readonly string[]>>;

/**
 * The web console's policy (services/web/public): its own scripts and styles only (inline styles
 * for the map and charts), images also from data:/blob: (chart downloads), calls to this origin
 * only, and never framed. The page repeats it in a `<meta>` tag — less `frame-ancestors`, which a
 * meta policy cannot carry — for the static server of the browser tests; a test keeps the two equal.
 */
export const CONSOLE_CSP: CspDirectives = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"],
};

/**
 * Swagger UI at /api/docs: its own scripts and styles (files of its package served from here),
 * fonts and images from data:, calls to this origin only. Sent by `@fastify/swagger-ui` itself
 * (`staticCSP`); helmet's policy is switched off on those routes so there is one header.
 */
export const DOCS_CSP: CspDirectives = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/**
 * Bull Board at /admin/queues: its page sets `<base href>` (so `base-uri 'self'`), carries inline
 * styles and an inline JSON config (data, not script), and links Google Fonts, which stay blocked
 * (an admin page does not tell a third party who opens it; the system font is used instead).
 */
export const DASHBOARD_CSP: CspDirectives = { ...DOCS_CSP, 'base-uri': ["'self'"] };

/** A policy as header text: `a x y; b z`. */
export function cspHeader(directives: CspDirectives): string {
  return Object.entries(directives)
    .map(([name, sources]) => [name, ...sources].join(' '))
    .join('; ');
}

/** One year, subdomains included: a browser that saw HTTPS once never tries HTTP again. */
export const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * Helmet's options for a route with its own policy, or none (`false`: the route sends its own
 * header), for the route's `config.helmet`.
 *
 * @example docs.addHook('onRoute', (route) => { route.config = { ...route.config, helmet: routeHelmet(false) }; });
 */
export function routeHelmet(csp: CspDirectives | false): Omit<FastifyHelmetOptions, 'global'> {
  return { contentSecurityPolicy: csp && { useDefaults: false, directives: toHelmet(csp) } };
}

function toHelmet(csp: CspDirectives): Record<string, string[]> {
  return Object.fromEntries(Object.entries(csp).map(([k, v]) => [k, [...v]]));
}

/**
 * The API's cache rule for personal data: an answer is `no-store` unless it is a public route's
 * successful answer to a caller without a key, which is public data and may be kept but must be
 * revalidated (`no-cache`); `Vary: Authorization` keeps a shared cache from handing one caller's
 * answer to another. A route that set its own Cache-Control keeps it.
 */
function apiCacheControl(req: FastifyRequest, statusCode: number): string {
  const access = req.routeOptions.config?.access;
  return access === 'public' && req.caller?.role === 'public' && statusCode < 400 ? 'no-cache' : 'no-store';
}

export interface SecurityHeaderOptions {
  /** Path prefix of the JSON API whose answers get {@link apiCacheControl}. */
  apiPrefix: string;
}

/**
 * The security headers of every answer, through `@fastify/helmet`: the console's CSP (routes with
 * a policy of their own set `config.helmet`, see {@link routeHelmet}), `X-Frame-Options: DENY`
 * beside `frame-ancestors 'none'` for old browsers, `nosniff`, `Referrer-Policy: no-referrer`;
 * HSTS only on requests that arrived over HTTPS — `request.protocol`, which believes a proxy's
 * X-Forwarded-Proto only when fastify's `trustProxy` (TRUST_PROXY) trusts that proxy; and
 * Cache-Control on the API. Registered before auth, so refusals carry the headers too.
 */
export async function installSecurityHeaders(app: FastifyInstance, options: SecurityHeaderOptions): Promise<void> {
  await app.register(fastifyHelmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: toHelmet(CONSOLE_CSP) },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // Sent below, only over TLS: a header over plain HTTP is ignored by browsers and misleads.
    strictTransportSecurity: false,
    // No cross-origin embedding of anything here; the console loads only its own files.
    crossOriginEmbedderPolicy: false,
  });
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.protocol === 'https') void reply.header('strict-transport-security', HSTS);
    const path = req.url.split('?', 1)[0]!;
    if ((path === options.apiPrefix || path.startsWith(`${options.apiPrefix}/`)) && !reply.hasHeader('cache-control')) {
      const value = apiCacheControl(req, reply.statusCode);
      void reply.header('cache-control', value);
      if (value === 'no-cache') {
        const vary = reply.getHeader('vary');
        void reply.header('vary', vary ? `${String(vary)}, Authorization` : 'Authorization');
      }
    }
    return payload;
  });
}

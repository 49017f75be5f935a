import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticateKey, type ApiPrincipal, type Db } from '@pksync/db';
import { provinceOf } from '@pksync/reference';
import { adminOnly, errorBody, forbidden, unauthorized, type ApiError } from './errors.ts';

/**
 * Who may call a route (register-api-v1.md § Roles):
 * - `none`: no key is read at all (liveness, readiness, metrics, the OpenAPI document);
 * - `public`: anyone; a key, if sent, must be valid and widens what is shown;
 * - `key`: a province or admin key; the handler checks the province scope;
 * - `admin`: an admin key only.
 */
export type Access = 'none' | 'public' | 'key' | 'admin';

/** The caller: no key (public), a province key or an admin key. */
export type Caller = { role: 'public' } | ({ role: 'province' | 'admin' } & ApiPrincipal);

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

/** The key from `Authorization: Bearer <key>`, or the password of HTTP Basic (for the queue dashboard in a browser). */
function presentedKey(header: string | undefined): string | null | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const m = /^(Bearer|Basic)\s+(\S+)\s*$/i.exec(header);
  if (!m) return null;
  if (m[1]!.toLowerCase() === 'bearer') return m[2]!;
  const decoded = Buffer.from(m[2]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : null;
}

/**
 * A route's access: its `config.access`; routes that declare none (plugins such as the queue
 * dashboard) are admin-only under `/admin/` and `/api/`, and open elsewhere (the console's static
 * files). An unknown route is open, so it answers 404.
 */
function accessOf(req: FastifyRequest): Access {
  const declared = req.routeOptions.config?.access;
  if (declared) return declared;
  // No route, or the console's static files (`/*`, which also catches unknown /api paths): open,
  // so they answer a file or 404.
  if (req.routeOptions.url === undefined || req.routeOptions.url === '/*') return 'none';
  if (req.url.startsWith('/admin/') || req.url === '/admin' || req.url.startsWith('/api/')) return 'admin';
  return 'none';
}

/** Reads the key of every request and enforces each route's `config.access`. */
export function installAuth(app: FastifyInstance, db: Db): void {
  app.decorateRequest('caller', null as never);
  app.addHook('onRequest', async (req, reply) => {
    const access = accessOf(req);
    req.caller = { role: 'public' };
    if (access === 'none') return;
    // Refusals are sent from here, not thrown: plugins such as the queue dashboard have error
    // handlers of their own that would turn them into 500s.
    const refuse = (e: ApiError) => reply.code(e.status).send(errorBody(e.code, e.message));
    const challenge = () => {
      // The queue dashboard is opened in a browser: let it ask for the key (as the password).
      if (req.url.startsWith('/admin/'))
        void reply.header('WWW-Authenticate', 'Basic realm="pksync admin", charset="UTF-8"');
      return refuse(unauthorized());
    };
    const key = presentedKey(req.headers.authorization);
    if (key === undefined) {
      if (access !== 'public') return challenge();
      return;
    }
    const principal = key === null ? null : await authenticateKey(db, key);
    // A wrong or revoked key is refused even on public routes: silently serving the public view
    // would hide a misconfigured client.
    if (!principal) return challenge();
    req.caller = { ...principal, role: principal.role };
    if (access === 'admin' && principal.role !== 'admin') return refuse(adminOnly());
  });
}

/** True when the caller may see full (personal) records and private data of `provinceCode`. */
export function canSeeProvince(caller: Caller, provinceCode: string): boolean {
  if (caller.role === 'admin') return true;
  return caller.role === 'province' && caller.provinceCode === provinceCode;
}

/** Throws 403 unless the caller is admin or a province key of the province of `regionCode`. */
export function assertRegionScope(req: FastifyRequest, regionCode: string): void {
  if (!canSeeProvince(req.caller, provinceOf(regionCode))) throw forbidden();
}

/** The province a province key is bound to; undefined for admin (everything). Throws 401 for public. */
export function provinceScope(req: FastifyRequest): string | undefined {
  const c = req.caller;
  if (c.role === 'admin') return undefined;
  if (c.role === 'province') return c.provinceCode ?? undefined;
  throw unauthorized();
}

/** `key:<name>` for the audit log. */
export function actorOf(req: FastifyRequest): { actor: string; actorRole: string } {
  const c = req.caller;
  return c.role === 'public' ? { actor: 'public', actorRole: 'public' } : { actor: `key:${c.name}`, actorRole: c.role };
}

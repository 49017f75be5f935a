import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import { buildApp } from '../src/index.ts';
import { CONSOLE_CSP, DASHBOARD_CSP, DOCS_CSP, HSTS, type CspDirectives } from '../src/security-headers.ts';
import { createKeys, startTestApi, type Keys, type TestApi } from './helpers.ts';

const webRoot = fileURLToPath(new URL('../../web/public/', import.meta.url));

/** A policy header parsed back into directives (order and spacing aside). */
function parseCsp(header: unknown): Record<string, string[]> {
  expect(typeof header, 'one Content-Security-Policy header').toBe('string');
  return Object.fromEntries(
    String(header)
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...sources]) => [name!.toLowerCase(), sources]),
  );
}

const asRecord = (csp: CspDirectives) => Object.fromEntries(Object.entries(csp).map(([k, v]) => [k, [...v]]));

/** The headers every answer carries, whatever its route. */
function expectBaseline(headers: Record<string, unknown>, what: string): void {
  expect(headers['x-content-type-options'], what).toBe('nosniff');
  expect(headers['referrer-policy'], what).toBe('no-referrer');
  expect(headers['x-frame-options'], what).toBe('DENY');
  // Plain HTTP from a client: no HSTS (browsers ignore it there; it would only mislead).
  expect(headers['strict-transport-security'], what).toBeUndefined();
}

describe('HTTP security headers', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let api: TestApi;
  let app: FastifyInstance;
  let keys: Keys;
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  beforeAll(async () => {
    keys = await createKeys(t.db);
    api = await startTestApi(t.db, r.url, r.prefix);
    app = await buildApp(api.app.ctx, { logger: false, webRoot });
  });
  afterAll(async () => {
    await app?.close();
    await api?.close();
  });

  it('sends the console its policy as a header, with frame-ancestors, and the same policy as the page’s meta', async () => {
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expectBaseline(res.headers, '/');
    const csp = parseCsp(res.headers['content-security-policy']);
    expect(csp).toEqual(asRecord(CONSOLE_CSP));
    expect(csp['frame-ancestors']).toEqual(["'none'"]);
    // The page's <meta> policy (for the browser tests' static server) is the header less
    // frame-ancestors, which a meta policy cannot carry.
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(
      readFileSync(`${webRoot}index.html`, 'utf8'),
    );
    const { 'frame-ancestors': _, ...rest } = asRecord(CONSOLE_CSP);
    expect(parseCsp(meta?.[1])).toEqual(rest);
    expect(readFileSync(`${webRoot}index.html`, 'utf8')).toContain('<meta name="referrer" content="no-referrer" />');
    const script = await app.inject({ url: '/js/main.js' });
    expect(script.statusCode).toBe(200);
    expectBaseline(script.headers, '/js/main.js');
  });

  it('marks a public route’s anonymous answer no-cache (Vary: Authorization), and no-store once a key is sent', async () => {
    const anonymous = await app.inject({ url: '/api/v1/regions' });
    expect(anonymous.statusCode).toBe(200);
    expectBaseline(anonymous.headers, 'GET /regions');
    expect(anonymous.headers['cache-control']).toBe('no-cache');
    expect(String(anonymous.headers.vary)).toMatch(/\bAuthorization\b/);
    const keyed = await app.inject({ url: '/api/v1/regions', headers: bearer(keys.own) });
    expect(keyed.statusCode).toBe(200);
    expect(keyed.headers['cache-control']).toBe('no-store');
    const officers = await app.inject({ url: '/api/v1/officers', headers: bearer(keys.admin) });
    expect(officers.statusCode).toBe(200);
    expect(officers.headers['cache-control']).toBe('no-store');
  });

  it('marks keyed routes no-store, their refusals and unknown API paths included', async () => {
    const me = await app.inject({ url: '/api/v1/me', headers: bearer(keys.own) });
    expect(me.statusCode).toBe(200);
    expectBaseline(me.headers, 'GET /me');
    expect(me.headers['cache-control']).toBe('no-store');
    // The auth hook answers before the route: the headers are on its refusals too.
    for (const [what, res] of [
      ['no key', await app.inject({ url: '/api/v1/me' })],
      ['province key on an admin route', await app.inject({ url: '/api/v1/audit', headers: bearer(keys.own) })],
      ['unknown path', await app.inject({ url: '/api/v1/nope' })],
      ['health', await app.inject({ url: '/api/v1/healthz' })],
    ] as const) {
      expectBaseline(res.headers, what);
      expect(res.headers['cache-control'], what).toBe('no-store');
    }
  });

  it('keeps Swagger UI’s own policy at /api/docs (one header, frame-ancestors none) and its files load', async () => {
    const page = await app.inject({ url: '/api/docs' });
    expect(page.statusCode).toBe(200);
    expectBaseline(page.headers, '/api/docs');
    expect(parseCsp(page.headers['content-security-policy'])).toEqual(asRecord(DOCS_CSP));
    // Every script and stylesheet of the page is a file of this origin that answers.
    const refs = [...page.body.matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref, ref).not.toMatch(/^(?:https?:)?\/\//);
      const file = await app.inject({ url: new URL(ref, 'http://x/api/docs/').pathname });
      expect(file.statusCode, ref).toBe(200);
      expectBaseline(file.headers, ref);
      expect(parseCsp(file.headers['content-security-policy']), ref).toEqual(asRecord(DOCS_CSP));
    }
    const spec = await app.inject({ url: '/api/docs/json' });
    expect(spec.statusCode).toBe(200);
  });

  it('gives the queue dashboard its relaxed policy, under which its page can run', async () => {
    const basic = { authorization: `Basic ${Buffer.from(`admin:${keys.admin}`).toString('base64')}` };
    const page = await app.inject({ url: '/admin/queues', headers: basic });
    expect(page.statusCode).toBe(200);
    expectBaseline(page.headers, '/admin/queues');
    const csp = parseCsp(page.headers['content-security-policy']);
    expect(csp).toEqual(asRecord(DASHBOARD_CSP));
    // Its scripts are files of this origin (script-src 'self'); its only inline script is JSON data.
    const scripts = [...page.body.matchAll(/<script([^>]*)>/g)].map((m) => m[1]!);
    for (const attrs of scripts) {
      const src = /src="([^"]+)"/.exec(attrs)?.[1];
      if (src === undefined) expect(attrs).toMatch(/type="application\/json"/);
      else expect(src).not.toMatch(/^(?:https?:)?\/\//);
    }
    expect(/<base href="([^"]+)"/.exec(page.body)?.[1]).toBe('/admin/queues/');
    const refusal = await app.inject({ url: '/admin/queues' });
    expect(refusal.statusCode).toBe(401);
    expectBaseline(refusal.headers, '/admin/queues without a key');
  });

  it('sends HSTS only when the request came over HTTPS through a proxy it trusts', async () => {
    const viaProxy = { 'x-forwarded-proto': 'https' };
    // inject() comes from 127.0.0.1: a trusted proxy by default (TRUST_PROXY loopback,uniquelocal).
    const trusted = await app.inject({ url: '/', headers: viaProxy });
    expect(trusted.headers['strict-transport-security']).toBe(HSTS);
    expect((await app.inject({ url: '/api/v1/regions', headers: viaProxy })).headers['strict-transport-security']).toBe(
      HSTS,
    );
    // A client on a public address cannot claim HTTPS.
    const direct = await app.inject({ url: '/', headers: viaProxy, remoteAddress: '203.0.113.9' });
    expect(direct.headers['strict-transport-security']).toBeUndefined();
    const distrusting = await buildApp(api.app.ctx, { logger: false, webRoot, trustProxy: false });
    try {
      const res = await distrusting.inject({ url: '/', headers: viaProxy });
      expect(res.statusCode).toBe(200);
      expect(res.headers['strict-transport-security']).toBeUndefined();
    } finally {
      await distrusting.close();
    }
  });
});

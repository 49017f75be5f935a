import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Validator } from '@seriousme/openapi-schema-validator';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import {
  createKeys,
  createResponseChecker,
  NIP_16,
  seedRegister,
  startTestApi,
  type Keys,
  type TestApi,
} from './helpers.ts';

interface Doc {
  openapi: string;
  paths: Record<
    string,
    Record<string, { responses: Record<string, unknown>; parameters?: { name?: string; in?: string; $ref?: string }[] }>
  >;
  components: { parameters?: Record<string, { name: string; in: string }>; schemas: Record<string, unknown> };
}

/** Every list route of the API: one paging convention (services/api/README.md § Paging). */
const LIST_ROUTES = [
  '/api/v1/officers',
  '/api/v1/publications',
  '/api/v1/publications/{version}/diff',
  '/api/v1/findings',
  '/api/v1/audit',
  '/api/v1/runs',
  '/api/v1/contacts/deliveries',
];

describe('OpenAPI document, validation errors and paging', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let api: TestApi;
  let keys: Keys;
  let doc: Doc;
  let check: ReturnType<typeof createResponseChecker>;

  beforeAll(async () => {
    await seedRegister(t.db);
    keys = await createKeys(t.db);
    api = await startTestApi(t.db, r.url, r.prefix);
    doc = (await (await fetch(`${api.url}/api/v1/openapi.json`)).json()) as Doc;
    check = createResponseChecker(doc as never);
  });
  afterAll(async () => {
    await api?.close();
  });

  it('is a valid OpenAPI 3.1 document (independent validator)', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('describes every route of register-api-v1.md', () => {
    const ops = Object.entries(doc.paths).flatMap(([p, m]) =>
      Object.keys(m).map((k) => `${k.toUpperCase()} ${p.replace('/api/v1', '')}`),
    );
    for (const op of [
      'GET /regions',
      'GET /regions/{code}',
      'GET /officers',
      'GET /officers/{nip}',
      'GET /publications',
      'GET /publications/{version}',
      'GET /publications/{version}/diff',
      'GET /export',
      'POST /sync',
      'GET /runs',
      'GET /runs/{id}',
      'GET /findings',
      'POST /findings/{id}/ack',
      'GET /sources',
      'PUT /sources/{id}',
      'POST /sources/{id}/uploads',
      'POST /sources/{id}/confirm-removal',
      'POST /check',
      'GET /needs',
      'GET /needs/parameters',
      'GET /needs/parameters/{version}',
      'POST /needs/parameters',
      'GET /healthz',
      'GET /readyz',
    ]) {
      expect(ops).toContain(op);
    }
    // Every operation documents its error answers.
    for (const [p, methods] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(methods)) {
        if (p.endsWith('/healthz') || p.endsWith('/readyz')) continue;
        expect(Object.keys(op.responses), `${m} ${p}`).toContain('401');
      }
    }
  });

  it('documents the paging convention once: shared limit and cursor parameters, one next_cursor', () => {
    expect(doc.components.parameters).toMatchObject({
      PageLimit: { name: 'limit', in: 'query' },
      PageCursor: { name: 'cursor', in: 'query' },
    });
    expect(doc.components.schemas.NextCursor).toMatchObject({ type: ['string', 'null'] });
    for (const path of LIST_ROUTES) {
      const op = doc.paths[path]?.get;
      expect(op, path).toBeDefined();
      const refs = (op!.parameters ?? []).map((p) => p.$ref);
      expect(refs, path).toEqual(
        expect.arrayContaining(['#/components/parameters/PageLimit', '#/components/parameters/PageCursor']),
      );
      const schema = (op!.responses['200'] as { content: { 'application/json': { schema: unknown } } }).content[
        'application/json'
      ].schema;
      // OfficerPage is a component of its own; the others are inline.
      const body = JSON.stringify(
        (schema as { $ref?: string }).$ref
          ? doc.components.schemas[(schema as { $ref: string }).$ref.split('/').pop()!]
          : schema,
      );
      expect(body, path).toContain('"next_cursor":{"$ref":"#/components/schemas/NextCursor"}');
    }
    // The old paging is gone from every route.
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const op of Object.values(methods)) {
        const names = (op.parameters ?? []).map((p) => p.name);
        expect(names, path).not.toContain('before');
        expect(names, path).not.toContain('offset');
        expect(JSON.stringify(op.responses), path).not.toMatch(/next_before|next_offset/);
      }
    }
  });

  it('serves Swagger UI over the document at /api/docs, without a key, under a strict CSP', async () => {
    const page = await fetch(`${api.url}/api/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain('unsafe-eval');
    const html = await page.text();
    // Nothing inline and nothing from elsewhere: every script is a file of this origin.
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    const scripts = [...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThanOrEqual(3);
    for (const src of scripts) {
      expect(src.startsWith('/api/docs/'), src).toBe(true);
      const res = await fetch(`${api.url}${src}`);
      expect(res.status, src).toBe(200);
      expect(res.headers.get('content-type'), src).toMatch(/javascript/);
      expect(res.headers.get('content-security-policy'), src).toBe(csp);
      await res.arrayBuffer();
    }
    const shown = await fetch(`${api.url}/api/docs/json`);
    expect(await shown.json()).toEqual(doc);
  });

  const bad: [string, string, RequestInit, string][] = [
    ['a limit out of range', '/api/v1/officers?limit=0', {}, 'querystring.limit'],
    ['an unknown level', '/api/v1/officers?level=ahli_super', {}, 'querystring.level'],
    ['a malformed region code', '/api/v1/officers?region=16-71', {}, 'querystring.region'],
    ['a forged cursor', '/api/v1/officers?cursor=bm90LWEtY3Vyc29y', {}, 'querystring.cursor'],
    ['a page beyond the largest', '/api/v1/findings?limit=1001', {}, 'querystring.limit'],
    ['the retired before= paging', '/api/v1/findings?before=5', {}, 'querystring.before'],
    ['the retired offset= paging', '/api/v1/publications/1/diff?offset=500', {}, 'querystring.offset'],
    ['a malformed NIP', '/api/v1/officers/12345', {}, 'params.nip'],
    ['an unknown export format', '/api/v1/export?format=pdf', {}, 'querystring.format'],
    ['a version never published', '/api/v1/export?version=99', {}, 'querystring.version'],
    [
      'a scope of the wrong shape',
      '/api/v1/sync',
      { method: 'POST', body: JSON.stringify({ scope: { country: 'id' }, reason: 'x' }) },
      'body.scope',
    ],
    [
      'a missing reason',
      '/api/v1/sync',
      { method: 'POST', body: JSON.stringify({ scope: 'national' }) },
      'body.reason',
    ],
    [
      'an unknown region in a scope',
      '/api/v1/sync',
      { method: 'POST', body: JSON.stringify({ scope: { region: '99.99' }, reason: 'x' }) },
      'body.scope.region',
    ],
    ['a body that is not JSON', '/api/v1/sync', { method: 'POST', body: '{"scope": nat' }, 'body'],
    [
      'an unknown source field',
      '/api/v1/sources/x-1',
      {
        method: 'PUT',
        body: JSON.stringify({ agency: 'a', region_code: '16.71', transport: 'upload', colour: 'red' }),
      },
      'body',
    ],
    [
      'a source URL missing',
      '/api/v1/sources/x-1',
      { method: 'PUT', body: JSON.stringify({ agency: 'a', region_code: '16.71', transport: 'csv' }) },
      'body.url',
    ],
    ['a needs year out of range', '/api/v1/needs?year=10000', {}, 'querystring.year'],
    ['a needs region outside its province', '/api/v1/needs?province=31&region=16.71', {}, 'querystring.region'],
    [
      'a needs parameter document that breaks the spec',
      '/api/v1/needs/parameters',
      { method: 'POST', body: JSON.stringify({ version: 'x' }) },
      'body',
    ],
    [
      'a check of an unknown region',
      '/api/v1/check?region=99.99',
      { method: 'POST', body: 'a,b', headers: { 'content-type': 'text/csv' } },
      'querystring.region',
    ],
  ];
  for (const [what, path, init, field] of bad) {
    it(`answers 400 naming ${field} for ${what}, without internals`, async () => {
      const res = await fetch(`${api.url}${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${keys.admin}`,
          'content-type': 'application/json',
          ...(init.headers as Record<string, string>),
        },
      });
      const text = await res.text();
      expect(res.status, text).toBe(400);
      const body = JSON.parse(text) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('invalid_request');
      expect(body.error.message.startsWith(field)).toBe(true);
      expect(text).not.toMatch(/node_modules|\.ts:\d+|\bat \w+ \(|SELECT|select .* from/i);
    });
  }

  it('answers an unknown route with a JSON 404', async () => {
    const res = await fetch(`${api.url}/api/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { code: 'not_found', message: expect.stringContaining('/api/v1/nothing-here') },
    });
  });

  it('pages the register by cursor, filters and searches names, and the pages match the schema', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await fetch(`${api.url}/api/v1/officers?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      const body = (await res.json()) as { data: { name: string }[]; next_cursor: string | null; version: number };
      check('GET', '/api/v1/officers', res.status, body);
      expect(body.version).toBe(2);
      seen.push(...body.data.map((o) => o.name));
      cursor = body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen.sort()).toEqual(['Andi Wijaya', 'Dr. Budi Santoso, S.E.', 'Siti Aminah']);
    // A cursor gives no NIP away.
    const first = (await (await fetch(`${api.url}/api/v1/officers?limit=1`)).json()) as { next_cursor: string };
    expect(Buffer.from(first.next_cursor, 'base64url').toString()).not.toContain(NIP_16);

    const search = async (q: string) =>
      (
        (await (await fetch(`${api.url}/api/v1/officers?q=${encodeURIComponent(q)}`)).json()) as {
          data: { name: string }[];
        }
      ).data.map((o) => o.name);
    expect(await search('budi')).toEqual(['Dr. Budi Santoso, S.E.']);
    expect(await search('Prof. BUDI santoso, M.M.')).toEqual(['Dr. Budi Santoso, S.E.']);
    expect(await search('amin')).toEqual(['Siti Aminah']);
    expect(await search('100%_')).toEqual([]);
    const byLevel = (await (await fetch(`${api.url}/api/v1/officers?level=ahli_pertama&province=16`)).json()) as {
      data: { name: string }[];
    };
    expect(byLevel.data.map((o) => o.name)).toEqual(['Siti Aminah']);
  });

  it('reads an older version through its cursor after a new version is published', async () => {
    const page1 = (await (await fetch(`${api.url}/api/v1/officers?province=16&limit=1`)).json()) as {
      next_cursor: string;
      version: number;
    };
    expect(page1.version).toBe(2);
    // Version 3 removes Siti Aminah, published between two page reads.
    const run = await t.db.selectFrom('runs').select('id').executeTakeFirstOrThrow();
    await t.db.transaction().execute(async (trx) => {
      await trx.insertInto('publications').values({ version: 3, run_id: run.id, as_of: '2026-11-27' }).execute();
      await trx
        .updateTable('officer_records')
        .set({ valid_to: 3 })
        .where('name', '=', 'Siti Aminah')
        .where('valid_to', 'is', null)
        .execute();
    });
    const page2 = (await (
      await fetch(`${api.url}/api/v1/officers?province=16&limit=1&cursor=${page1.next_cursor}`)
    ).json()) as {
      data: { name: string }[];
      version: number;
    };
    expect(page2.version).toBe(2);
    expect(page2.data.map((o) => o.name)).toEqual(['Siti Aminah']);
    const fresh = (await (await fetch(`${api.url}/api/v1/officers?province=16`)).json()) as {
      data: { name: string }[];
      version: number;
    };
    expect(fresh.version).toBe(3);
    expect(fresh.data.map((o) => o.name)).toEqual(['Dr. Budi Santoso, S.E.']);
    const old = await fetch(`${api.url}/api/v1/export?format=json&province=16&version=2`);
    expect(((await old.json()) as { data: unknown[] }).data).toHaveLength(2);
  });

  it('reports readiness: 200 with PostgreSQL and Redis, 503 naming Redis when it is unreachable', async () => {
    const ok = await fetch(`${api.url}/api/v1/readyz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
    const dead = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    dead.on('error', () => {});
    const down = await startTestApi(t.db, r.url, `${r.prefix}d`, { redis: dead });
    try {
      const res = await fetch(`${down.url}/api/v1/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        status: 'unavailable',
        checks: { postgres: 'ok', redis: 'down' },
        error: { code: 'unavailable', message: expect.stringContaining('Redis') },
      });
      expect((await fetch(`${down.url}/api/v1/healthz`)).status).toBe(200);
    } finally {
      await down.close();
      dead.disconnect();
    }
  });
});

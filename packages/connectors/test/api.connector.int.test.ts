import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createApiConnector } from '../src/api/api.connector.ts';
import { FetchError } from '../src/fetch-error.ts';
import { FAST, json, sourceDef, useLocalServers } from './support/local-server.ts';
import type { FetchedItem, FetchLimits } from '../src/connector.types.ts';

const serve = useLocalServers();

/** What a pipeline does (R9): stage everything, use it only if the iterable completed. */
async function fetchAll(
  url: string,
  limits: Partial<FetchLimits> = {},
  token: string | null = null,
  signal?: AbortSignal,
) {
  const staged: FetchedItem[] = [];
  let error: unknown = null;
  try {
    for await (const item of createApiConnector().fetch(sourceDef({ url, token }), {
      signal: signal ?? new AbortController().signal,
      asOf: '2026-11-27',
      limits: { ...FAST, ...limits },
    })) {
      staged.push(item);
    }
  } catch (e) {
    error = e;
  }
  return { used: error ? null : staged, staged, error: error as FetchError | null };
}

const officer = (i: number) => ({ nip: String(198503122010011000 + i), nama: `Pejabat ${i}` });

/** A paged API of `total` officers; `fault(n, path)` may answer instead. */
function pagedApi(total: number, fault?: (res: ServerResponse, n: number, path: string) => boolean) {
  return (req: IncomingMessage, res: ServerResponse, n: number) => {
    const u = new URL(req.url!, 'http://x');
    if (fault?.(res, n, u.pathname)) return;
    if (u.pathname === '/v1/formations')
      return json(res, 200, {
        data: [{ tahun: u.searchParams.get('year'), jenjang: 'ahli_muda', kebutuhan: 3, formasi: 2 }],
      });
    const limit = Number(u.searchParams.get('limit'));
    const from = u.searchParams.has('cursor') ? Number(u.searchParams.get('cursor')!.slice(1)) : 0;
    const data = Array.from({ length: Math.min(limit, total - from) }, (_, k) => officer(from + k));
    const next = from + limit < total ? `p${from + limit}` : null;
    json(res, 200, { data, next_cursor: next });
  };
}

describe('api connector', () => {
  it('follows next_cursor, sends the bearer token, and yields officers then formations with positions', async () => {
    const s = await serve(pagedApi(7));
    const r = await fetchAll(`${s.url}/v1/`, { pageSize: 3 }, 'rahasia-123');
    expect(r.error).toBeNull();
    const officers = r.used!.filter((i) => i.kind === 'officer');
    expect(officers.map((i) => i.position)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(officers[6]!.record).toEqual(officer(6));
    expect(r.used!.filter((i) => i.kind === 'formation')).toEqual([
      { kind: 'formation', position: 0, record: { tahun: '2026', jenjang: 'ahli_muda', kebutuhan: 3, formasi: 2 } },
    ]);
    expect(s.requests.map((q) => q.path)).toEqual([
      '/v1/officers?limit=3',
      '/v1/officers?limit=3&cursor=p3',
      '/v1/officers?limit=3&cursor=p6',
      '/v1/formations?year=2026',
    ]);
    expect(s.requests.every((q) => q.auth === 'Bearer rahasia-123')).toBe(true);
  });

  it('retries 5xx with back-off and succeeds', async () => {
    const s = await serve(pagedApi(2, (res, n) => (n <= 2 ? (json(res, 502, 'bad gateway'), true) : false)));
    const r = await fetchAll(s.url);
    expect(r.error).toBeNull();
    expect(r.used!.filter((i) => i.kind === 'officer')).toHaveLength(2);
    expect(s.requests).toHaveLength(2 + 2); // two failures, then officers and formations
  });

  it('gives up after the configured attempts and never hands over a partial snapshot', async () => {
    // Page 1 works, page 2 always fails: every page is downloaded before the first record goes
    // out, so nothing was yielded, and the fetch fails as a whole.
    const s2 = await serve(pagedApi(6, (res, n) => (n >= 2 ? (json(res, 500, { error: 'boom' }), true) : false)));
    const r = await fetchAll(s2.url, { pageSize: 3, attempts: 3 });
    expect(r.used).toBeNull();
    expect(r.staged.length).toBe(0);
    expect(r.error).toBeInstanceOf(FetchError);
    expect(r.error!.code).toBe('http_error');
    expect(r.error!.retryable).toBe(true);
    expect(r.error!.status).toBe(500);
    expect(s2.requests).toHaveLength(1 + 3);
    expect(r.error!.message).toMatch(/gave up after 3 attempts/);
  });

  it('honours Retry-After in seconds on 429', async () => {
    const s = await serve(
      pagedApi(1, (res, n) => (n === 1 ? (json(res, 429, {}, { 'retry-after': '1' }), true) : false)),
    );
    const r = await fetchAll(s.url);
    expect(r.error).toBeNull();
    expect(s.requests[1]!.at - s.requests[0]!.at).toBeGreaterThanOrEqual(990);
  });

  it('honours Retry-After as an HTTP date on 503', async () => {
    const s = await serve(
      pagedApi(1, (res, n) => {
        if (n !== 1) return false;
        json(res, 503, {}, { 'retry-after': new Date(Date.now() + 2000).toUTCString() });
        return true;
      }),
    );
    const r = await fetchAll(s.url);
    expect(r.error).toBeNull();
    // HTTP dates have 1 s resolution: at least ≈1 s, and not the 10 ms back-off.
    expect(s.requests[1]!.at - s.requests[0]!.at).toBeGreaterThanOrEqual(900);
  });

  it('fails (retryable) instead of waiting for a Retry-After over the bound', async () => {
    const s = await serve((_req, res) => json(res, 429, {}, { 'retry-after': '3600' }));
    const r = await fetchAll(s.url, { maxRetryAfterMs: 5000 });
    expect(r.error!.code).toBe('http_error');
    expect(r.error!.message).toMatch(/Retry-After of 3600 s, over the 5 s bound/);
    expect(r.error!.retryable).toBe(true);
    expect(s.requests).toHaveLength(1);
  });

  it('retries connection resets and reports network_error after the last try', async () => {
    const s = await serve((req) => req.socket.destroy());
    const r = await fetchAll(s.url, { attempts: 3 });
    expect(r.error!.code).toBe('network_error');
    expect(s.requests).toHaveLength(3);
  });

  it('retries a body cut off mid-page', async () => {
    const s = await serve(
      pagedApi(2, (res, n) => {
        if (n !== 1) return false;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
        res.write('{"data": [{"nip": "1985');
        setTimeout(() => res.destroy(), 20);
        return true;
      }),
    );
    const r = await fetchAll(s.url);
    expect(r.error).toBeNull();
    expect(r.used!.filter((i) => i.kind === 'officer')).toHaveLength(2);
    expect(s.requests).toHaveLength(3);
  });

  it('times out a slow request and retries it', async () => {
    const s = await serve(
      pagedApi(1, (res, n) => (n === 1 ? (setTimeout(() => json(res, 200, { data: [] }), 1500), true) : false)),
    );
    const r = await fetchAll(s.url, { requestTimeoutMs: 300 });
    expect(r.error).toBeNull();
    expect(s.requests).toHaveLength(3);
  });

  it('fails with timeout when the whole fetch is over its deadline', async () => {
    const s = await serve((_req, res) => setTimeout(() => json(res, 503, {}), 200));
    const r = await fetchAll(s.url, { fetchTimeoutMs: 500, attempts: 50 });
    expect(r.error!.code).toBe('timeout');
    expect(s.requests.length).toBeLessThan(5);
  });

  it('fails at once on a body that is not JSON (no retries)', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>maintenance</html>');
    });
    const r = await fetchAll(s.url);
    expect(r.error!.code).toBe('invalid_response');
    expect(r.error!.retryable).toBe(false);
    expect(s.requests).toHaveLength(1);
  });

  it.each([
    [{ items: [] }, /"data" must be an array/],
    [{ data: [1, 2] }, /data\[0\] is not an object/],
    [{ data: [], next_cursor: 5 }, /next_cursor/],
    [[{ nip: '1' }], /expected a JSON object/],
  ])('fails on the wrong shape %j', async (body, message) => {
    const s = await serve((_req, res) => json(res, 200, body));
    const r = await fetchAll(s.url);
    expect(r.error!.code).toBe('invalid_response');
    expect(r.error!.message).toMatch(message);
    expect(s.requests).toHaveLength(1);
  });

  it('fails on a cursor that repeats (no endless loop)', async () => {
    const s = await serve((_req, res) => json(res, 200, { data: [{ nip: '1' }], next_cursor: 'same' }));
    const r = await fetchAll(s.url);
    expect(r.error!.code).toBe('invalid_response');
    expect(s.requests).toHaveLength(2);
  });

  it('fails with unauthorized on 401 without retrying, and never puts the token in the error', async () => {
    const s = await serve((_req, res) => json(res, 401, { error: 'token' }));
    const r = await fetchAll(s.url, {}, 'super-secret-token');
    expect(r.error!.code).toBe('unauthorized');
    expect(r.error!.retryable).toBe(false);
    expect(s.requests).toHaveLength(1);
    expect(JSON.stringify({ m: r.error!.message, s: r.error!.stack })).not.toContain('super-secret-token');
  });

  it('never passes the token to the logger while retrying', async () => {
    const s = await serve(pagedApi(1, (res, n) => (n <= 2 ? (json(res, 503, {}), true) : false)));
    const lines: string[] = [];
    const log = {
      debug: (o: object, m?: string) => lines.push(JSON.stringify(o) + m),
      info: (o: object, m?: string) => lines.push(JSON.stringify(o) + m),
      warn: (o: object, m?: string) => lines.push(JSON.stringify(o) + m),
    };
    for await (const _ of createApiConnector().fetch(
      sourceDef({ url: `${s.url}/v1?key=q-secret`, token: 'tok-secret' }),
      { signal: new AbortController().signal, asOf: '2026-11-27', limits: FAST, log },
    ))
      void _;
    expect(lines.filter((l) => l.includes('retrying'))).toHaveLength(2);
    expect(s.requests.every((q) => q.path.includes('key=q-secret'))).toBe(true);
    expect(s.requests.at(-1)!.path).toMatch(/^\/v1\/formations\?key=q-secret&year=2026$/);
    expect(lines.join('\n')).not.toMatch(/tok-secret|q-secret/);
  });

  it('fails with payload_too_large over the row limit', async () => {
    const s = await serve(pagedApi(10));
    const r = await fetchAll(s.url, { pageSize: 4, maxRows: 6 });
    expect(r.error!.code).toBe('payload_too_large');
    expect(r.used).toBeNull();
  });

  it('fails with payload_too_large over the byte limit, counted over all pages', async () => {
    const s = await serve(pagedApi(50));
    const r = await fetchAll(s.url, { pageSize: 10, maxBytes: 1500 });
    expect(r.error!.code).toBe('payload_too_large');
    expect(s.requests.length).toBeGreaterThan(1);
  });

  it('stops on the caller signal and rethrows its reason', async () => {
    const s = await serve((_req, res) => setTimeout(() => json(res, 200, { data: [], next_cursor: null }), 1000));
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('shutdown')), 100);
    const r = await fetchAll(s.url, {}, null, ac.signal);
    expect((r.error as unknown as Error).message).toBe('shutdown');
  });
});

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
  formationFromYear?: number,
) {
  const staged: FetchedItem[] = [];
  let error: unknown = null;
  try {
    for await (const item of createApiConnector().fetch(sourceDef({ url, token }), {
      signal: signal ?? new AbortController().signal,
      asOf: '2026-11-27',
      limits: { ...FAST, ...limits },
      ...(formationFromYear !== undefined ? { formationFromYear } : {}),
    })) {
      staged.push(item);
    }
  } catch (e) {
    error = e;
  }
  return { used: error ? null : staged, staged, error: error as FetchError | null };
}

const officer = (i: number) => ({ nip: String(198503122010011000 + i), nama: `Pejabat ${i}` });

/**
 * A paged API of `total` officers, with formations for every year and no workload (404) unless
 * `workloads` gives its rows; `fault(n, path)` may answer instead.
 */
function pagedApi(
  total: number,
  fault?: (res: ServerResponse, n: number, path: string) => boolean,
  workloads?: Record<string, unknown>[],
) {
  return (req: IncomingMessage, res: ServerResponse, n: number) => {
    const u = new URL(req.url!, 'http://x');
    if (fault?.(res, n, u.pathname)) return;
    if (u.pathname === '/v1/formations')
      return json(res, 200, {
        data: [{ tahun: u.searchParams.get('year'), jenjang: 'ahli_muda', kebutuhan: 3, formasi: 2 }],
      });
    if (u.pathname === '/v1/workloads')
      return workloads ? json(res, 200, { data: workloads }) : json(res, 404, { error: 'not found' });
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
      '/v1/workloads?year=2026',
    ]);
    expect(s.requests.every((q) => q.auth === 'Bearer rahasia-123')).toBe(true);
    // The workload answered 404: none, not an error.
    expect(r.used!.filter((i) => i.kind === 'workload')).toEqual([]);
  });

  it("yields the workload of as_of's year after the formations, counted against the row limit", async () => {
    const rows = [
      { tahun: 2026, kegiatan: 'penempatan_akad', volume: 40 },
      { tahun: 2026, kegiatan: 'bursa_kerja', volume: 2, cakupan_kecamatan: 18, kompleksitas: 'sedang' },
    ];
    const s = await serve(pagedApi(2, undefined, rows));
    const r = await fetchAll(`${s.url}/v1`);
    expect(r.error).toBeNull();
    expect(r.used!.map((i) => i.kind)).toEqual(['officer', 'officer', 'formation', 'workload', 'workload']);
    expect(r.used!.filter((i) => i.kind === 'workload')).toEqual([
      { kind: 'workload', position: 0, record: rows[0] },
      { kind: 'workload', position: 1, record: rows[1] },
    ]);
    expect(s.requests.at(-1)!.path).toBe('/v1/workloads?year=2026');
    // 2 officers + 1 formation + 2 workload rows: 4 is one short.
    expect((await fetchAll(`${s.url}/v1`, { maxRows: 5 })).error).toBeNull();
    const over = await fetchAll(`${s.url}/v1`, { maxRows: 4 });
    expect(over.error!.code).toBe('payload_too_large');
    expect(over.staged).toEqual([]);
  });

  it('checks the workload page like the others: a wrong shape fails the fetch, a 5xx is retried', async () => {
    const bad = await serve((req, res) => {
      const u = new URL(req.url!, 'http://x');
      if (u.pathname === '/v1/workloads') return json(res, 200, { data: [1] });
      pagedApi(1)(req, res, 0);
    });
    const r = await fetchAll(`${bad.url}/v1`);
    expect(r.error!.code).toBe('invalid_response');
    expect(r.error!.message).toMatch(/\/v1\/workloads: data\[0\] is not an object/);
    expect(r.staged).toEqual([]);
    let failures = 0;
    const flaky = await serve(
      pagedApi(1, (res, _n, p) => (p === '/v1/workloads' && failures++ < 2 ? (json(res, 503, {}), true) : false), [
        { tahun: 2026, kegiatan: 'bursa_kerja', volume: 1 },
      ]),
    );
    const ok = await fetchAll(`${flaky.url}/v1`);
    expect(ok.error).toBeNull();
    expect(ok.used!.filter((i) => i.kind === 'workload')).toHaveLength(1);
  });

  it('R17: asks the formations of every year from formationFromYear, a past year answering 404 having none', async () => {
    const s = await serve(pagedApi(1));
    const r = await fetchAll(`${s.url}/v1`, {}, null, undefined, 2024);
    expect(r.error).toBeNull();
    expect(s.requests.map((q) => q.path)).toEqual([
      '/v1/officers?limit=500',
      '/v1/formations?year=2024',
      '/v1/formations?year=2025',
      '/v1/formations?year=2026',
      '/v1/workloads?year=2026',
    ]);
    const formations = r.used!.filter((i) => i.kind === 'formation');
    expect(formations.map((f) => [f.position, f.record.tahun])).toEqual([
      [0, '2024'],
      [1, '2025'],
      [2, '2026'],
    ]);
    // A past year without formations (404) has none; the fetch goes on.
    const gap = await serve((req, res) => {
      if (req.url === '/v1/formations?year=2025') return json(res, 404, {});
      pagedApi(1)(req, res, 0);
    });
    const withGap = await fetchAll(`${gap.url}/v1`, {}, null, undefined, 2024);
    expect(withGap.error).toBeNull();
    expect(withGap.used!.filter((i) => i.kind === 'formation').map((f) => f.record.tahun)).toEqual(['2024', '2026']);
    // As before, a 404 for as_of's own year fails the fetch; a start year after as_of's asks only that year.
    const none = await serve((req, res) => {
      if (req.url === '/v1/formations?year=2026') return json(res, 404, {});
      pagedApi(1)(req, res, 0);
    });
    const failed = await fetchAll(`${none.url}/v1`, {}, null, undefined, 2024);
    expect(failed.error).toMatchObject({ code: 'http_error', status: 404, retryable: false });
    const later = await serve(pagedApi(1));
    await fetchAll(`${later.url}/v1`, {}, null, undefined, 2030);
    expect(later.requests.map((q) => q.path)).toEqual([
      '/v1/officers?limit=500',
      '/v1/formations?year=2026',
      '/v1/workloads?year=2026',
    ]);
  });

  it('retries 5xx with back-off and succeeds', async () => {
    const s = await serve(pagedApi(2, (res, n) => (n <= 2 ? (json(res, 502, 'bad gateway'), true) : false)));
    const r = await fetchAll(s.url);
    expect(r.error).toBeNull();
    expect(r.used!.filter((i) => i.kind === 'officer')).toHaveLength(2);
    expect(s.requests).toHaveLength(2 + 3); // two failures, then officers, formations and workload
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
    expect(s.requests).toHaveLength(4);
  });

  it('times out a slow request and retries it', async () => {
    const s = await serve(
      pagedApi(1, (res, n) => (n === 1 ? (setTimeout(() => json(res, 200, { data: [] }), 1500), true) : false)),
    );
    const r = await fetchAll(s.url, { requestTimeoutMs: 300 });
    expect(r.error).toBeNull();
    expect(s.requests).toHaveLength(4);
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
    expect(s.requests.at(-2)!.path).toMatch(/^\/v1\/formations\?key=q-secret&year=2026$/);
    expect(s.requests.at(-1)!.path).toMatch(/^\/v1\/workloads\?key=q-secret&year=2026$/);
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

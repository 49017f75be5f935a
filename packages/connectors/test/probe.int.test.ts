import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiConnector } from '../src/api/api.connector.ts';
import { createCsvConnector } from '../src/csv/csv.connector.ts';
import { createUploadConnector } from '../src/upload/upload.connector.ts';
import { createXlsxConnector } from '../src/xlsx/xlsx.connector.ts';
import { isFetchError } from '../src/fetch-error.ts';
import { combineRawParts } from '../src/raw-hash.ts';
import { etagFileServer, FAST, localServer, sourceDef } from './support/local-server.ts';
import type { ProbeContext, StoredUpload } from '../src/connector.types.ts';

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function fileServer(files: Record<string, { body: string; etag: string }>) {
  const s = await etagFileServer(files);
  servers.push(s);
  return s;
}

const ctx = (validators: ProbeContext['validators'], contentHash = 'h'): ProbeContext => ({
  signal: new AbortController().signal,
  contentHash,
  validators,
  limits: { ...FAST, attempts: 1 },
});

describe('Connector.probe: is the snapshot still the reconciled one, without downloading it', () => {
  it('csv: true only when both files answer 304 to their validators', async () => {
    const files = {
      '/pejabat.csv': { body: 'NIP;Nama\r\n198503122010011003;Budi\r\n', etag: '"o1"' },
      '/formasi.csv': { body: 'Tahun,Kebutuhan\n2026,3\n'.repeat(2000), etag: '"f1"' },
    };
    const s = await fileServer(files);
    const src = sourceDef({ transport: 'csv', url: `${s.url}/pejabat.csv`, formationsUrl: `${s.url}/formasi.csv` });
    const csv = createCsvConnector();
    const known = { officers: { etag: '"o1"' }, formations: { etag: '"f1"' } };

    expect(await csv.probe!(src, ctx(known))).toBe(true);
    expect(s.log).toEqual(['/pejabat.csv "o1"', '/formasi.csv "f1"']);

    files['/formasi.csv'].etag = '"f2"';
    s.log.length = 0;
    expect(await csv.probe!(src, ctx(known))).toBe(false);
    expect(s.log).toEqual(['/pejabat.csv "o1"', '/formasi.csv "f1"']);

    // A file without validators cannot be asked: "changed" (its job downloads it), no request.
    s.log.length = 0;
    expect(await csv.probe!(src, ctx({ officers: { etag: '"o1"' } }))).toBe(false);
    expect(s.log).toEqual(['/pejabat.csv "o1"']);
  });

  it('xlsx: one conditional GET of the workbook', async () => {
    const s = await fileServer({ '/data.xlsx': { body: 'PK…', etag: '"w1"' } });
    const src = sourceDef({ transport: 'xlsx', url: `${s.url}/data.xlsx` });
    expect(await createXlsxConnector().probe!(src, ctx({ workbook: { etag: '"w1"' } }))).toBe(true);
    expect(await createXlsxConnector().probe!(src, ctx({ workbook: { etag: '"w0"' } }))).toBe(false);
    expect(s.log).toEqual(['/data.xlsx "w1"', '/data.xlsx "w0"']);
  });

  it('an error answer is "not known unchanged"; no answer at all throws a FetchError (its job then fetches it)', async () => {
    const s = await fileServer({});
    const src = sourceDef({ transport: 'xlsx', url: `${s.url}/data.xlsx` });
    expect(await createXlsxConnector().probe!(src, ctx({ workbook: { etag: '"w1"' } }))).toBe(false);

    const silent = await localServer(() => {}); // accepts, never answers
    servers.push(silent);
    const slow = sourceDef({ transport: 'xlsx', url: `${silent.url}/data.xlsx` });
    const timeout = await createXlsxConnector().probe!(slow, {
      ...ctx({ workbook: { etag: '"w1"' } }),
      limits: { requestTimeoutMs: 100 },
    }).catch((e: unknown) => e);
    expect(isFetchError(timeout) && timeout.code).toBe('timeout');

    const gone = await localServer(() => {});
    await gone.close();
    const refused = await createXlsxConnector().probe!(
      sourceDef({ transport: 'xlsx', url: `${gone.url}/data.xlsx` }),
      ctx({ workbook: { etag: '"w1"' } }),
    ).catch((e: unknown) => e);
    expect(isFetchError(refused) && refused.code).toBe('network_error');
  });

  it('sends the token, and nothing when the signal is already aborted', async () => {
    const seen: (string | undefined)[] = [];
    const s = await localServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(304);
      res.end();
    });
    servers.push(s);
    const src = sourceDef({ transport: 'xlsx', url: `${s.url}/data.xlsx`, token: 'rahasia' });
    expect(await createXlsxConnector().probe!(src, ctx({ workbook: { etag: '"w1"' } }))).toBe(true);
    expect(seen).toEqual(['Bearer rahasia']);
    const ctl = new AbortController();
    ctl.abort(new Error('stopping'));
    const err = await createXlsxConnector().probe!(src, {
      ...ctx({ workbook: { etag: '"w1"' } }),
      signal: ctl.signal,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('stopping');
    expect(seen).toHaveLength(1);
  });

  it('stops when the signal fires mid-request, and leaves a large changed file unread', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 'x');
    let sent = 0;
    let hangAsked!: () => void;
    const hangReached = new Promise<void>((res) => (hangAsked = res));
    let bodyClosed!: (finished: boolean) => void;
    const bodyDone = new Promise<boolean>((res) => (bodyClosed = res));
    const s = await localServer((req, res) => {
      if (req.url === '/hang.xlsx') return hangAsked(); // never answers
      // Whether the whole body went out when its connection closed.
      res.on('close', () => bodyClosed(res.writableFinished));
      // Written in pieces: a reader that drained the body would take all of it.
      const write = (at: number) => {
        if (at >= big.length || res.destroyed) return res.end();
        sent = at + 64 * 1024;
        if (res.write(big.subarray(at, at + 64 * 1024))) setImmediate(() => write(at + 64 * 1024));
        else res.once('drain', () => write(at + 64 * 1024));
      };
      write(0);
    });
    servers.push(s);
    const xlsx = createXlsxConnector();
    const changed = sourceDef({ transport: 'xlsx', url: `${s.url}/data.xlsx` });
    expect(await xlsx.probe!(changed, ctx({ workbook: { etag: '"w1"' } }))).toBe(false);
    // The probe drops the response: its connection closes with the body unsent (not drained to the end).
    expect(await bodyDone).toBe(false);
    expect(sent).toBeLessThan(big.length);

    const ctl = new AbortController();
    const hanging = xlsx.probe!(sourceDef({ transport: 'xlsx', url: `${s.url}/hang.xlsx` }), {
      ...ctx({ workbook: { etag: '"w1"' } }),
      signal: ctl.signal,
    });
    // Mid-request: the server has the request and will never answer.
    await hangReached;
    ctl.abort(new Error('worker stopping'));
    await expect(hanging).rejects.toThrow('worker stopping');
  });

  it('upload: compares the latest upload with the reconciled hash, without reading its bytes', async () => {
    let opened = 0;
    const upload: StoredUpload = {
      id: 'u1',
      sourceId: 'src',
      filename: 'pejabat.csv',
      sha256: 'a'.repeat(64),
      sizeBytes: 120,
      uploadedBy: 'operator',
      uploadedAt: new Date(),
      open: () => (opened++, Readable.from([])),
    };
    const uploads = { latestUpload: async (id: string) => (id === 'src' ? upload : null) };
    const connector = createUploadConnector({ uploads });
    const hash = combineRawParts('upload', [{ label: 'upload', sha256: upload.sha256, bytes: 120 }]).sha256;
    expect(await connector.probe!(sourceDef({ id: 'src', transport: 'upload' }), ctx({}, hash))).toBe(true);
    expect(await connector.probe!(sourceDef({ id: 'src', transport: 'upload' }), ctx({}, 'other'))).toBe(false);
    expect(opened).toBe(0);
    const none = await connector.probe!(sourceDef({ id: 'empty', transport: 'upload' }), ctx({}, hash)).catch((e) => e);
    expect(isFetchError(none) && none.code).toBe('no_upload');
  });

  it('api: downloads the pages (no validators to ask with) and compares their raw hash', async () => {
    let officers = JSON.stringify({ data: [{ nip: '198503122010011003' }], next_cursor: 'p2' });
    const page2 = JSON.stringify({ data: [{ nip: '198503122010011004' }], next_cursor: null });
    const formations = JSON.stringify({ data: [{ tahun: 2026 }] });
    let fail = false;
    const s = await localServer((req, res) => {
      if (fail) return void res.writeHead(500).end();
      const url = req.url ?? '';
      if (url.startsWith('/v1/workloads')) return void res.writeHead(404).end(); // sends no workload
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(url.startsWith('/v1/formations') ? formations : url.includes('cursor=p2') ? page2 : officers);
    });
    servers.push(s);
    const src = sourceDef({ transport: 'api', url: `${s.url}/v1` });
    const api = createApiConnector();
    // The hash a fetch records for the same pages.
    let reconciled = '';
    for await (const _ of api.fetch(src, {
      signal: new AbortController().signal,
      asOf: '2026-11-27',
      limits: FAST,
      beforeParse: (raw) => ((reconciled = raw.sha256), true),
    })) {
      // beforeParse said stop: nothing is parsed
    }
    const ask = (asOf?: string) => api.probe!(src, { ...ctx({}, reconciled), ...(asOf ? { asOf } : {}) });
    expect(await ask('2026-11-27')).toBe(true);
    expect(s.requests.slice(-4).map((r) => r.path)).toEqual([
      '/v1/officers?limit=500',
      '/v1/officers?limit=500&cursor=p2',
      '/v1/formations?year=2026',
      '/v1/workloads?year=2026',
    ]);
    expect(await ask('2025-11-27')).toBe(false); // another year's formations
    expect(await ask()).toBe(false); // no as-of date: not asked
    officers = officers.replace('003', '005');
    expect(await ask('2026-11-27')).toBe(false);
    fail = true;
    const e = await ask('2026-11-27').catch((err: unknown) => err);
    expect(isFetchError(e) && e.code).toBe('http_error');
  });

  it('api: pages that came with ETags are asked again with If-None-Match, reading no body', async () => {
    const pages: Record<string, { body: string; etag: string }> = {
      '/v1/officers?limit=500': { body: JSON.stringify({ data: [{ nip: '1' }], next_cursor: 'p2' }), etag: '"a1"' },
      '/v1/officers?limit=500&cursor=p2': {
        body: JSON.stringify({ data: [{ nip: '2' }], next_cursor: null }),
        etag: '"b1"',
      },
      '/v1/formations?year=2026': { body: JSON.stringify({ data: [{ tahun: 2026 }] }), etag: '"f1"' },
      '/v1/formations?year=2027': { body: JSON.stringify({ data: [{ tahun: 2027 }] }), etag: '"g1"' },
      '/v1/workloads?year=2026': { body: JSON.stringify({ data: [{ tahun: 2026 }] }), etag: '"w1"' },
      '/v1/workloads?year=2027': { body: JSON.stringify({ data: [{ tahun: 2027 }] }), etag: '"x1"' },
    };
    const log: [string, string | undefined, string | undefined][] = [];
    const s = await localServer((req, res) => {
      log.push([req.url ?? '', req.headers['if-none-match'], req.headers.authorization]);
      const page = pages[req.url ?? '']!;
      if (req.headers['if-none-match'] === page.etag) return void res.writeHead(304, { etag: page.etag }).end();
      res.writeHead(200, { 'content-type': 'application/json', etag: page.etag }).end(page.body);
    });
    servers.push(s);
    const src = sourceDef({ transport: 'api', url: `${s.url}/v1`, token: 'secret-token' });
    const api = createApiConnector();
    // A fetch records each page's ETag with the cursor it was asked with.
    let validators: ProbeContext['validators'] = {};
    let hash = '';
    for await (const _ of api.fetch(src, {
      signal: new AbortController().signal,
      asOf: '2026-11-27',
      limits: FAST,
      beforeParse: (raw) => ((validators = raw.validators ?? {}), (hash = raw.sha256), true),
    })) {
      // beforeParse said stop
    }
    expect(validators).toEqual({
      'officers#0': { etag: '"a1"' },
      'officers#1': { etag: '"b1"', cursor: 'p2', last: true },
      'formations?year=2026': { etag: '"f1"' },
      'workloads?year=2026': { etag: '"w1"' },
    });
    const asked = () => log.length;
    const ask = (v = validators, asOf = '2026-11-27') => api.probe!(src, { ...ctx(v, hash), asOf });

    let before = asked();
    expect(await ask()).toBe(true);
    expect(log.slice(before)).toEqual([
      ['/v1/officers?limit=500', '"a1"', 'Bearer secret-token'],
      ['/v1/officers?limit=500&cursor=p2', '"b1"', 'Bearer secret-token'],
      ['/v1/formations?year=2026', '"f1"', 'Bearer secret-token'],
      ['/v1/workloads?year=2026', '"w1"', 'Bearer secret-token'],
    ]);
    // A changed page: false at once, the later pages are not asked.
    pages['/v1/officers?limit=500']!.etag = '"a2"';
    before = asked();
    expect(await ask()).toBe(false);
    expect(asked() - before).toBe(1);
    pages['/v1/officers?limit=500']!.etag = '"a1"';
    // Validators that do not make a whole chain (a page without its ETag, another year's
    // formations) are not asked by ETag: the pages are downloaded and hashed instead.
    before = asked();
    const { 'officers#1': _, ...gap } = validators;
    expect(await ask(gap)).toBe(true); // the same pages, by their hash
    expect(log.slice(before).every(([, ifNoneMatch]) => ifNoneMatch === undefined)).toBe(true);
    expect(await ask(validators, '2027-01-02')).toBe(false); // 2027's formations: another hash
  });

  it('api: a page that answered 404 is asked again plainly; still 404 is unchanged, a workload sent at last is not', async () => {
    const etags: Record<string, string> = {
      '/v1/officers?limit=500': '"a1"',
      '/v1/formations?year=2024': '"p1"',
      '/v1/formations?year=2026': '"f1"',
    };
    let workload: string | null = null;
    const log: [string, string | undefined][] = [];
    const s = await localServer((req, res) => {
      const url = req.url ?? '';
      log.push([url, req.headers['if-none-match']]);
      if (url === '/v1/workloads?year=2026' && workload !== null) {
        return void res.writeHead(200, { 'content-type': 'application/json', etag: '"w1"' }).end(workload);
      }
      const etag = etags[url];
      if (!etag) return void res.writeHead(404).end('{"error":"tidak ada"}'); // 2025's formations, the workload
      if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { etag }).end();
      const body = url.startsWith('/v1/officers') ? { data: [{ nip: '1' }], next_cursor: null } : { data: [] };
      res.writeHead(200, { 'content-type': 'application/json', etag }).end(JSON.stringify(body));
    });
    servers.push(s);
    const src = sourceDef({ transport: 'api', url: `${s.url}/v1` });
    const api = createApiConnector();
    const fetchRaw = async () => {
      let raw: { sha256: string; validators?: ProbeContext['validators'] } = { sha256: '' };
      const items: string[] = [];
      for await (const item of api.fetch(src, {
        signal: new AbortController().signal,
        asOf: '2026-11-27',
        formationFromYear: 2024,
        limits: FAST,
        beforeParse: (r) => ((raw = r), false),
      }))
        items.push(item.kind);
      return { raw, items };
    };
    const first = await fetchRaw();
    expect(first.items).toEqual(['officer']);
    expect(first.raw.validators).toEqual({
      'officers#0': { etag: '"a1"', last: true },
      'formations?year=2024': { etag: '"p1"' },
      'formations?year=2025': { absent: true },
      'formations?year=2026': { etag: '"f1"' },
      'workloads?year=2026': { absent: true },
    });
    const ask = () =>
      api.probe!(src, { ...ctx(first.raw.validators!, first.raw.sha256), asOf: '2026-11-27', formationFromYear: 2024 });
    log.length = 0;
    expect(await ask()).toBe(true);
    expect(log).toEqual([
      ['/v1/officers?limit=500', '"a1"'],
      ['/v1/formations?year=2024', '"p1"'],
      ['/v1/formations?year=2025', undefined],
      ['/v1/formations?year=2026', '"f1"'],
      ['/v1/workloads?year=2026', undefined],
    ]);
    // The probe asks what the fetch would: without the start year, 2024's pages are not the chain.
    expect(await api.probe!(src, { ...ctx(first.raw.validators!, first.raw.sha256), asOf: '2026-11-27' })).toBe(false);
    // The agency starts sending its workload: the probe sees it, and the raw hash changes.
    workload = JSON.stringify({ data: [{ tahun: 2026, kegiatan: 'bursa_kerja', volume: 1 }] });
    expect(await ask()).toBe(false);
    const second = await fetchRaw();
    expect(second.items).toEqual(['officer', 'workload']);
    expect(second.raw.sha256).not.toBe(first.raw.sha256);
    expect(second.raw.validators!['workloads?year=2026']).toEqual({ etag: '"w1"' });
  });

  it("api: keeps only the pages' hashes, never the pages (no spill file past 4 MB)", async () => {
    // Two pages of ~3 MB each: a fetch keeps them, spilling the second to a temp file.
    const big = (n: number) => [...Array(12_000)].map((_, i) => ({ nip: String(n * 1e6 + i), nama: 'x'.repeat(230) }));
    const pages: Record<string, string> = {
      first: JSON.stringify({ data: big(1), next_cursor: 'p2' }),
      p2: JSON.stringify({ data: big(2), next_cursor: null }),
    };
    const s = await localServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const url = req.url ?? '';
      res.end(url.startsWith('/v1/formations') ? '{"data":[]}' : url.includes('cursor=p2') ? pages.p2 : pages.first);
    });
    servers.push(s);
    const src = sourceDef({ transport: 'api', url: `${s.url}/v1` });
    const limits = { ...FAST, maxRows: 100_000, maxBytes: 64 * 1024 * 1024, pageSize: 12_000 };
    const api = createApiConnector();
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = '/nonexistent/pksync-probe-test'; // a page kept past 4 MB would fail here
    try {
      const fetching = (async () => {
        for await (const _ of api.fetch(src, { signal: new AbortController().signal, asOf: '2026-11-27', limits })) {
          // drain
        }
      })();
      await expect(fetching).rejects.toThrow(/ENOENT/);
      expect(await api.probe!(src, { ...ctx({}, 'other'), limits, asOf: '2026-11-27' })).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });
});

import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHttpSession } from '../src/http/http-client.ts';
import { downloadToFile } from '../src/http/download.ts';
import { csvFileItems } from '../src/file-snapshot.ts';
import { DEFAULT_LIMITS } from '../src/connector.types.ts';
import { describe, expect, it } from 'vitest';
import { createApiConnector } from '../src/api/api.connector.ts';
import { createCsvConnector } from '../src/csv/csv.connector.ts';
import type { RawSnapshotInfo } from '../src/raw-hash.ts';
import { etagFileServer, FAST, json, sourceDef, useLocalServers } from './support/local-server.ts';
import type { Connector, FetchedItem, SourceDefinition } from '../src/connector.types.ts';

const serve = useLocalServers();

/** Fetches with a `beforeParse` that skips when the raw hash is `known`. */
async function fetchWith(connector: Connector, source: SourceDefinition, known: string | null, pageSize = 500) {
  const items: FetchedItem[] = [];
  const seen: RawSnapshotInfo[] = [];
  for await (const item of connector.fetch(source, {
    signal: new AbortController().signal,
    asOf: '2026-11-27',
    limits: { ...FAST, pageSize },
    beforeParse: (raw) => {
      seen.push(raw);
      return raw.sha256 === known;
    },
  })) {
    items.push(item);
  }
  expect(seen).toHaveLength(1);
  return { items, raw: seen[0]! };
}

describe('beforeParse (raw-bytes hash before any parsing)', () => {
  const officer = (i: number, day: number) => ({ nip: String(198503122010011000 + i), nama: `Pejabat ${i}`, d: day });
  function api(total: number, state: { day: number }) {
    return (req: IncomingMessage, res: ServerResponse) => {
      const u = new URL(req.url!, 'http://x');
      if (u.pathname === '/v1/formations') return json(res, 200, { data: [{ tahun: u.searchParams.get('year') }] });
      const limit = Number(u.searchParams.get('limit'));
      const from = u.searchParams.has('cursor') ? Number(u.searchParams.get('cursor')) : 0;
      const data = Array.from({ length: Math.min(limit, total - from) }, (_, k) =>
        officer(from + k, from + k === total - 1 ? state.day : 0),
      );
      json(res, 200, { data, next_cursor: from + limit < total ? String(from + limit) : null });
    };
  }

  it('api: same pages give the same hash and a true answer yields nothing; a change in the last page is seen', async () => {
    const state = { day: 0 };
    const s = await serve(api(25, state));
    const src = sourceDef({ url: `${s.url}/v1` });
    const first = await fetchWith(createApiConnector(), src, null, 10);
    expect(first.items.filter((i) => i.kind === 'officer')).toHaveLength(25);
    expect(first.items.map((i) => i.position).slice(0, 3)).toEqual([0, 1, 2]);
    const again = await fetchWith(createApiConnector(), src, first.raw.sha256, 10);
    expect(again.raw).toEqual(first.raw);
    expect(again.items).toEqual([]);
    state.day = 1;
    const changed = await fetchWith(createApiConnector(), src, first.raw.sha256, 10);
    expect(changed.raw.sha256).not.toBe(first.raw.sha256);
    expect(changed.items.filter((i) => i.kind === 'officer')).toHaveLength(25);
  });

  it('api: pages past the memory budget are spooled to a temp file, read back in order, and removed', async () => {
    const big = 'x'.repeat(3000);
    const s = await serve((req, res) => {
      const u = new URL(req.url!, 'http://x');
      if (u.pathname === '/v1/formations') return json(res, 200, { data: [] });
      if (u.pathname === '/v1/workloads') return json(res, 404, {});
      const from = u.searchParams.has('cursor') ? Number(u.searchParams.get('cursor')) : 0;
      const data = Array.from({ length: 500 }, (_, k) => ({ nip: String(from + k), nama: big }));
      json(res, 200, { data, next_cursor: from + 500 < 4000 ? String(from + 500) : null });
    });
    const before = (await readdir(tmpdir())).filter((f) => f.startsWith('pksync-api-'));
    const r = await fetchWith(createApiConnector(), sourceDef({ url: `${s.url}/v1`, maxBytes: 100e6 }), null);
    expect(r.raw.bytes).toBeGreaterThan(4 * 1024 * 1024); // over the in-memory budget
    expect(r.items.map((i) => (i.record as { nip: string }).nip)).toEqual(
      Array.from({ length: 4000 }, (_, i) => String(i)),
    );
    expect((await readdir(tmpdir())).filter((f) => f.startsWith('pksync-api-'))).toEqual(before);
  });

  it('csv: the hash covers both files; unchanged files are not parsed', async () => {
    const files = { officers: 'NIP;Nama\r\n198503122010011003;Budi\r\n', formations: 'Tahun,Kebutuhan\n2026,3\n' };
    const s = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.end(req.url === '/formasi.csv' ? files.formations : files.officers);
    });
    const src = sourceDef({ transport: 'csv', url: `${s.url}/pejabat.csv`, formationsUrl: `${s.url}/formasi.csv` });
    const first = await fetchWith(createCsvConnector(), src, null);
    expect(first.items.length).toBe(2);
    expect(first.raw.bytes).toBe(files.officers.length + files.formations.length);
    const again = await fetchWith(createCsvConnector(), src, first.raw.sha256);
    expect(again.items).toEqual([]);
    files.formations = 'Tahun,Kebutuhan\n2026,4\n';
    const changed = await fetchWith(createCsvConnector(), src, first.raw.sha256);
    expect(changed.raw.sha256).not.toBe(first.raw.sha256);
    expect(changed.items.length).toBe(2);
  });

  it('csv: conditional GETs; all 304 is unchanged without a download, a mix re-downloads the 304 file', async () => {
    const files: Record<string, { body: string; etag: string }> = {
      '/pejabat.csv': { body: 'NIP;Nama\r\n198503122010011003;Budi\r\n', etag: '"o1"' },
      '/formasi.csv': { body: 'Tahun,Kebutuhan\n2026,3\n', etag: '"f1"' },
    };
    const s = serve.keep(await etagFileServer(files));
    const log = s.log;
    const src = sourceDef({ transport: 'csv', url: `${s.url}/pejabat.csv`, formationsUrl: `${s.url}/formasi.csv` });
    const fetchOnce = async (conditional?: { contentHash: string; validators: Record<string, { etag?: string }> }) => {
      const seen: RawSnapshotInfo[] = [];
      const items: FetchedItem[] = [];
      for await (const item of createCsvConnector().fetch(src, {
        signal: new AbortController().signal,
        asOf: '2026-11-27',
        limits: FAST,
        ...(conditional ? { conditional } : {}),
        beforeParse: (raw) => {
          seen.push(raw);
          return raw.sha256 === conditional?.contentHash;
        },
      }))
        items.push(item);
      return { raw: seen[0]!, items };
    };
    const first = await fetchOnce();
    expect(first.raw.validators).toEqual({ officers: { etag: '"o1"' }, formations: { etag: '"f1"' } });
    const known = { contentHash: first.raw.sha256, validators: first.raw.validators! };
    log.length = 0;
    const again = await fetchOnce(known);
    expect(again.raw).toEqual({ sha256: first.raw.sha256, bytes: 0, notModified: true });
    expect(again.items).toEqual([]);
    expect(log).toEqual(['/pejabat.csv "o1"', '/formasi.csv "f1"']);
    // Only the formations changed: the officers file (304) is fetched again in full to parse both.
    files['/formasi.csv'] = { body: 'Tahun,Kebutuhan\n2026,4\n', etag: '"f2"' };
    log.length = 0;
    const mixed = await fetchOnce(known);
    expect(log).toEqual(['/pejabat.csv "o1"', '/formasi.csv "f1"', '/pejabat.csv -']);
    expect(mixed.raw.notModified).toBeUndefined();
    expect(mixed.raw.sha256).not.toBe(first.raw.sha256);
    expect(mixed.raw.validators).toEqual({ officers: { etag: '"o1"' }, formations: { etag: '"f2"' } });
    expect(mixed.items).toHaveLength(2);
  });

  it('csv: small files stay in memory, a big one spills to a temp file; both parse the same', async () => {
    const row = (i: number) => `${String(198503122010011000 + i)};Pejabat ${'x'.repeat(40)}\r\n`;
    const big = 'NIP;Nama\r\n' + Array.from({ length: 90_000 }, (_, i) => row(i)).join(''); // ≈ 5.6 MB
    const s = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.end(req.url === '/big.csv' ? big : 'NIP;Nama\r\n198503122010011003;Budi\r\n');
    });
    const session = createHttpSession({
      signal: new AbortController().signal,
      limits: { ...DEFAULT_LIMITS, ...FAST, maxBytes: 100e6 },
      token: null,
      sourceId: 'x',
      log: undefined,
    });
    const dir = await mkdtemp(path.join(tmpdir(), 'pksync-test-'));
    try {
      const opened: string[] = [];
      const target = (name: string) => ({
        limit: 4 * 1024 * 1024,
        openPath: async () => (opened.push(name), path.join(dir, name)),
      });
      const small = await downloadToFile(session, `${s.url}/small.csv`, target('small.csv'), { bytes: 100e6 });
      expect('buffer' in small.data).toBe(true);
      const large = await downloadToFile(session, `${s.url}/big.csv`, target('big.csv'), { bytes: 100e6 });
      expect(large.data).toEqual({ path: path.join(dir, 'big.csv') });
      expect(opened).toEqual(['big.csv']);
      expect(large.bytes).toBe(Buffer.byteLength(big));
      expect((await readFile(path.join(dir, 'big.csv'), 'utf8')) === big).toBe(true);
      const budget = { rows: 1e6, maxRows: 1e6, maxBytes: 100e6 };
      const items: FetchedItem[] = [];
      for await (const it of csvFileItems(large.data, 'officer', budget, 'big')) items.push(it);
      expect(items).toHaveLength(90_000);
      const fromMemory: FetchedItem[] = [];
      for await (const it of csvFileItems(small.data, 'officer', budget, 'small')) fromMemory.push(it);
      expect(fromMemory.map((i) => i.record)).toEqual([{ nip: '198503122010011003', nama: 'Budi' }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createApiConnector } from '../src/api/api.connector.ts';
import { createCsvConnector } from '../src/csv/csv.connector.ts';
import { createUploadConnector } from '../src/upload/upload.connector.ts';
import { createXlsxConnector } from '../src/xlsx/xlsx.connector.ts';
import { sha256Hex, type RawSnapshotInfo } from '../src/raw-hash.ts';
import { etagFileServer, FAST, json, sourceDef, useLocalServers } from './support/local-server.ts';
import type { FetchError } from '../src/fetch-error.ts';
import type { Connector, FetchContext, FetchedItem, SourceDefinition, StoredUpload } from '../src/connector.types.ts';

// Workload data (needs-planning-v1.md § Workload data) through every transport.
const serve = useLocalServers();
const sample = (name: string) => new URL(`../samples/${name}`, import.meta.url).pathname;

const OFFICERS = 'NIP;Nama;Jenjang\r\n198503122010011003;Budi Santoso;Ahli Muda\r\n';
const FORMATIONS = 'Tahun,Jenjang,Kebutuhan,Formasi\n2026,ahli_muda,3,2\n';
const WORKLOADS = 'Tahun;Jenis Kegiatan;Jumlah;Kecamatan\r\n2026;bursa_kerja;2;18\r\n2026;penempatan_akl;40;\r\n';

async function run(connector: Connector, source: SourceDefinition, over: Partial<FetchContext> = {}) {
  const items: FetchedItem[] = [];
  const raws: RawSnapshotInfo[] = [];
  try {
    for await (const item of connector.fetch(source, {
      signal: new AbortController().signal,
      asOf: '2026-11-27',
      limits: FAST,
      beforeParse: (raw) => (raws.push(raw), false),
      ...over,
    })) {
      items.push(item);
    }
    return { items, raw: raws[0], error: null };
  } catch (e) {
    return { items, raw: raws[0], error: e as FetchError };
  }
}

const workloads = (items: FetchedItem[]) => items.filter((i) => i.kind === 'workload');

describe('csv: the workload file at workloadsUrl', () => {
  const csvSource = (url: string, withWorkloads = true) =>
    sourceDef({
      transport: 'csv',
      url: `${url}/pejabat.csv`,
      formationsUrl: `${url}/formasi.csv`,
      workloadsUrl: withWorkloads ? `${url}/beban.csv` : null,
    });

  it('downloads it after the other files, yields its rows through the workload aliases, and hashes it', async () => {
    const files = {
      '/pejabat.csv': { body: OFFICERS, etag: '"o1"' },
      '/formasi.csv': { body: FORMATIONS, etag: '"f1"' },
      '/beban.csv': { body: WORKLOADS, etag: '"w1"' },
    };
    const s = serve.keep(await etagFileServer(files));
    const r = await run(createCsvConnector(), csvSource(s.url));
    expect(r.error).toBeNull();
    expect(r.items.map((i) => i.kind)).toEqual(['officer', 'formation', 'workload', 'workload']);
    expect(workloads(r.items)).toEqual([
      {
        kind: 'workload',
        position: 2,
        record: { tahun: '2026', kegiatan: 'bursa_kerja', volume: '2', cakupan_kecamatan: '18' },
      },
      {
        kind: 'workload',
        position: 3,
        record: { tahun: '2026', kegiatan: 'penempatan_akl', volume: '40', cakupan_kecamatan: '' },
      },
    ]);
    expect(s.log).toEqual(['/pejabat.csv -', '/formasi.csv -', '/beban.csv -']);
    expect(r.raw!.bytes).toBe(OFFICERS.length + FORMATIONS.length + WORKLOADS.length);
    expect(r.raw!.validators).toEqual({
      officers: { etag: '"o1"' },
      formations: { etag: '"f1"' },
      workloads: { etag: '"w1"' },
    });

    // Conditional GETs of all three: all 304 is unchanged; the probe asks the workload file too.
    const known = { contentHash: r.raw!.sha256, validators: r.raw!.validators! };
    s.log.length = 0;
    const again = await run(createCsvConnector(), csvSource(s.url), {
      conditional: known,
      beforeParse: (raw) => raw.sha256 === known.contentHash,
    });
    expect(again.items).toEqual([]);
    expect(s.log).toEqual(['/pejabat.csv "o1"', '/formasi.csv "f1"', '/beban.csv "w1"']);
    const probe = (validators = known.validators) =>
      createCsvConnector().probe!(csvSource(s.url), {
        signal: new AbortController().signal,
        contentHash: known.contentHash,
        validators,
        limits: FAST,
      });
    expect(await probe()).toBe(true);
    files['/beban.csv'] = { body: WORKLOADS.replace(';2;', ';3;'), etag: '"w2"' };
    expect(await probe()).toBe(false);
    // A snapshot reconciled before the source had a workload file: its validators lack it.
    const { workloads: _, ...before } = known.validators;
    expect(await probe(before)).toBe(false);

    // The changed workload changes the raw hash; without a workload file there is no request for it.
    const changed = await run(createCsvConnector(), csvSource(s.url));
    expect(changed.raw!.sha256).not.toBe(r.raw!.sha256);
    s.log.length = 0;
    const without = await run(createCsvConnector(), csvSource(s.url, false));
    expect(workloads(without.items)).toEqual([]);
    expect(s.log).toEqual(['/pejabat.csv -', '/formasi.csv -']);
    expect(without.raw!.sha256).not.toBe(r.raw!.sha256);
  });

  it('counts workload rows against maxRows, and fails the whole snapshot on a broken workload file', async () => {
    const bodies: Record<string, string> = {
      '/pejabat.csv': OFFICERS,
      '/formasi.csv': FORMATIONS,
      '/beban.csv': WORKLOADS,
    };
    const s = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.end(bodies[req.url!]);
    });
    // 1 officer + 1 formation + 2 workload rows.
    expect((await run(createCsvConnector(), { ...csvSource(s.url), maxRows: 4 })).error).toBeNull();
    const over = await run(createCsvConnector(), { ...csvSource(s.url), maxRows: 3 });
    expect(over.error!.code).toBe('payload_too_large');
    bodies['/beban.csv'] = '<html>502 Bad Gateway</html>';
    const broken = await run(createCsvConnector(), csvSource(s.url));
    expect(broken.error!.code).toBe('unparseable_file');
    expect(broken.error!.message).toMatch(/^workloads file:/);
  });
});

describe('xlsx and upload: the beban_kerja sheet', () => {
  it('xlsx: yields the sheet after officers and formations; its rows count against maxRows', async () => {
    const book = await readFile(sample('beban-kerja.xlsx'));
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(book);
    });
    const src = sourceDef({ transport: 'xlsx', url: `${s.url}/data.xlsx` });
    const r = await run(createXlsxConnector(), src);
    expect(r.error).toBeNull();
    expect(r.items.map((i) => i.kind)).toEqual(['officer', 'formation', 'workload', 'workload', 'workload']);
    expect(workloads(r.items)[0]).toEqual({
      kind: 'workload',
      position: 2,
      record: {
        tahun: 2026,
        kegiatan: 'pendaftaran_pencari_kerja',
        volume: 4000,
        cakupan_kecamatan: 18,
        kompleksitas: 'Tinggi',
      },
    });
    expect((await run(createXlsxConnector(), { ...src, maxRows: 4 })).error!.code).toBe('payload_too_large');
  });

  it('upload: a workbook with the sheet, and a workload CSV uploaded alone', async () => {
    const files: Record<string, { name: string; bytes: Buffer }> = {
      book: { name: 'data.xlsx', bytes: await readFile(sample('beban-kerja.xlsx')) },
      csv: { name: 'beban-kerja.csv', bytes: await readFile(sample('beban-kerja.csv')) },
    };
    const upload = (id: string): StoredUpload => ({
      id,
      sourceId: id,
      filename: files[id]!.name,
      sha256: sha256Hex(files[id]!.bytes),
      sizeBytes: files[id]!.bytes.length,
      uploadedBy: 'operator',
      uploadedAt: new Date(),
      open: () => Readable.from([files[id]!.bytes]),
    });
    const connector = createUploadConnector({ uploads: { latestUpload: async (id) => upload(id) } });
    const book = await run(connector, sourceDef({ id: 'book', transport: 'upload' }));
    expect(book.error).toBeNull();
    expect(workloads(book.items)).toHaveLength(3);
    const csv = await run(connector, sourceDef({ id: 'csv', transport: 'upload' }));
    expect(csv.items.map((i) => i.kind)).toEqual(Array(6).fill('workload'));
    expect(csv.items[0]!.record).toMatchObject({ kegiatan: 'pendaftaran_pencari_kerja', volume: '5200' });
  });
});

describe('api: the raw hash tells a 404 workload from any page', () => {
  it('404, an empty page and a page with rows are three snapshots', async () => {
    let workload: { status: number; body: unknown } = { status: 404, body: {} };
    const s = await serve((req, res) => {
      const u = new URL(req.url!, 'http://x');
      if (u.pathname === '/v1/workloads') return json(res, workload.status, workload.body);
      if (u.pathname === '/v1/formations') return json(res, 200, { data: [] });
      json(res, 200, { data: [{ nip: '198503122010011003' }], next_cursor: null });
    });
    const src = sourceDef({ url: `${s.url}/v1` });
    const none = await run(createApiConnector(), src);
    workload = { status: 200, body: { data: [] } };
    const empty = await run(createApiConnector(), src);
    workload = { status: 200, body: { data: [{ tahun: 2026, kegiatan: 'bursa_kerja', volume: 1 }] } };
    const rows = await run(createApiConnector(), src);
    expect(new Set([none.raw!.sha256, empty.raw!.sha256, rows.raw!.sha256]).size).toBe(3);
    expect(workloads(none.items)).toEqual([]);
    expect(workloads(rows.items)).toHaveLength(1);
    // Another error than 404 is not "no workload": it fails the fetch as any page's would.
    workload = { status: 400, body: {} };
    expect((await run(createApiConnector(), src)).error).toMatchObject({ code: 'http_error', status: 400 });
  });
});

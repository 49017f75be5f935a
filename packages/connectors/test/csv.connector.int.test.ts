import { describe, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createCsvConnector } from '../src/csv/csv.connector.ts';
import { createXlsxConnector } from '../src/xlsx/xlsx.connector.ts';
import { FetchError } from '../src/fetch-error.ts';
import { FAST, sourceDef, useLocalServers } from './support/local-server.ts';
import type { Connector, FetchedItem, FetchLimits, SourceDefinition } from '../src/connector.types.ts';

const serve = useLocalServers();

const OFFICERS =
  'NIP;Nama;Jenjang\r\n198503122010011003;Budi Santoso;Ahli Muda\r\n199001012015012001;Siti Rahayu;Pertama\r\n';
const FORMATIONS = 'Kode Wilayah,Tahun,Jenjang,Kebutuhan,Formasi\n16.71,2026,ahli_muda,3,2\n';

async function run(connector: Connector, source: SourceDefinition, limits: Partial<FetchLimits> = {}) {
  const staged: FetchedItem[] = [];
  try {
    for await (const item of connector.fetch(source, {
      signal: new AbortController().signal,
      asOf: '2026-11-27',
      limits: { ...FAST, ...limits },
    })) {
      staged.push(item);
    }
    return { used: staged, error: null };
  } catch (e) {
    return { used: null, staged, error: e as FetchError };
  }
}

async function tempDirs() {
  return (await readdir(tmpdir())).filter((f) => f.startsWith('pksync-fetch-')).sort();
}

describe('csv connector', () => {
  it('downloads officers and formations, yielding file rows as positions', async () => {
    const s = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.end(req.url === '/formasi.csv' ? FORMATIONS : OFFICERS);
    });
    const before = await tempDirs();
    const r = await run(
      createCsvConnector(),
      sourceDef({ transport: 'csv', url: `${s.url}/pejabat.csv`, formationsUrl: `${s.url}/formasi.csv` }),
    );
    expect(r.error).toBeNull();
    expect(r.used).toEqual([
      {
        kind: 'officer',
        position: 2,
        record: { nip: '198503122010011003', nama: 'Budi Santoso', jenjang: 'Ahli Muda' },
      },
      { kind: 'officer', position: 3, record: { nip: '199001012015012001', nama: 'Siti Rahayu', jenjang: 'Pertama' } },
      {
        kind: 'formation',
        position: 2,
        record: { kode_wilayah: '16.71', tahun: '2026', jenjang: 'ahli_muda', kebutuhan: '3', formasi: '2' },
      },
    ]);
    // The temporary files are gone afterwards.
    expect(await tempDirs()).toEqual(before);
  });

  it('retries a download cut off half-way and then uses only the complete file', async () => {
    const s = await serve((_req, res, n) => {
      res.writeHead(200, { 'content-type': 'text/csv', 'content-length': String(OFFICERS.length) });
      if (n === 1) {
        res.write(OFFICERS.slice(0, 60));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      res.end(OFFICERS);
    });
    const r = await run(createCsvConnector(), sourceDef({ transport: 'csv', url: `${s.url}/pejabat.csv` }));
    expect(r.error).toBeNull();
    expect(r.used).toHaveLength(2);
    expect(s.requests).toHaveLength(2);
  });

  it('lets a slow but live download finish (request time-out is an idle time-out), and retries a stalled one', async () => {
    const lines = OFFICERS.split('\r\n');
    const s = await serve((_req, res, n) => {
      res.writeHead(200, { 'content-type': 'text/csv' });
      if (n === 1) {
        res.write(lines[0] + '\r\n'); // then nothing: stalled
        return;
      }
      // Header and first row, then a blank line every 100 ms (blank rows are skipped), then the rest.
      let i = 0;
      const tick = setInterval(() => {
        if (i === 0) res.write(lines.slice(0, 2).join('\r\n') + '\r\n');
        else if (i < 8) res.write('\r\n');
        else {
          clearInterval(tick);
          res.end(lines.slice(2).join('\r\n'));
        }
        i++;
      }, 100);
    });
    const t0 = Date.now();
    const r = await run(createCsvConnector(), sourceDef({ transport: 'csv', url: `${s.url}/x.csv` }), {
      requestTimeoutMs: 600,
    });
    expect(r.error).toBeNull();
    expect(r.used).toHaveLength(2);
    expect(s.requests).toHaveLength(2);
    // The second download took longer than the request time-out, in small steps.
    expect(Date.now() - t0).toBeGreaterThan(600 + 600);
  });

  it('follows redirects, but never sends the token to another origin', async () => {
    const files = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.end(OFFICERS);
    });
    const agency = await serve((req, res) => {
      res.writeHead(302, { location: req.url === '/a.csv' ? '/b.csv' : `${files.url}/pejabat.csv` });
      res.end();
    });
    const r = await run(
      createCsvConnector(),
      sourceDef({ transport: 'csv', url: `${agency.url}/a.csv`, token: 'tok-x' }),
    );
    expect(r.error).toBeNull();
    expect(r.used).toHaveLength(2);
    expect(agency.requests.map((q) => [q.path, q.auth])).toEqual([
      ['/a.csv', 'Bearer tok-x'],
      ['/b.csv', 'Bearer tok-x'],
    ]);
    expect(files.requests.map((q) => q.auth)).toEqual([undefined]);
  });

  it('gives up after the attempts on 5xx with http_error', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    const r = await run(createCsvConnector(), sourceDef({ transport: 'csv', url: `${s.url}/x.csv` }), { attempts: 3 });
    expect(r.error!.code).toBe('http_error');
    expect(s.requests).toHaveLength(3);
  });

  it('fails a file over the byte limit with payload_too_large while streaming (no content-length)', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.write(OFFICERS);
      for (let i = 0; i < 100; i++) res.write('199001012015012001;Siti Rahayu;Pertama\r\n');
      res.end();
    });
    const r = await run(createCsvConnector(), sourceDef({ transport: 'csv', url: `${s.url}/x.csv`, maxBytes: 1000 }));
    expect(r.error!.code).toBe('payload_too_large');
    expect(r.error!.retryable).toBe(false);
    expect(s.requests).toHaveLength(1);
  });

  it('fails a file over the row limit with payload_too_large and never yields a complete snapshot', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.end(OFFICERS + '199101012015012001;Ani;Muda\r\n');
    });
    const r = await run(createCsvConnector(), sourceDef({ transport: 'csv', url: `${s.url}/x.csv`, maxRows: 2 }));
    expect(r.error!.code).toBe('payload_too_large');
    expect(r.used).toBeNull();
  });

  it('fails an unparseable file (HTML error page) with unparseable_file', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>502 Bad Gateway</body></html>');
    });
    const r = await run(createCsvConnector(), sourceDef({ transport: 'csv', url: `${s.url}/x.csv` }));
    expect(r.error).toBeInstanceOf(FetchError);
    expect(r.error!.code).toBe('unparseable_file');
  });

  it('xlsx: fails a file that is not a workbook with unparseable_file', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200);
      res.end(Buffer.from('PK\u0003\u0004 not really a zip'));
    });
    const r = await run(createXlsxConnector(), sourceDef({ transport: 'xlsx', url: `${s.url}/data.xlsx` }));
    expect(r.error!.code).toBe('unparseable_file');
  });
});

import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { loadConfig } from '@pksync/config';
import { normaliseName } from '@pksync/core';
import { useTestDatabase, useTestRedis, insertSource } from '@pksync/testing';
import { start as startWorker, type RunningWorker } from '@pksync/worker';
import { neutraliseCell } from '../src/index.ts';
import { createKeys, startTestApi, type Keys, type TestApi } from './helpers.ts';

const BLNS = JSON.parse(readFileSync(new URL('./data/blns.json', import.meta.url), 'utf8')) as string[];

/**
 * The strings the exchange format lets through as they are (exchange-format-v1.md § Limits:
 * trimmed, NULs removed, at most 500 characters): those already in that form. A name also needs a
 * letter or digit left after normalisation, or it is no name at all.
 */
const HOSTILE = BLNS.filter(
  (s) => s.length > 0 && s === s.trim() && !s.includes('\u0000') && [...s].length <= 500 && normaliseName(s) !== '',
);

/** A valid NIP for row `i`: birth date, TMT CPNS (year ≥ birth + 18), gender 1, sequence. */
function nip(i: number): string {
  const birth = new Date(Date.UTC(1970, 0, 1 + i * 7));
  const ymd = birth.toISOString().slice(0, 10).replace(/-/g, '');
  return `${ymd}${birth.getUTCFullYear() + 25}01` + `1${String(i % 1000).padStart(3, '0')}`;
}

/** Every field quoted, quotes doubled: the CSV carries any text as it is. */
const q = (s: string) => `"${s.replace(/"/g, '""')}"`;

describe('hostile strings travel through upload → register → API unchanged; exports neutralise formulas', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let api: TestApi;
  let worker: RunningWorker;
  let keys: Keys;
  const rows = HOSTILE.map((s, i) => ({ nip: nip(i), name: s, unit: HOSTILE[(i + 7) % HOSTILE.length]! }));

  beforeAll(async () => {
    keys = await createKeys(t.db);
    await insertSource(t.db, {
      id: '16.71-disnaker',
      regionCode: '16.71',
      agency: 'Dinas Tenaga Kerja Kota Palembang',
    });
    api = await startTestApi(t.db, r.url, r.prefix);
    const config = loadConfig({
      DATABASE_URL: t.url,
      REDIS_URL: r.url,
      QUEUE_PREFIX: r.prefix,
      LOG_LEVEL: 'error',
      SHUTDOWN_TIMEOUT_MS: '5000',
    });
    worker = await startWorker(config, { notifyPollMs: 0, concurrency: 2 });
  }, 60_000);
  afterAll(async () => {
    await worker?.close();
    await api?.close();
  });

  it('uses a few hundred strings of the list', () => {
    expect(HOSTILE.length).toBeGreaterThan(300);
  });

  it('keeps every name and unit exactly as given', async () => {
    const header = 'NIP,Nama,Jenis Kelamin,Jenjang,Golongan,Unit Kerja,Kode Wilayah,TMT Jabatan,Status';
    const csv = [
      header,
      ...rows.map((o) =>
        [o.nip, q(o.name), 'L', 'Ahli Muda', 'III/c', q(o.unit), '16.71', '2024-01-01', 'aktif'].join(','),
      ),
    ].join('\r\n');
    const auth = { authorization: `Bearer ${keys.own}` };
    // The dry run first: nothing is rejected.
    const fd = () => {
      const f = new FormData();
      f.append('file', new Blob([csv], { type: 'text/csv' }), 'naughty.csv');
      return f;
    };
    const check = await fetch(`${api.url}/api/v1/check?region=16.71&as_of=2026-11-27`, {
      method: 'POST',
      headers: auth,
      body: fd(),
    });
    const checked = (await check.json()) as { accepted: number; rejected: { row: number; codes: string[] }[] };
    expect(check.status).toBe(200);
    expect(checked.rejected).toEqual([]);
    expect(checked.accepted).toBe(rows.length);

    const up = await fetch(`${api.url}/api/v1/sources/16.71-disnaker/uploads`, {
      method: 'POST',
      headers: auth,
      body: fd(),
    });
    expect(up.status, await up.clone().text()).toBe(202);
    const { run_id } = (await up.json()) as { run_id: string };
    let status = '';
    for (let i = 0; i < 600 && status !== 'completed' && status !== 'failed'; i++) {
      await new Promise((res) => setTimeout(res, 200));
      const run = (await (await fetch(`${api.url}/api/v1/runs/${run_id}`, { headers: auth })).json()) as {
        status: string;
      };
      status = run.status;
    }
    expect(status).toBe('completed');

    const seen = new Map<string, { name: string; unit: string }>();
    let cursor: string | null = null;
    do {
      const url: string = `${api.url}/api/v1/officers?region=16.71&limit=200${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await (await fetch(url, { headers: auth })).json()) as {
        data: { nip: string; name: string; unit: string }[];
        next_cursor: string | null;
      };
      for (const o of page.data) seen.set(o.nip, { name: o.name, unit: o.unit });
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen.size).toBe(rows.length);
    const mismatches = rows.filter((o) => seen.get(o.nip)?.name !== o.name || seen.get(o.nip)?.unit !== o.unit);
    expect(mismatches.map((m) => JSON.stringify(m.name))).toEqual([]);

    // JSON export: the data as stored, byte for byte.
    const json = (await (
      await fetch(`${api.url}/api/v1/export?format=json&region=16.71`, { headers: auth })
    ).json()) as {
      data: { nip: string; nama: string; unit_kerja: string }[];
    };
    const byNip = new Map(json.data.map((o) => [o.nip, o]));
    expect(rows.filter((o) => byNip.get(o.nip)?.nama !== o.name || byNip.get(o.nip)?.unit_kerja !== o.unit)).toEqual(
      [],
    );
  }, 180_000);

  it('neutralises formula prefixes in the CSV export', async () => {
    const res = await fetch(`${api.url}/api/v1/export?format=csv&region=16.71`, {
      headers: { authorization: `Bearer ${keys.own}` },
    });
    const text = Buffer.from(await res.arrayBuffer()).toString('utf8');
    expect(text.startsWith('\uFEFF')).toBe(true);
    const records = parseCsv(text.slice(1));
    const header = records.shift()!;
    const [iNip, iName, iUnit] = ['nip', 'nama', 'unit_kerja'].map((h) => header.indexOf(h));
    const byNip = new Map(records.map((rec) => [rec[iNip!]!, rec]));
    let formulas = 0;
    for (const o of rows) {
      const rec = byNip.get(o.nip)!;
      expect(rec[iName!]).toBe(neutraliseCell(o.name));
      expect(rec[iUnit!]).toBe(neutraliseCell(o.unit));
      if (/^[=+\-@\t\r]/.test(o.name)) formulas++;
    }
    expect(formulas).toBeGreaterThan(5);
    for (const rec of records) for (const cell of rec) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('neutralises formula prefixes in the XLSX export and writes no formula cells', async () => {
    const res = await fetch(`${api.url}/api/v1/export?format=xlsx&region=16.71`, {
      headers: { authorization: `Bearer ${keys.admin}` },
    });
    expect(res.status).toBe(200);
    const buf = Buffer.from(await res.arrayBuffer());
    // The sheet's XML is read directly (exceljs's reader decodes entities twice, so it cannot judge).
    const xml = zipEntry(buf, 'xl/worksheets/sheet1.xml');
    expect(xml).not.toContain('<f>');
    const rowsXml = [...xml.matchAll(/<row [^>]*>(.*?)<\/row>/gs)].map((m) =>
      [...m[1]!.matchAll(/<c [^>]*?(?:\/>|>(?:<v>(.*?)<\/v>|<is><t[^>]*>(.*?)<\/t><\/is>)?<\/c>)/gs)].map((c) =>
        unescapeXml(c[1] ?? c[2] ?? ''),
      ),
    );
    const header = rowsXml.shift()!;
    const [iNip, iName, iUnit] = ['nip', 'nama', 'unit_kerja'].map((h) => header.indexOf(h));
    const byNip = new Map(rowsXml.map((cells) => [cells[iNip!]!, cells]));
    for (const o of rows) {
      expect(byNip.get(o.nip)?.[iName!]).toBe(neutraliseCell(o.name));
      expect(byNip.get(o.nip)?.[iUnit!]).toBe(neutraliseCell(o.unit));
    }
    for (const cells of rowsXml) for (const cell of cells) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    // And a spreadsheet library opens it.
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(buf as unknown as ArrayBuffer);
    expect(wb.getWorksheet('pejabat')!.rowCount).toBe(rows.length + 1);
  });
});

/** XML entities, then the OOXML `_xHHHH_` escapes, as Excel reads a cell. */
function unescapeXml(s: string): string {
  return s
    .replace(/&(lt|gt|quot|apos|amp|#(\d+)|#x([0-9a-fA-F]+));/g, (_m, name: string, dec?: string, hex?: string) => {
      if (dec) return String.fromCodePoint(Number(dec));
      if (hex) return String.fromCodePoint(parseInt(hex, 16));
      return { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' }[name as 'lt']!;
    })
    .replace(/_x([0-9A-Fa-f]{4})_/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** One entry of a ZIP archive, inflated (central directory → local header → data). */
function zipEntry(zip: Buffer, name: string): string {
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  let p = zip.readUInt32LE(eocd + 16);
  for (let n = zip.readUInt16LE(eocd + 10); n > 0; n--) {
    const method = zip.readUInt16LE(p + 10);
    const size = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const local = zip.readUInt32LE(p + 42);
    const entry = zip.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    p += 46 + nameLen + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
    if (entry !== name) continue;
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + size);
    return (method === 8 ? inflateRawSync(data) : data).toString('utf8');
  }
  throw new Error(`${name} not in the archive`);
}

/** A small RFC 4180 reader (quotes, doubled quotes, line breaks inside quotes; LF or CRLF rows) for checking exports. */
function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      row.push(cell);
      out.push(row);
      row = [];
      cell = '';
      if (c === '\r') i++;
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    out.push(row);
  }
  return out;
}

import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { insertSource, useTestDatabase, useTestRedis } from '@pksync/testing';
import { createKeys, startTestApi, type Keys, type TestApi } from './helpers.ts';

const CSV = [
  'NIP;Nama;Jenjang;Golongan;Unit Kerja;TMT Jabatan;Status',
  '198503122010011003;Budi Santoso;Ahli Muda;III/c;Disnaker Palembang;2020-01-01;aktif',
].join('\n');

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A ZIP archive built by hand; `declare` overrides the uncompressed size written in the headers. */
function zip(entries: { name: string; data: Buffer; declare?: number }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const packed = deflateRawSync(e.data);
    const size = e.declare ?? e.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc32(e.data), 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc32(e.data), 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, packed);
    centrals.push(central, name);
    offset += 30 + name.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const WORKBOOK_PARTS = [
  { name: '[Content_Types].xml', data: Buffer.from('<?xml version="1.0"?><Types/>') },
  { name: 'xl/workbook.xml', data: Buffer.from('<?xml version="1.0"?><workbook/>') },
];

function form(data: Buffer | string, name: string, type: string): FormData {
  const fd = new FormData();
  fd.append('file', new Blob([typeof data === 'string' ? data : new Uint8Array(data)], { type }), name);
  return fd;
}

describe('uploads: size limit, content sniffing, hostile files', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let api: TestApi;
  let keys: Keys;
  const uploadsStored = async () =>
    Number(
      (
        await t.db
          .selectFrom('uploads' as never)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const post = (body: BodyInit, headers: Record<string, string> = {}, source = '16.71-disnaker') =>
    fetch(`${api.url}/api/v1/sources/${source}/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.own}`, ...headers },
      body,
    });

  beforeAll(async () => {
    keys = await createKeys(t.db);
    await insertSource(t.db, { id: '16.71-disnaker', regionCode: '16.71', agency: 'Disnaker Palembang' });
    await insertSource(t.db, {
      id: '16.02-disnaker',
      regionCode: '16.02',
      agency: 'Disnaker OKI',
      transport: 'csv',
      url: 'http://127.0.0.1:9/x.csv',
    });
    api = await startTestApi(t.db, r.url, r.prefix, {
      limits: { maxUploadBytes: 256 * 1024, maxSnapshotRows: 1000, maxSnapshotBytes: 256 * 1024 },
    });
  });
  afterAll(async () => {
    await api?.close();
  });

  const refused: [string, () => Promise<Response>, number, RegExp][] = [
    [
      'a file over the size limit',
      () => post(form(`${CSV}\n${'x'.repeat(300 * 1024)}`, 'big.csv', 'text/csv')),
      413,
      /batas ukuran/,
    ],
    [
      'a raw body over the size limit',
      () => post(Buffer.alloc(300 * 1024, 0x41), { 'content-type': 'text/csv' }),
      413,
      /batas ukuran/,
    ],
    [
      'a PNG named .csv',
      () => post(form(Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), 'data.csv', 'text/csv')),
      415,
      /PNG/,
    ],
    ['a PDF', () => post(form(Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj'), 'data.xlsx', 'application/pdf')), 415, /PDF/],
    ['binary junk', () => post(form(Buffer.from([1, 2, 0, 4, 0, 6, 7, 0]), 'x.csv', 'text/csv')), 415, /biner/],
    ['a JSON file on an upload source', () => post(form('[{"nip":"1"}]', 'x.json', 'application/json')), 415, /JSON/],
    [
      'a zip bomb (16 MB of zeros in 16 KB, sizes declared honestly)',
      () =>
        post(
          form(
            zip([...WORKBOOK_PARTS, { name: 'xl/worksheets/sheet1.xml', data: Buffer.alloc(16 * 1024 * 1024) }]),
            'bomb.xlsx',
            'application/octet-stream',
          ),
        ),
      422,
      /zip bomb/,
    ],
    [
      'a zip bomb that lies about its sizes',
      () =>
        post(
          form(
            zip([
              ...WORKBOOK_PARTS,
              { name: 'xl/worksheets/sheet1.xml', data: Buffer.alloc(8 * 1024 * 1024), declare: 1000 },
            ]),
            'liar.xlsx',
            'application/octet-stream',
          ),
        ),
      422,
      /zip bomb/,
    ],
    [
      'a ZIP that is not a workbook',
      () => post(form(zip([{ name: 'hello.txt', data: Buffer.from('hello') }]), 'x.xlsx', 'application/zip')),
      422,
      /bukan buku kerja/,
    ],
    [
      'a truncated ZIP',
      () => post(form(Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(200, 7)]), 'x.xlsx', 'application/zip')),
      422,
      /rusak/,
    ],
    [
      'a workbook shell with no sheets',
      () => post(form(zip(WORKBOOK_PARTS), 'empty.xlsx', 'application/zip')),
      422,
      /tidak dapat dibaca|tidak berisi/,
    ],
    ['a CSV with no data row', () => post(form('NIP;Nama\n', 'kosong.csv', 'text/csv')), 422, /tidak berisi baris/],
    ['an empty file', () => post(form('', 'kosong.csv', 'text/csv')), 400, /kosong/],
    [
      'multipart without a file',
      () =>
        post(
          (() => {
            const f = new FormData();
            f.append('reason', 'x');
            return f;
          })(),
        ),
      400,
      /body\.file/,
    ],
    [
      'a file for a source that is not an upload source',
      () => post(form(CSV, 'x.csv', 'text/csv'), {}, '16.02-disnaker'),
      409,
      /bukan upload/,
    ],
    [
      'an unsupported content type',
      () => post('x', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      /.+/,
    ],
  ];

  for (const [what, send, status, message] of refused) {
    it(`refuses ${what} with ${status}, stores nothing, keeps serving`, async () => {
      const res = await send();
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(body.error.message).toMatch(message);
      expect(await uploadsStored()).toBe(0);
      expect((await fetch(`${api.url}/api/v1/healthz`)).status).toBe(200);
    });
  }

  it('accepts a real CSV (multipart) and a real XLSX (raw body), stores each and starts a run', async () => {
    const res = await post(form(CSV, 'pejabat.csv', 'text/csv'));
    expect(res.status, await res.clone().text()).toBe(202);
    const csv = (await res.json()) as { upload_id: string; run_id: string; format: string };
    expect(csv.format).toBe('csv');
    const wb = new ExcelJS.Workbook();
    const sheet = wb.addWorksheet('pejabat');
    sheet.addRow(['NIP', 'Nama', 'Jenjang', 'Golongan', 'Unit Kerja', 'TMT Jabatan', 'Status']);
    sheet.addRow([
      '198503122010011003',
      'Budi Santoso',
      'Ahli Muda',
      'III/c',
      'Disnaker Palembang',
      '2020-01-01',
      'aktif',
    ]);
    const xlsx = Buffer.from(await wb.xlsx.writeBuffer());
    const res2 = await post(xlsx, {
      'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    });
    expect(res2.status, await res2.clone().text()).toBe(202);
    const x = (await res2.json()) as { run_id: string; format: string; created: boolean };
    expect(x.format).toBe('xlsx');
    // The first upload's run is still queued: the second joins it (it reads the newest upload).
    expect(x).toMatchObject({ run_id: csv.run_id, created: false });
    expect(await uploadsStored()).toBe(2);
    const run = await t.db.selectFrom('runs').selectAll().where('id', '=', csv.run_id).executeTakeFirstOrThrow();
    expect(run).toMatchObject({
      scope_kind: 'source',
      scope_value: '16.71-disnaker',
      trigger: 'manual',
      requested_by: 'key:sumsel',
    });
  });

  it('limits triggers per key, each key with its own budget', async () => {
    const limited = await startTestApi(t.db, r.url, `${r.prefix}x`, {
      rateLimit: { max: 2, timeWindowMs: 60_000, namespace: `${r.prefix}:limited:` },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${limited.url}/api/v1/sync`, {
          method: 'POST',
          headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
          body: JSON.stringify({ scope: { region: '16.71' }, reason: 'uji batas' }),
        });
        statuses.push(res.status);
        if (res.status === 429)
          expect(((await res.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
      }
      expect(statuses).toEqual([202, 202, 429, 429]);
      // Another key has its own budget.
      const other = await fetch(`${limited.url}/api/v1/sync`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keys.own}`, 'content-type': 'application/json' },
        body: JSON.stringify({ scope: { region: '16.71' }, reason: 'uji batas' }),
      });
      expect(other.status).toBe(202);
    } finally {
      await limited.close();
    }
  });
});

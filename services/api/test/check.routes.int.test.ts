import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import { createKeys, createResponseChecker, startTestApi, type Keys, type TestApi } from './helpers.ts';

const sample = (name: string) => new URL(`../../../packages/connectors/samples/${name}`, import.meta.url).pathname;

interface CheckBody {
  accepted: number;
  need_parameters: { version: string; status: string } | null;
  notes: string[];
  rejected: { row: number; codes: string[]; fields: string[]; issues: { detail: string | null }[] }[];
  stats: { workload_rows: number; officer_rows: number; formation_rows: number; rejected: number };
}

// POST /check on workload (needs-planning-v1.md): a workbook's beban_kerja sheet, a workload CSV
// sent alone, activity codes against the parameter set in force on as_of (the shipped placeholder).
describe('POST /check: workload', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let api: TestApi;
  let keys: Keys;
  let check: ReturnType<typeof createResponseChecker>;

  beforeAll(async () => {
    keys = await createKeys(t.db);
    api = await startTestApi(t.db, r.url, r.prefix);
    check = createResponseChecker((await (await fetch(`${api.url}/api/v1/openapi.json`)).json()) as never);
  });
  afterAll(async () => {
    await api?.close();
  });

  const post = async (file: string, query: string, type: string) => {
    const fd = new FormData();
    fd.append('file', new Blob([new Uint8Array(await readFile(sample(file)))], { type }), file);
    const res = await fetch(`${api.url}/api/v1/check?region=16.71&${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.own}` },
      body: fd,
    });
    const body = (await res.json()) as CheckBody;
    check('POST', '/api/v1/check', res.status, body);
    return { status: res.status, body };
  };
  const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

  it('checks the beban_kerja sheet against the activity codes in force, naming the version', async () => {
    const { status, body } = await post('beban-kerja.xlsx', 'as_of=2026-11-27', XLSX);
    expect(status).toBe(200);
    expect(body.need_parameters).toEqual({ version: '2023-placeholder-1', status: 'unconfirmed' });
    expect(body.notes).toEqual([]);
    expect(body.stats).toMatchObject({ officer_rows: 1, formation_rows: 1, workload_rows: 3, rejected: 1 });
    expect(body.rejected).toMatchObject([{ row: 4, codes: ['field_missing'], fields: ['kegiatan'] }]);
    expect(body.rejected[0]!.issues[0]!.detail).toContain('tidak_dikenal');
    expect(body.accepted).toBe(4);
  });

  it('tells a workload CSV sent alone by its header; none in force: unchecked, and says so', async () => {
    const checked = await post('beban-kerja.csv', 'as_of=2026-11-27', 'text/csv');
    expect(checked.body.stats).toMatchObject({ officer_rows: 0, workload_rows: 6, rejected: 3 });
    expect(checked.body.rejected.map((x) => [x.row, x.codes[0], x.fields[0]])).toEqual([
      [5, 'field_missing', 'kegiatan'],
      [6, 'date_invalid', 'tahun'],
      [7, 'field_missing', 'volume'],
    ]);
    const before = await post('beban-kerja.csv', 'as_of=2022-06-30', 'text/csv');
    expect(before.body.need_parameters).toBeNull();
    expect(before.body.notes).toEqual([
      'Tidak ada parameter perhitungan kebutuhan yang berlaku pada 2022-06-30: kode kegiatan beban kerja tidak diperiksa.',
    ]);
    expect(before.body.stats.rejected).toBe(2); // senam_pagi is kept unchecked
  });

  it('table=workloads reads a file as workload whatever its header (as pksync check --workloads)', async () => {
    // The formations sample has no activity: as workload, every row lacks one.
    const { body } = await post('formasi.csv', 'as_of=2026-11-27&table=workloads', 'text/csv');
    expect(body.stats).toMatchObject({ formation_rows: 0, workload_rows: 3, rejected: 3 });
    expect(body.rejected.every((x) => x.fields.includes('kegiatan') && x.fields.includes('volume'))).toBe(true);
    const plain = await post('formasi.csv', 'as_of=2026-11-27', 'text/csv');
    expect(plain.body.stats).toMatchObject({ formation_rows: 3, workload_rows: 0 });
    expect(plain.body.notes).toEqual([]);
  });
});

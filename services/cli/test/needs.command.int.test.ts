import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import { beforeAll, describe, expect, it } from 'vitest';
import { getNeeds, type Db } from '@pksync/db';
import { shippedNeedParameters } from '@pksync/reference';
import { useTestDatabase } from '@pksync/testing';
import {
  NEEDS_COLUMNS,
  NEEDS_EXIT,
  needsTable,
  runNeeds,
  runNeedsParametersImport,
  runNeedsParametersList,
} from '../src/commands/needs.command.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const RUN = '00000000-0000-4000-8000-000000000001';
const TODAY = '2026-12-02';
const LEVELS = ['ahli_pertama', 'ahli_muda', 'ahli_madya', 'ahli_utama'] as const;
const placeholder = () => structuredClone(shippedNeedParameters()[0]!.document) as Record<string, unknown>;
const lampiran = () => ({
  ...placeholder(),
  version: '2026-lampiran-1',
  status: 'confirmed',
  valid_from: '2026-01-01',
});

/** Runs `pksync …` as a user would; stdout as bytes, stderr as text. */
function pksync(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: Buffer; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((res) => child.on('close', (code) => res({ code, out: Buffer.concat(out), err })));
}

/** A minimal RFC 4180 reader (quoted fields, CRLF), enough to read back what the command wrote. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field.replace(/\r$/, ''));
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  return rows;
}

/** Palembang (16.71) with a formation, computed needs and officers; OKI (16.02) with a free formation. */
async function seed(db: Db): Promise<void> {
  await db.insertInto('register_state').values({ evaluated_as_of: '2026-11-30' }).execute();
  await db
    .insertInto('formations')
    .values(
      [
        { region_code: '16.71', level: 'ahli_pertama', approved: 4, need: 6 },
        { region_code: '16.02', level: 'ahli_pertama', approved: 2, need: 1 },
      ].map((f) => ({ ...f, source_id: `${f.region_code}-disnaker`, year: 2026, valid_from: 1, valid_to: null })),
    )
    .execute();
  await db
    .insertInto('computed_needs')
    .values(
      LEVELS.map((level, i) => ({
        region_code: '16.71',
        year: 2026,
        level,
        province_code: '16',
        need: [8, 1, 0, 0][i]!,
        exact: [8, 1, 0, 0][i]!,
        area_factor: 1,
        complexity_factor: 1,
        parameter_version: '2023-placeholder-1',
        as_of: '2026-11-30',
        run_id: RUN,
      })),
    )
    .execute();
  await db
    .insertInto('retirement_outlook')
    .values([
      {
        region_code: '16.71',
        level: 'ahli_pertama',
        province_code: '16',
        as_of: '2026-11-30',
        active: 3,
        retiring_1: 0,
        retiring_3: 1,
        retiring_5: 2,
      },
      {
        region_code: '16.02',
        level: 'ahli_pertama',
        province_code: '16',
        as_of: '2026-11-30',
        active: 3,
        retiring_1: 0,
        retiring_3: 0,
        retiring_5: 0,
      },
    ])
    .execute();
}

describe('pksync needs', () => {
  const t = useTestDatabase();
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    await seed(t.db);
    dir = await mkdtemp(path.join(tmpdir(), 'pksync-needs-'));
    env = { DATABASE_URL: t.url };
  });

  it('table: the parameter version and "BELUM DIKONFIRMASI", every region of the province, the figures', async () => {
    const r = await runNeeds(t.db, { province: '16' }, TODAY);
    expect(r.exitCode).toBe(NEEDS_EXIT.ok);
    const text = String(r.bytes);
    const lines = text.split('\n');
    expect(lines[0]).toBe('Kebutuhan dan formasi Pengantar Kerja 2026 — provinsi 16 Sumatera Selatan');
    expect(lines[1]).toBe('Parameter: 2023-placeholder-1 (BELUM DIKONFIRMASI), berlaku sejak 2023-01-01');
    expect(text).toContain('Proyeksi pensiun per: 2026-11-30');
    // The province's own office, its 17 regencies/cities, the total.
    expect(lines.filter((l) => /^16(\.\d{2})? /.test(l))).toHaveLength(19);
    const plg = lines.indexOf('16.71 Kota Palembang');
    expect(plg).toBeGreaterThan(0);
    // Ahli Pertama: formasi 4, declared 6, computed 8, terisi 3, available 1, retiring 0/1/2, shortfall 5/6/7.
    expect(lines[plg + 1]!.trim().split(/\s{2,}/)).toEqual(['Ahli Pertama', '4', '6', '8', '3', '1', '0/1/2', '5/6/7']);
    expect(lines[plg + 5]!.trim().split(/\s{2,}/)[0]).toBe('Semua jenjang');
    const total = lines.indexOf('16 Sumatera Selatan (total)');
    // Each region's own available formation: 1 + 0 (OKI has 3 officers on 2 positions).
    expect(lines[total + 1]!.trim().split(/\s{2,}/)).toEqual([
      'Ahli Pertama',
      '6',
      '7',
      '8',
      '6',
      '1',
      '0/1/2',
      '5/6/7',
    ]);

    // Confirmed parameters say so instead.
    const confirmed = needsTable({
      ...(await getNeeds(t.db, { region: '16.71' })),
      parameters: { version: 'x-1', status: 'confirmed', validFrom: '2026-01-01', source: 's' },
    });
    expect(confirmed).toContain('Parameter: x-1 (dikonfirmasi)');
    expect(confirmed.split('\n').slice(0, 3).join('\n')).not.toContain('BELUM DIKONFIRMASI');
    // …and a region computed with another version than the heading's names its own.
    expect(confirmed).toContain('16.71 Kota Palembang  [parameter 2023-placeholder-1, BELUM DIKONFIRMASI]');
  });

  it('csv: one row per region and level with every figure, read back', async () => {
    const r = await runNeeds(t.db, { province: '16', format: 'csv' }, TODAY);
    const text = String(r.bytes);
    expect(text.charCodeAt(0)).toBe(0xfeff);
    const [header, ...rows] = parseCsv(text.slice(1));
    expect(header).toEqual([...NEEDS_COLUMNS]);
    // 18 regions and the province's total, 4 levels each.
    expect(rows).toHaveLength(19 * 4);
    const at = (kind: string, code: string, level: string) =>
      Object.fromEntries(
        header!.map((h, i) => [h, rows.find((x) => x[1] === kind && x[2] === code && x[4] === level)![i]]),
      );
    expect(at('region', '16.71', 'ahli_pertama')).toEqual({
      year: '2026',
      kind: 'region',
      code: '16.71',
      name: 'Kota Palembang',
      level: 'ahli_pertama',
      parameter_version: '2023-placeholder-1',
      parameter_status: 'unconfirmed',
      formasi: '4',
      kebutuhan_declared: '6',
      kebutuhan_computed: '8',
      terisi: '3',
      available_formation: '1',
      retiring_1: '0',
      retiring_3: '1',
      retiring_5: '2',
      projected_shortfall_1: '5',
      projected_shortfall_3: '6',
      projected_shortfall_5: '7',
    });
    // Unknown figures are empty, not 0.
    expect(at('region', '16.03', 'ahli_madya')).toMatchObject({ formasi: '', kebutuhan_computed: '', terisi: '0' });
    expect(at('province', '16', 'ahli_pertama')).toMatchObject({ formasi: '6', terisi: '6', available_formation: '1' });
  });

  it('xlsx: one sheet with a header row, figures as numbers; without --out it is refused', async () => {
    const file = path.join(dir, 'kebutuhan.xlsx');
    const r = await runNeeds(t.db, { region: '16.71', format: 'xlsx', out: file }, TODAY);
    expect(r).toMatchObject({ exitCode: NEEDS_EXIT.ok, output: `wrote the needs of 2026 (xlsx) to ${file}` });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await readFile(file)) as unknown as ArrayBuffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['kebutuhan']);
    const ws = wb.worksheets[0]!;
    const values = (n: number) => (ws.getRow(n).values as unknown[]).slice(1);
    expect(values(1)).toEqual([...NEEDS_COLUMNS]);
    expect(ws.rowCount).toBe(1 + 4);
    expect(values(2).slice(0, 12)).toEqual([
      2026,
      'region',
      '16.71',
      'Kota Palembang',
      'ahli_pertama',
      '2023-placeholder-1',
      'unconfirmed',
      4,
      6,
      8,
      3,
      1,
    ]);
    const bad = await runNeeds(t.db, { region: '16.71', format: 'xlsx' }, TODAY);
    expect(bad).toEqual({ exitCode: NEEDS_EXIT.usage, output: '--format xlsx needs --out FILE (binary output)' });
  });

  it('bad usage exits 2 naming the option, before or after reading the reference', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ province: '16', region: '16.71' }, /not both/],
      [{ province: '16.71' }, /^--province must be a province code/],
      [{ region: 'x' }, /^--region must be a region code/],
      [{ year: '26' }, /^--year must be a 4-digit year/],
      [{ format: 'pdf' }, /^--format must be table, csv or xlsx/],
      [{ province: '99' }, /^--province: provinsi 99 tidak ditemukan$/],
      [{ region: '99.99' }, /^--region: wilayah 99\.99 tidak ditemukan$/],
    ];
    for (const [o, message] of cases) {
      const r = await runNeeds(t.db, o, TODAY);
      expect(r.exitCode, JSON.stringify(o)).toBe(NEEDS_EXIT.usage);
      expect(r.output).toMatch(message);
    }
  });

  it('as a process: csv to stdout, xlsx to --out, exit 2 for xlsx without --out', async () => {
    const csv = await pksync(['needs', '--region', '16.71', '--format', 'csv'], env);
    expect(csv.err).toBe('');
    expect(csv.code).toBe(0);
    expect(parseCsv(csv.out.toString('utf8').slice(1))).toHaveLength(1 + 4);

    const file = path.join(dir, 'nasional.xlsx');
    const xlsx = await pksync(['needs', '--format', 'xlsx', '--out', file], env);
    expect(xlsx.code, xlsx.err).toBe(0);
    expect(xlsx.out.length).toBe(0);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await readFile(file)) as unknown as ArrayBuffer);
    // 38 provinces and the nation, 4 levels each, and the header.
    expect(wb.worksheets[0]!.rowCount).toBe(1 + 39 * 4);

    const refused = await pksync(['needs', '--format', 'xlsx'], env);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/--format xlsx needs --out FILE/);
    expect(refused.out.length).toBe(0);
  }, 60_000);

  it('parameters import: adds a version (audited as cli:<user>), again is no change, refusals name every problem', async () => {
    const good = path.join(dir, 'parameter.json');
    await writeFile(good, JSON.stringify(lampiran()));
    const first = await pksync(['needs', 'parameters', 'import', good, '--reason', 'lampiran dimuat'], env);
    expect(first.code, first.err).toBe(0);
    expect(first.out.toString()).toMatch(/^added parameter set 2026-lampiran-1 \(confirmed, valid from 2026-01-01\)/);
    const audit = await t.db.selectFrom('audit_log').selectAll().where('action', '=', 'needs.parameters.add').execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ target: '2026-lampiran-1', actor_role: 'admin', reason: 'lampiran dimuat' });
    expect(audit[0]!.actor).toMatch(/^cli:.+/);

    const again = await runNeedsParametersImport(t.db, good, { actor: 'cli:uji' });
    expect(again).toEqual({
      exitCode: NEEDS_EXIT.ok,
      output: expect.stringMatching(/already stored with the same document: nothing changed$/),
    });

    const bad = path.join(dir, 'salah.json');
    await writeFile(bad, JSON.stringify({ ...placeholder(), version: 'salah-1', status: 'entah', rounding: 'acak' }));
    const refused = await pksync(['needs', 'parameters', 'import', bad], env);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^refused: 2 problems in .*salah\.json\n {2}status: .*\n {2}rounding: /);

    await writeFile(good, JSON.stringify({ ...placeholder(), version: '2026-lampiran-1', status: 'unconfirmed' }));
    const changed = await runNeedsParametersImport(t.db, good, { actor: 'cli:uji' });
    expect(changed.exitCode).toBe(NEEDS_EXIT.refused);
    expect(changed.output).toMatch(/never edited.*\n {2}version: "2026-lampiran-1" sudah ada/);

    await writeFile(bad, '{"version": ');
    expect((await runNeedsParametersImport(t.db, bad, { actor: 'cli:uji' })).exitCode).toBe(NEEDS_EXIT.refused);
    expect(
      await t.db.selectFrom('audit_log').select('id').where('action', '=', 'needs.parameters.add').execute(),
    ).toHaveLength(1);
  }, 60_000);

  it('parameters list: every version, the one in force today marked', async () => {
    // The version the import test added (added here when that test did not run first).
    const file = path.join(dir, 'lampiran.json');
    await writeFile(file, JSON.stringify(lampiran()));
    expect((await runNeedsParametersImport(t.db, file, { actor: 'cli:uji' })).exitCode).toBe(NEEDS_EXIT.ok);
    const r = await runNeedsParametersList(t.db, TODAY);
    const lines = r.output.split('\n');
    expect(lines[0]).toMatch(
      /^ {3}2023-placeholder-1 +BELUM DIKONFIRMASI +valid from 2023-01-01 +added .* by pksync migrate$/,
    );
    expect(lines[1]).toMatch(/^\* {2}2026-lampiran-1 +dikonfirmasi +valid from 2026-01-01/);
    expect(lines[2]).toBe(`2 versions; * = in force today (${TODAY})`);
  });
});

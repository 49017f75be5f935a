import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import ExcelJS from 'exceljs';
import type { NeedsLevel } from '@pksync/core';
import {
  addNeedParametersAudited,
  calendarDateIn,
  getNeeds,
  listNeedParameterVersions,
  NeedParametersError,
  NeedsQueryError,
  type Db,
  type NeedsReport,
  type NeedsRow,
} from '@pksync/db';
import { neutraliseCell, xlsxText } from '@pksync/api';
import { levelByCode, normaliseRegionCode } from '@pksync/reference';
import { cliActor } from './keys.command.ts';
import { withDb } from './with-db.ts';

/**
 * Exit codes of `pksync needs …` (README § Everyday commands): 0 done, 1 a parameter document
 * refused (or a file that cannot be read), 2 bad usage (a bad option or scope) or PostgreSQL
 * unreachable.
 */
export const NEEDS_EXIT = { ok: 0, refused: 1, usage: 2 } as const;

export interface CommandOutcome {
  exitCode: number;
  /** For stdout when the command succeeded, for stderr when it did not. */
  output: string;
}

export type NeedsFormat = 'table' | 'csv' | 'xlsx';

/** The columns of `--format csv|xlsx`: one row per region (or province) and level. */
export const NEEDS_COLUMNS = [
  'year',
  'kind',
  'code',
  'name',
  'level',
  'parameter_version',
  'parameter_status',
  'formasi',
  'kebutuhan_declared',
  'kebutuhan_computed',
  'terisi',
  'available_formation',
  'retiring_1',
  'retiring_3',
  'retiring_5',
  'projected_shortfall_1',
  'projected_shortfall_3',
  'projected_shortfall_5',
] as const;

type Cell = string | number | null;

/** What is shown besides the figures, when the parameter set is not confirmed. */
const statusLabel = (status: 'confirmed' | 'unconfirmed' | null) =>
  status === 'confirmed' ? 'dikonfirmasi' : status === 'unconfirmed' ? 'BELUM DIKONFIRMASI' : '-';

/**
 * The rows of the file formats: each region (or province) of `data` per level, then the scope's
 * total per level (a region's total is its one data row, so it is not repeated).
 */
function fileRows(r: NeedsReport): Cell[][] {
  const rows = r.scope.region === null ? [...r.data, r.total] : r.data;
  return rows.flatMap((row) =>
    row.levels.map((l): Cell[] => [
      r.year,
      row.kind,
      row.code ?? '',
      row.name,
      l.level,
      row.parameterVersion,
      row.parameterStatus,
      l.formasi,
      l.kebutuhanDeclared,
      l.kebutuhanComputed,
      l.terisi,
      l.availableFormation,
      l.retiring[1],
      l.retiring[3],
      l.retiring[5],
      l.projectedShortfall[1],
      l.projectedShortfall[3],
      l.projectedShortfall[5],
    ]),
  );
}

/** RFC 4180 field; text neutralised against spreadsheet formulas (as `pksync export` does). */
function csvField(v: Cell): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  const s = neutraliseCell(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * `--format csv`: UTF-8 with a BOM (Excel reads it right), CRLF, a header row of
 * {@link NEEDS_COLUMNS}, one row per region (or province) and level and the total's rows; an
 * unknown figure is an empty field.
 */
export function needsCsv(r: NeedsReport): string {
  const lines = [NEEDS_COLUMNS.join(','), ...fileRows(r).map((row) => row.map(csvField).join(','))];
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

/** `--format xlsx`: one sheet `kebutuhan`, the CSV's header and rows, figures as numbers. */
export async function needsXlsx(r: NeedsReport): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'pksync';
  const ws = wb.addWorksheet('kebutuhan');
  ws.addRow([...NEEDS_COLUMNS]);
  ws.getRow(1).font = { bold: true };
  for (const row of fileRows(r)) ws.addRow(row.map((v) => (typeof v === 'string' ? xlsxText(neutraliseCell(v)) : v)));
  ws.views = [{ state: 'frozen', ySplit: 1 }];
  return Buffer.from(await wb.xlsx.writeBuffer());
}

const n = (v: number | null) => (v === null ? '-' : String(v));
const h = (b: NeedsLevel['retiring']) => `${b[1]}/${b[3]}/${b[5]}`;
const levelName = (code: string) => (levelByCode(code)?.name ?? code).replace(/^Pengantar Kerja /, '');

/**
 * `--format table`: a heading with the year, the scope, the parameter version and its status
 * (always; "BELUM DIKONFIRMASI" while unconfirmed), then per region its four levels and their sum.
 */
export function needsTable(r: NeedsReport): string {
  const scope = r.scope.region
    ? `wilayah ${r.total.code} ${r.total.name}`
    : r.scope.province
      ? `provinsi ${r.total.code} ${r.total.name}`
      : 'nasional (per provinsi)';
  const p = r.parameters;
  const head = [
    `Kebutuhan dan formasi Pengantar Kerja ${r.year} — ${scope}`,
    `Parameter: ${p ? `${p.version} (${statusLabel(p.status)}), berlaku sejak ${p.validFrom}` : 'tidak ada'}`,
    ...(p?.status === 'unconfirmed'
      ? ['  Kebutuhan terhitung memakai norma sementara: BELUM DIKONFIRMASI (lampiran Permenaker 10/2023).']
      : []),
    `Proyeksi pensiun per: ${r.asOf ?? 'belum ada (belum ada rekonsiliasi)'}`,
    '',
  ];
  const columns = [
    'Jenjang',
    'Formasi',
    'Keb.deklarasi',
    'Keb.terhitung',
    'Terisi',
    'Formasi tersedia',
    'Pensiun 1/3/5 th',
    'Kekurangan 1/3/5 th',
  ];
  const cells = (label: string, f: NeedsLevel) => [
    label,
    n(f.formasi),
    n(f.kebutuhanDeclared),
    n(f.kebutuhanComputed),
    String(f.terisi),
    n(f.availableFormation),
    h(f.retiring),
    h(f.projectedShortfall),
  ];
  const rows = r.scope.region === null ? [...r.data, r.total] : r.data;
  const blocks = rows.map((row: NeedsRow) => ({
    title: [
      row.kind === 'nation'
        ? 'Indonesia (total)'
        : `${row.code} ${row.name}${row === r.total && r.scope.region === null ? ' (total)' : ''}`,
      // A row computed with another version than the heading's says so.
      row.parameterVersion && row.parameterVersion !== p?.version
        ? `  [parameter ${row.parameterVersion}, ${statusLabel(row.parameterStatus)}]`
        : '',
    ].join(''),
    lines: [...row.levels.map((l) => cells(levelName(l.level), l)), cells('Semua jenjang', row.allLevels)],
  }));
  const widths = columns.map((c, i) => Math.max(c.length, ...blocks.flatMap((b) => b.lines.map((l) => l[i]!.length))));
  const format = (cols: string[]) =>
    cols
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const body = blocks.flatMap((b) => [b.title, ...b.lines.map((l) => `  ${format(l)}`)]);
  return [...head, `  ${format(columns)}`, ...body].join('\n');
}

export interface NeedsOptions {
  province?: string;
  region?: string;
  year?: string;
  format?: string;
  out?: string;
}

/** Checks the options of `pksync needs`: a message naming the bad one, or the query and format. */
export function parseNeedsOptions(
  o: NeedsOptions,
): { ok: true; province?: string; region?: string; year?: number; format: NeedsFormat } | { ok: false; error: string } {
  const format = o.format ?? 'table';
  if (format !== 'table' && format !== 'csv' && format !== 'xlsx')
    return { ok: false, error: `--format must be table, csv or xlsx, got "${format}"` };
  if (format === 'xlsx' && !o.out) return { ok: false, error: '--format xlsx needs --out FILE (binary output)' };
  if (o.province !== undefined && o.region !== undefined)
    return { ok: false, error: 'give --province or --region, not both' };
  const province = o.province === undefined ? undefined : normaliseRegionCode(o.province);
  if (o.province !== undefined && (!province || province.includes('.')))
    return { ok: false, error: `--province must be a province code such as 16, got "${o.province}"` };
  const region = o.region === undefined ? undefined : normaliseRegionCode(o.region);
  if (o.region !== undefined && !region)
    return { ok: false, error: `--region must be a region code such as 16.71, got "${o.region}"` };
  const year = o.year === undefined ? undefined : /^\d{4}$/.test(o.year) ? Number(o.year) : NaN;
  if (year !== undefined && (!Number.isInteger(year) || year < 1900))
    return { ok: false, error: `--year must be a 4-digit year (1900–9999), got "${o.year}"` };
  return { ok: true, province: province ?? undefined, region: region ?? undefined, year, format };
}

/**
 * `pksync needs`: the needs table of the nation, a province or a region (the same figures as
 * `GET /needs`: `getNeeds`), as a table, CSV or XLSX, to stdout or `--out`. XLSX is written to
 * `--out` only. `output` is what goes to stdout (empty when written to a file).
 */
export async function runNeeds(
  db: Db,
  o: NeedsOptions,
  today: string,
): Promise<CommandOutcome & { bytes?: Buffer | string }> {
  const parsed = parseNeedsOptions(o);
  if (!parsed.ok) return { exitCode: NEEDS_EXIT.usage, output: parsed.error };
  let report: NeedsReport;
  try {
    report = await getNeeds(db, { province: parsed.province, region: parsed.region, year: parsed.year, today });
  } catch (e) {
    if (e instanceof NeedsQueryError) return { exitCode: NEEDS_EXIT.usage, output: `--${e.field}: ${e.message}` };
    throw e;
  }
  const content =
    parsed.format === 'xlsx'
      ? await needsXlsx(report)
      : parsed.format === 'csv'
        ? needsCsv(report)
        : `${needsTable(report)}\n`;
  if (o.out) {
    await writeFile(o.out, content);
    return { exitCode: NEEDS_EXIT.ok, output: `wrote the needs of ${report.year} (${parsed.format}) to ${o.out}` };
  }
  return { exitCode: NEEDS_EXIT.ok, output: '', bytes: content };
}

/**
 * `pksync needs parameters import FILE`: adds a parameter set version (checked whole, audited as
 * `needs.parameters.add` by `cli:<os user>`). The same version with the same document again is
 * no change (exit 0); a refused document prints every problem (exit 1).
 */
export async function runNeedsParametersImport(
  db: Db,
  file: string,
  by: { actor: string; reason?: string | null },
): Promise<CommandOutcome> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    return { exitCode: NEEDS_EXIT.refused, output: `cannot read ${file} as JSON: ${(e as Error).message}` };
  }
  try {
    const { added, stored } = await addNeedParametersAudited(db, document, {
      actor: by.actor,
      actorRole: 'admin',
      reason: by.reason ?? null,
    });
    const what = `${stored.version} (${stored.status}, valid from ${stored.validFrom})`;
    return {
      exitCode: NEEDS_EXIT.ok,
      output: added
        ? `added parameter set ${what}`
        : `parameter set ${what} is already stored with the same document: nothing changed`,
    };
  } catch (e) {
    if (e instanceof NeedParametersError) {
      const head =
        e.reason === 'exists'
          ? `refused: version already stored with other contents (a version is never edited; add a new version)`
          : `refused: ${e.errors.length} problem${e.errors.length === 1 ? '' : 's'} in ${file}`;
      return { exitCode: NEEDS_EXIT.refused, output: [head, ...e.errors.map((m) => `  ${m}`)].join('\n') };
    }
    throw e;
  }
}

/** `pksync needs parameters list`: every version in the order added, the one in force marked. */
export async function runNeedsParametersList(db: Db, today: string): Promise<CommandOutcome> {
  const list = await listNeedParameterVersions(db, today);
  const lines = list.map((v) =>
    [
      v.inForceToday ? '*' : ' ',
      v.version.padEnd(24),
      statusLabel(v.status).padEnd(18),
      `valid from ${v.validFrom}`,
      `added ${v.addedAt.toISOString()} by ${v.addedBy}`,
    ].join('  '),
  );
  lines.push(`${list.length} version${list.length === 1 ? '' : 's'}; * = in force today (${today})`);
  return { exitCode: NEEDS_EXIT.ok, output: lines.join('\n') };
}

function report(outcome: CommandOutcome): void {
  if (outcome.output) (outcome.exitCode === 0 ? console.log : console.error)(outcome.output);
  process.exitCode = outcome.exitCode;
}

/**
 * `pksync needs [--province P | --region R] [--year Y] [--format table|csv|xlsx] [--out FILE]`,
 * `pksync needs parameters import FILE`, `pksync needs parameters list` (needs-planning-v1.md).
 */
export function register(program: Command): void {
  const needs = program
    .command('needs')
    .description(
      'needs planning: formation, declared and computed need, filled, retiring, shortfall per region and level',
    )
    .option('--province <code>', 'one province and its regencies/cities, e.g. 16')
    .option('--region <code>', 'one region, e.g. 16.71')
    .option('--year <yyyy>', "the formation year (default: the register's last as_of year)")
    .option('--format <format>', 'table, csv or xlsx', 'table')
    .option('--out <file>', 'write to this file instead of stdout (required for xlsx)')
    .action(async (o: NeedsOptions) => {
      // Bad usage before any connection is opened.
      const parsed = parseNeedsOptions(o);
      if (!parsed.ok) return report({ exitCode: NEEDS_EXIT.usage, output: parsed.error });
      await withDb(async (db, config) => {
        const outcome = await runNeeds(db, o, calendarDateIn(config.syncTimezone));
        if (outcome.bytes !== undefined) process.stdout.write(outcome.bytes);
        // Errors, and "wrote … to FILE", on stderr: stdout carries only the table or the file.
        if (outcome.output) console.error(outcome.output);
        process.exitCode = outcome.exitCode;
      });
    });

  const parameters = needs
    .command('parameters')
    .description('the versioned parameter set of the need computation (R16)');
  parameters
    .command('import')
    .description('add a parameter set version from a JSON file (audited; a version is never edited in place)')
    .argument('<file>', 'the parameter set document (needs-planning-v1.md § The parameter set)')
    .option('--reason <text>', 'why (audit log)')
    .action(async (file: string, o: { reason?: string }) => {
      report(await withDb((db) => runNeedsParametersImport(db, file, { actor: cliActor(), reason: o.reason })));
    });
  parameters
    .command('list')
    .description('list the parameter set versions, the one in force today marked')
    .action(async () => {
      report(await withDb((db, config) => runNeedsParametersList(db, calendarDateIn(config.syncTimezone))));
    });
}

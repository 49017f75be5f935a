import path from 'node:path';
import {
  activityCodes,
  describeCode,
  isCalendarDate,
  SnapshotNormaliser,
  type FindingCode,
  type ParameterStatus,
  type Rejection,
  type RejectionCode,
  type SnapshotResult,
} from '@pksync/core';
import { FileFormatError, noDataRows, parseAgencyFile, type AgencyFile } from '@pksync/connectors';
import { loadConfig } from '@pksync/config';
import { createDb, needParametersInForce, type Db } from '@pksync/db';
import { normaliseRegionCode, regionByCode } from '@pksync/reference';
import type { Command } from 'commander';

const WARNING_ROWS_PER_CODE = 20;

/** Exit codes of `pksync check`. */
export const CHECK_EXIT = { ok: 0, rejected: 1, unreadable: 2 } as const;

/** The need parameter set in force on the check's `as_of` (needs-planning-v1.md): workload activity codes are its. */
export interface CheckParameters {
  version: string;
  status: ParameterStatus;
  activityCodes: ReadonlySet<string>;
}

export interface CheckOptions {
  region: string;
  asOf?: string;
  json?: boolean;
  /** Size limits (defaults: the spec's). */
  maxBytes?: number;
  maxRows?: number;
  /** `--workloads FILE`: a workload table (CSV, XLSX or JSON) checked with the file, as its `workloads_url` would be. */
  workloads?: string;
  /**
   * Finds the parameter set in force on `as_of` (null: none); asked only when there is workload
   * to check. Without it, when it finds none, or when it fails, workload activity codes are not
   * checked, and the output says so. The command asks pksync's database ({@link parametersFromDatabase}).
   */
  needParameters?: (asOf: string) => Promise<CheckParameters | null>;
}

/** What the workload rows of a check were checked against: a parameter set, or nothing (and why). */
type ParameterCheck =
  { kind: 'checked'; parameters: CheckParameters } | { kind: 'none' } | { kind: 'unavailable'; reason: string };

export interface CheckOutcome {
  exitCode: number;
  /** What to print on stdout. */
  output: string;
}

/** Today's calendar date in Asia/Jakarta (the default `as_of`). */
export function jakartaToday(now: Date = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Asia/Jakarta',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(now);
}

const FIELD_LABELS: Record<string, string> = {
  nip: 'NIP',
  nama: 'Nama',
  jenis_kelamin: 'Jenis Kelamin',
  tanggal_lahir: 'Tanggal Lahir',
  jenjang: 'Jenjang',
  golongan: 'Golongan',
  unit_kerja: 'Unit Kerja',
  kode_wilayah: 'Kode Wilayah',
  tmt_jabatan: 'TMT Jabatan',
  status: 'Status',
  email: 'Email',
  telepon: 'Telepon',
  updated_at: 'updated_at',
  tahun: 'Tahun',
  kebutuhan: 'Kebutuhan',
  formasi: 'Formasi',
  kegiatan: 'Kegiatan',
  volume: 'Volume',
  cakupan_kecamatan: 'Cakupan Kecamatan',
  kompleksitas: 'Kompleksitas',
};

/** Makes any text safe to print on one terminal line: control and bidi characters shown as escapes. */
function printable(s: string, max = 80): string {
  const safe = s.replace(
    // Control characters are exactly what this must match.
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return safe.length > max ? `${safe.slice(0, max)}…` : safe;
}

function formatRejection(r: Rejection): string {
  const who = r.nip ? ` (NIP ${printable(r.nip, 30)})` : '';
  const lines = [`  Baris ${r.row}${who}:`];
  for (const issue of r.issues) {
    const label = FIELD_LABELS[issue.field] ?? issue.field;
    const detail = issue.detail ? `: ${printable(issue.detail, 200)}` : '';
    lines.push(`    - ${label}${detail}. ${describeCode(issue.code)} [${issue.code}]`);
  }
  return lines.join('\n');
}

/** How a file was read: format, CSV separator and encoding, workbook sheets. */
function describeFile(parsed: AgencyFile): string {
  let how: string = parsed.format.toUpperCase();
  if (parsed.csv)
    how += `, pemisah "${parsed.csv.delimiter === '\t' ? 'tab' : parsed.csv.delimiter}", ${parsed.csv.encoding}`;
  if (parsed.sheets) {
    const { officers, formations, workloads } = parsed.sheets;
    how += `, lembar ${[officers, formations, workloads].filter(Boolean).join(' + ')}`;
  }
  return how;
}

/** The line saying what workload activity codes were checked against (needs-planning-v1.md). */
function parameterLine(check: ParameterCheck, asOf: string): string {
  switch (check.kind) {
    case 'checked': {
      const p = check.parameters;
      const status = p.status === 'confirmed' ? 'sudah dikonfirmasi' : 'belum dikonfirmasi';
      return `Parameter kebutuhan: versi ${printable(p.version)} (${status}), berlaku pada ${asOf}; kode kegiatan beban kerja diperiksa terhadapnya.`;
    }
    case 'none':
      return `Tidak ada parameter perhitungan kebutuhan yang berlaku pada ${asOf}: kode kegiatan beban kerja tidak diperiksa.`;
    case 'unavailable':
      return `Parameter perhitungan kebutuhan tidak dapat dibaca dari basis data pksync (${printable(check.reason, 120)}): kode kegiatan beban kerja tidak diperiksa.`;
  }
}

/** What {@link formatSummary} needs besides the file and its result. */
export interface CheckSummaryInput {
  file: string;
  parsed: AgencyFile;
  result: SnapshotResult;
  region: string;
  asOf: string;
  /** The `--workloads` file, when one was checked too. */
  workloads?: { file: string; parsed: AgencyFile };
  /** Set when the check had workload rows: what their activity codes were checked against. */
  parameters?: ParameterCheck;
  /** The rejections of workload rows (listed apart: their rows are another table's). */
  workloadRejections?: ReadonlySet<Rejection>;
}

/** The human summary of a checked file, in Bahasa Indonesia. */
export function formatSummary(input: CheckSummaryInput): string {
  const { file, parsed, result, region, asOf } = input;
  const s = result.stats;
  const lines: string[] = [];
  lines.push(`Berkas: ${path.basename(file)} (${describeFile(parsed)})`);
  if (input.workloads) {
    lines.push(`Berkas beban kerja: ${path.basename(input.workloads.file)} (${describeFile(input.workloads.parsed)})`);
  }
  lines.push(`Wilayah: ${region} ${regionByCode(region)?.name ?? ''} · Tanggal acuan: ${asOf}`);
  const tables = `pejabat ${s.officerRows}, formasi ${s.formationRows}${input.parameters ? `, beban kerja ${s.workloadRows}` : ''}`;
  lines.push(
    `Baris data: ${s.rows} (${tables}) · Diterima: ${s.accepted} · Ditolak: ${s.rejected} · Duplikat: ${s.duplicates}`,
  );
  if (input.parameters) lines.push(parameterLine(input.parameters, asOf));
  if (s.unknownFields > 0) {
    lines.push(`Kolom tidak dikenal (diabaikan): ${s.unknownFieldNames.map((n) => printable(n, 40)).join(', ')}`);
  }
  const warnings = Object.entries(s.warningsByCode) as [FindingCode, number][];
  if (warnings.length > 0) {
    lines.push('', 'Peringatan (data tetap diterima):');
    for (const [code, n] of warnings) lines.push(`  ${n} × ${describeCode(code)} [${code}]`);
    const shown = new Map<FindingCode, number>();
    for (const f of result.findings.filter((x) => x.severity === 'warning')) {
      // A long file can carry thousands of warnings: list the first few rows of each code.
      const n = (shown.get(f.code) ?? 0) + 1;
      shown.set(f.code, n);
      if (n <= WARNING_ROWS_PER_CODE)
        lines.push(`    Baris ${f.row ?? '-'}${f.nip ? ` (NIP ${f.nip})` : ''} [${f.code}]`);
    }
    for (const [code, n] of shown) {
      if (n > WARNING_ROWS_PER_CODE)
        lines.push(`    … dan ${n - WARNING_ROWS_PER_CODE} baris lain [${code}] (lihat --json)`);
    }
  }
  if (result.rejected.length > 0) {
    const byCode = Object.entries(s.rejectedByCode) as [RejectionCode, number][];
    lines.push('', `Ditolak (${byCode.map(([c, n]) => `${c}: ${n}`).join(', ')}):`);
    const workload = input.workloadRejections ?? new Set<Rejection>();
    for (const r of result.rejected) if (!workload.has(r)) lines.push(formatRejection(r));
    const ofWorkload = result.rejected.filter((r) => workload.has(r));
    if (ofWorkload.length > 0) {
      const where = input.workloads
        ? `berkas ${path.basename(input.workloads.file)}`
        : parsed.sheets?.workloads
          ? `lembar ${parsed.sheets.workloads}`
          : `berkas ${path.basename(file)}`;
      lines.push(`  Beban kerja (${printable(where)}):`);
      for (const r of ofWorkload) lines.push(formatRejection(r).replace(/^/gm, '  '));
    }
    lines.push('', 'Perbaiki baris yang ditolak lalu periksa ulang sebelum mengunggah.');
  } else {
    lines.push('', 'Tidak ada baris yang ditolak: berkas siap diunggah.');
  }
  return lines.join('\n');
}

/**
 * The parameter set in force on `asOf` in pksync's database, as a check uses it (null: none).
 *
 * @example await parametersInForceIn(db, '2026-11-27') // { version: '2023-placeholder-1', status: 'unconfirmed', activityCodes }
 */
export async function parametersInForceIn(db: Db, asOf: string): Promise<CheckParameters | null> {
  const p = await needParametersInForce(db, asOf);
  return p ? { version: p.version, status: p.status, activityCodes: activityCodes(p.parameters) } : null;
}

/** {@link CheckOptions.needParameters} of the command: one short connection to `DATABASE_URL`. */
export async function parametersFromDatabase(asOf: string): Promise<CheckParameters | null> {
  const config = loadConfig();
  const db = createDb(config.databaseUrl, { max: 1, applicationName: 'pksync-check', connectionTimeoutMs: 5000 });
  try {
    return await parametersInForceIn(db, asOf);
  } finally {
    await db.destroy();
  }
}

/** What a file that cannot be read prints (`what`: which file, when there are two). */
function unreadable(e: FileFormatError, json: boolean | undefined, what: string): CheckOutcome {
  const output = json
    ? JSON.stringify({ error: { code: e.code, message: e.message } }, null, 2)
    : `${what} tidak dapat dibaca: ${e.userMessage}. ${describeCode(e.code)} [${e.code}]`;
  return { exitCode: CHECK_EXIT.unreadable, output };
}

/**
 * `pksync check`: the dry run a provincial data officer runs before an upload. Reads the file
 * (CSV, XLSX or JSON) and the `--workloads` file if any, applies R1–R7 (and the workload record
 * checks of needs-planning-v1.md, against the activity codes of the parameter set in force on
 * `as_of`) and reports. Exit 0 when nothing is rejected, 1 when something is, 2 when a file
 * cannot be read at all.
 */
export async function runCheck(file: string, opts: CheckOptions): Promise<CheckOutcome> {
  const region = normaliseRegionCode(opts.region);
  if (!region || !regionByCode(region)) {
    return { exitCode: CHECK_EXIT.unreadable, output: `Kode wilayah tidak dikenal: ${printable(opts.region)}` };
  }
  const asOf = opts.asOf ?? jakartaToday();
  if (!isCalendarDate(asOf)) {
    return {
      exitCode: CHECK_EXIT.unreadable,
      output: `Tanggal acuan harus tanggal kalender yang ada, YYYY-MM-DD, tahun 1900–9999: ${printable(asOf)}`,
    };
  }
  const limits = { maxBytes: opts.maxBytes, maxRows: opts.maxRows };
  let parsed: AgencyFile;
  let workloads: { file: string; parsed: AgencyFile } | undefined;
  let what = 'Berkas';
  let snapshot: SnapshotNormaliser;
  let parameters: ParameterCheck | undefined;
  const workloadRejections = new Set<Rejection>();
  try {
    parsed = await parseAgencyFile(file, limits);
    if (opts.workloads) {
      what = `Berkas beban kerja ${path.basename(opts.workloads)}`;
      workloads = {
        file: opts.workloads,
        parsed: await parseAgencyFile(opts.workloads, { ...limits, table: 'workloads' }),
      };
      what = 'Berkas';
    }
    // Workload rows name activities of the parameter set in force: looked up only when there are some.
    if (parsed.hasWorkloads || workloads) parameters = await lookUpParameters(opts, asOf);
    snapshot = new SnapshotNormaliser({
      sourceRegion: region,
      asOf,
      ...(parameters?.kind === 'checked' ? { activityCodes: parameters.parameters.activityCodes } : {}),
    });
    let rows = 0;
    for await (const { row, record } of parsed.officers) {
      snapshot.addOfficer(record, row);
      rows++;
    }
    for await (const { row, record } of parsed.formations) {
      snapshot.addFormation(record, row);
      rows++;
    }
    const addWorkload = (record: Record<string, unknown>, row: number) => {
      const r = snapshot.addWorkload(record, row);
      if (!r.ok) workloadRejections.add(r.rejection);
      rows++;
    };
    for await (const { row, record } of parsed.workloads) addWorkload(record, row);
    if (workloads) {
      what = `Berkas beban kerja ${path.basename(workloads.file)}`;
      for await (const { row, record } of workloads.parsed.workloads) addWorkload(record, row);
    }
    what = 'Berkas';
    // As an upload of the same bytes is answered (POST /sources/{id}/uploads): nothing to upload.
    if (rows === 0) throw noDataRows();
  } catch (e) {
    if (e instanceof FileFormatError) return unreadable(e, opts.json, what);
    throw e;
  }
  const result = snapshot.finish();
  const exitCode = result.rejected.length > 0 ? CHECK_EXIT.rejected : CHECK_EXIT.ok;
  const output = opts.json
    ? JSON.stringify(
        {
          file: path.basename(file),
          format: parsed.format,
          ...(workloads
            ? { workloadsFile: path.basename(workloads.file), workloadsFormat: workloads.parsed.format }
            : {}),
          region,
          asOf,
          ...(parameters ? { needParameters: jsonParameters(parameters) } : {}),
          ...result,
        },
        null,
        2,
      )
    : formatSummary({
        file,
        parsed,
        result,
        region,
        asOf,
        ...(workloads ? { workloads } : {}),
        ...(parameters ? { parameters } : {}),
        workloadRejections,
      });
  return { exitCode, output };
}

/** The parameter set of a check, asked of `opts.needParameters` (none asked: not checked). */
async function lookUpParameters(opts: CheckOptions, asOf: string): Promise<ParameterCheck> {
  if (!opts.needParameters) return { kind: 'unavailable', reason: 'tanpa basis data' };
  try {
    const p = await opts.needParameters(asOf);
    return p ? { kind: 'checked', parameters: p } : { kind: 'none' };
  } catch (e) {
    return { kind: 'unavailable', reason: e instanceof Error ? e.message : String(e) };
  }
}

/** `--json`: the version whose activity codes were checked, or why none were. */
function jsonParameters(p: ParameterCheck) {
  return p.kind === 'checked'
    ? { version: p.parameters.version, status: p.parameters.status, activityCodesChecked: true }
    : {
        version: null,
        status: null,
        activityCodesChecked: false,
        reason: p.kind === 'none' ? 'none_in_force' : p.reason,
      };
}

/** Registers `pksync check <file> --region CODE [--as-of DATE] [--workloads FILE] [--json]`. */
export function register(program: Command): void {
  program
    .command('check')
    .description(
      'Dry-run an agency file (CSV, XLSX or JSON) against exchange format v1 and rules R1–R7, and its workload (needs planning v1)',
    )
    .argument('<file>', 'the agency file to check (a workbook may hold a beban_kerja sheet)')
    .requiredOption('--region <code>', "the agency's region code, e.g. 16.71 or 1671")
    .option('--as-of <date>', 'reference date YYYY-MM-DD (default: today in Asia/Jakarta)')
    .option('--workloads <file>', 'a workload file (CSV, XLSX or JSON) to check with it, as its workloads_url')
    .option('--json', 'print the full result as JSON')
    .action(async (file: string, opts: CheckOptions) => {
      // Activity codes are those of the parameter set in force in pksync's database (DATABASE_URL).
      const outcome = await runCheck(file, { ...opts, needParameters: parametersFromDatabase });
      // A human-readable failure goes to stderr; --json output always goes to stdout, to be piped.
      if (outcome.exitCode === CHECK_EXIT.unreadable && !opts.json) console.error(outcome.output);
      else console.log(outcome.output);
      process.exitCode = outcome.exitCode;
    });
}

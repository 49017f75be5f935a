import path from 'node:path';
import {
  describeCode,
  isCalendarDate,
  SnapshotNormaliser,
  type FindingCode,
  type Rejection,
  type RejectionCode,
  type SnapshotResult,
} from '@pksync/core';
import { FileFormatError, noDataRows, parseAgencyFile, type AgencyFile } from '@pksync/connectors';
import { normaliseRegionCode, regionByCode } from '@pksync/reference';
import type { Command } from 'commander';

const WARNING_ROWS_PER_CODE = 20;

/** Exit codes of `pksync check`. */
export const CHECK_EXIT = { ok: 0, rejected: 1, unreadable: 2 } as const;

export interface CheckOptions {
  region: string;
  asOf?: string;
  json?: boolean;
  /** Size limits (defaults: the spec's). */
  maxBytes?: number;
  maxRows?: number;
}

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

/** The human summary of a checked file, in Bahasa Indonesia. */
export function formatSummary(
  file: string,
  parsed: AgencyFile,
  result: SnapshotResult,
  region: string,
  asOf: string,
): string {
  const s = result.stats;
  const lines: string[] = [];
  let how: string = parsed.format.toUpperCase();
  if (parsed.csv)
    how += `, pemisah "${parsed.csv.delimiter === '\t' ? 'tab' : parsed.csv.delimiter}", ${parsed.csv.encoding}`;
  if (parsed.sheets)
    how += `, lembar ${[parsed.sheets.officers, parsed.sheets.formations].filter(Boolean).join(' + ')}`;
  lines.push(`Berkas: ${path.basename(file)} (${how})`);
  lines.push(`Wilayah: ${region} ${regionByCode(region)?.name ?? ''} · Tanggal acuan: ${asOf}`);
  lines.push(
    `Baris data: ${s.rows} (pejabat ${s.officerRows}, formasi ${s.formationRows}) · Diterima: ${s.accepted} · Ditolak: ${s.rejected} · Duplikat: ${s.duplicates}`,
  );
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
    for (const r of result.rejected) lines.push(formatRejection(r));
    lines.push('', 'Perbaiki baris yang ditolak lalu periksa ulang sebelum mengunggah.');
  } else {
    lines.push('', 'Tidak ada baris yang ditolak: berkas siap diunggah.');
  }
  return lines.join('\n');
}

/**
 * `pksync check`: the dry run a provincial data officer runs before an upload. Reads the file
 * (CSV, XLSX or JSON), applies R1–R7 against `as_of`, and reports. Exit 0 when nothing is rejected,
 * 1 when something is, 2 when the file cannot be read at all.
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
  const snapshot = new SnapshotNormaliser({ sourceRegion: region, asOf });
  let parsed: AgencyFile;
  try {
    parsed = await parseAgencyFile(file, { maxBytes: opts.maxBytes, maxRows: opts.maxRows });
    let rows = 0;
    for await (const { row, record } of parsed.officers) {
      snapshot.addOfficer(record, row);
      rows++;
    }
    for await (const { row, record } of parsed.formations) {
      snapshot.addFormation(record, row);
      rows++;
    }
    // As an upload of the same bytes is answered (POST /sources/{id}/uploads): nothing to upload.
    if (rows === 0) throw noDataRows();
  } catch (e) {
    if (e instanceof FileFormatError) {
      const output = opts.json
        ? JSON.stringify({ error: { code: e.code, message: e.message } }, null, 2)
        : `Berkas tidak dapat dibaca: ${e.userMessage}. ${describeCode(e.code)} [${e.code}]`;
      return { exitCode: CHECK_EXIT.unreadable, output };
    }
    throw e;
  }
  const result = snapshot.finish();
  const exitCode = result.rejected.length > 0 ? CHECK_EXIT.rejected : CHECK_EXIT.ok;
  const output = opts.json
    ? JSON.stringify({ file: path.basename(file), format: parsed.format, region, asOf, ...result }, null, 2)
    : formatSummary(file, parsed, result, region, asOf);
  return { exitCode, output };
}

/** Registers `pksync check <file> --region CODE [--as-of DATE] [--json]`. */
export function register(program: Command): void {
  program
    .command('check')
    .description('Dry-run an agency file (CSV, XLSX or JSON) against exchange format v1 and rules R1–R7')
    .argument('<file>', 'the agency file to check')
    .requiredOption('--region <code>', "the agency's region code, e.g. 16.71 or 1671")
    .option('--as-of <date>', 'reference date YYYY-MM-DD (default: today in Asia/Jakarta)')
    .option('--json', 'print the full result as JSON')
    .action(async (file: string, opts: CheckOptions) => {
      const outcome = await runCheck(file, opts);
      // A human-readable failure goes to stderr; --json output always goes to stdout, to be piped.
      if (outcome.exitCode === CHECK_EXIT.unreadable && !opts.json) console.error(outcome.output);
      else console.log(outcome.output);
      process.exitCode = outcome.exitCode;
    });
}

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { parseCsv, type CsvInfo } from './csv.parser.ts';
import { FileFormatError, type ParseLimits, type ParsedRow } from './file-format-error.ts';
import { looksLikeFormations, looksLikeWorkloads, type HeaderDataset } from './header-aliases.ts';
import { parseJson } from './json.parser.ts';
import { parseXlsx } from './xlsx.parser.ts';

export type AgencyFileFormat = 'csv' | 'xlsx' | 'json';

/** The officer, formation and workload records of one agency file; any stream may be empty. */
export interface AgencyFile {
  format: AgencyFileFormat;
  officers: AsyncIterable<ParsedRow>;
  formations: AsyncIterable<ParsedRow>;
  /** Workload rows (needs-planning-v1.md): a workbook's `beban_kerja` sheet, or a workload CSV/JSON. */
  workloads: AsyncIterable<ParsedRow>;
  /**
   * True when the file holds a workload table (a `beban_kerja` sheet, a workload CSV/JSON), known
   * before any of its rows is read: what its rows are checked against can be looked up first.
   */
  hasWorkloads: boolean;
  /** CSV only: the detected encoding, separator and header. */
  csv?: CsvInfo;
  /** XLSX only: the sheets read. */
  sheets?: { officers: string | null; formations: string | null; workloads: string | null };
}

/** {@link parseAgencyFile} options: the limits, and which table(s) the file holds. */
export interface AgencyFileOptions extends ParseLimits {
  /**
   * `any` (the default): an agency file — a workbook's sheets, or the one table a CSV/JSON file
   * holds, told apart by its header. `workloads`: the file is a workload table whatever its
   * header says (a CSV/JSON through the workload aliases; a workbook's `beban_kerja` sheet, or
   * its first sheet when it has none), as `pksync check --workloads FILE` reads it.
   */
  table?: 'any' | 'workloads';
}

async function* empty(): AsyncGenerator<never> {}

async function* fromArray<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** Reads the first bytes of a file (or of its bytes in memory), to sniff its format. */
async function head(input: string | Buffer, n: number): Promise<Buffer> {
  if (Buffer.isBuffer(input)) return input.subarray(0, n);
  const filePath = input;
  const handle = await open(filePath, 'r').catch((e: unknown) => {
    throw new FileFormatError(
      'unparseable_file',
      `cannot open file: ${(e as Error).message}`,
      'berkas tidak dapat dibuka',
      {
        cause: e,
      },
    );
  });
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await handle.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } catch (e) {
    throw new FileFormatError(
      'unparseable_file',
      `cannot read file: ${(e as Error).message}`,
      'berkas tidak dapat dibaca',
      {
        cause: e,
      },
    );
  } finally {
    await handle.close();
  }
}

/** Sniffs the format from content, not the file name: ZIP magic is XLSX, `{`/`[` is JSON, else CSV. */
export function sniffFormat(start: Buffer): AgencyFileFormat {
  if (start[0] === 0x50 && start[1] === 0x4b && start[2] === 0x03 && start[3] === 0x04) return 'xlsx';
  if (start[0] === 0xd0 && start[1] === 0xcf && start[2] === 0x11 && start[3] === 0xe0) {
    throw new FileFormatError(
      'unparseable_file',
      // Excel also wraps a password-protected .xlsx in this container.
      'legacy Excel 97-2003 (.xls) and password-protected workbooks are not supported; save as .xlsx without a password',
      'berkas Excel lama (.xls) atau buku kerja berkata sandi tidak didukung; simpan ulang sebagai .xlsx tanpa kata sandi',
    );
  }
  let i = start[0] === 0xef && start[1] === 0xbb && start[2] === 0xbf ? 3 : 0;
  while (i < start.length && (start[i] === 0x20 || start[i] === 0x09 || start[i] === 0x0a || start[i] === 0x0d)) i++;
  if (start[i] === 0x7b || start[i] === 0x5b) return 'json';
  return 'csv';
}

/** How much of a file {@link binaryContentError} looks at. */
export const BINARY_SNIFF_BYTES = 64 * 1024;

/** Signatures of files sometimes sent instead of an agency file: scans, photos, archives, programs, old workbooks. */
const BINARY_SIGNATURES: readonly (readonly [readonly number[], string])[] = [
  [[0x25, 0x50, 0x44, 0x46], 'PDF'],
  [[0x89, 0x50, 0x4e, 0x47], 'PNG'],
  [[0xff, 0xd8, 0xff], 'JPEG'],
  [[0x1f, 0x8b], 'gzip'],
  [[0x7f, 0x45, 0x4c, 0x46], 'ELF'],
  [[0x4d, 0x5a], 'EXE'],
  [[0x52, 0x61, 0x72, 0x21], 'RAR'],
  [[0x37, 0x7a, 0xbc, 0xaf], '7z'],
  [[0xd0, 0xcf, 0x11, 0xe0], 'Excel 97-2003 (.xls)'],
];

/**
 * Why a file whose first bytes (up to {@link BINARY_SNIFF_BYTES}) are `start` is not an agency
 * file, or null: a known binary signature, or NUL bytes the way binary data has them — in the
 * first line (where the header is) or more than one byte in a hundred (of at least 1 KiB). A NUL in a cell of a text
 * file is not binary: exchange-format-v1.md § Limits removes it and keeps the record. UTF-16
 * (with its BOM) and ZIP (the workbook reader's business) are not judged here. The one rule of
 * the parser (`pksync check`, the worker) and the API's upload sniffing, so a binary file gets
 * the same verdict, in the same words, from each.
 */
export function binaryContentError(start: Buffer): FileFormatError | null {
  if (start[0] === 0x50 && start[1] === 0x4b) return null;
  for (const [magic, name] of BINARY_SIGNATURES) {
    if (magic.every((b, i) => start[i] === b)) {
      return new FileFormatError(
        'unparseable_file',
        `the file is ${name}, not CSV, XLSX or JSON`,
        `berkas ini ${name}, bukan CSV atau XLSX; simpan data sebagai .csv atau .xlsx`,
      );
    }
  }
  if ((start[0] === 0xff && start[1] === 0xfe) || (start[0] === 0xfe && start[1] === 0xff)) return null;
  const sample = start.subarray(0, BINARY_SNIFF_BYTES);
  const firstNul = sample.indexOf(0);
  if (firstNul === -1) return null;
  const lineEnd = sample.indexOf(0x0a);
  let nuls = 0;
  for (const b of sample) if (b === 0) nuls++;
  // A short file is weighed as 1 KiB, so that one stray NUL in a two-line file stays a cell's.
  if (lineEnd !== -1 && firstNul > lineEnd && nuls * 100 <= Math.max(sample.length, 1024)) return null;
  return new FileFormatError(
    'unparseable_file',
    'the file holds binary data (NUL bytes), not CSV or JSON text',
    'berkas berisi data biner, bukan teks CSV atau buku kerja XLSX',
  );
}

/** One table of a file, as the right stream of an {@link AgencyFile}. */
function oneTable(
  format: AgencyFileFormat,
  kind: 'officers' | 'formations' | 'workloads',
  rows: AsyncIterable<ParsedRow>,
): AgencyFile {
  return {
    format,
    officers: kind === 'officers' ? rows : empty(),
    formations: kind === 'formations' ? rows : empty(),
    workloads: kind === 'workloads' ? rows : empty(),
    hasWorkloads: kind === 'workloads',
  };
}

/** Which table a CSV/JSON file holds, from its mapped keys and the alias table that mapped them. */
function tableOf(keys: readonly string[], dataset: HeaderDataset): 'officers' | 'formations' | 'workloads' {
  if (dataset === 'workloads') return 'workloads';
  return looksLikeFormations(keys) ? 'formations' : 'officers';
}

/**
 * Opens an agency file of any accepted format (sniffed from its content) and returns its officer,
 * formation and workload records. A CSV file holds one table: the workloads when its header
 * (through the workload aliases) has `kegiatan` and `volume` but no `nip`, the formations when it
 * has `tahun` and `kebutuhan`/`formasi` but no `nip`, otherwise the officers. An XLSX workbook holds
 * them all (sheets `pejabat`/first, `formasi` and `beban_kerja`). A JSON document holds one table,
 * told apart the same way from its first record. `opts.table: 'workloads'` reads the file as a
 * workload table whatever its header.
 *
 * `input` is the file's path, or its bytes already in memory.
 *
 * @throws FileFormatError `unparseable_file` or `payload_too_large` (here or while iterating).
 */
export async function parseAgencyFile(input: string | Buffer, opts: AgencyFileOptions = {}): Promise<AgencyFile> {
  const { table = 'any', ...limits } = opts;
  const start = await head(input, BINARY_SNIFF_BYTES);
  const format = sniffFormat(start);
  const binary = format === 'xlsx' ? null : binaryContentError(start);
  if (binary) throw binary;
  if (format === 'xlsx') {
    const tables = await parseXlsx(input, { ...limits, onlyWorkloads: table === 'workloads' });
    return {
      format,
      officers: tables.officers,
      formations: tables.formations,
      workloads: tables.workloads,
      hasWorkloads: tables.sheets.workloads !== null,
      sheets: tables.sheets,
    };
  }
  const dataset = table === 'workloads' ? 'workloads' : 'auto';
  if (format === 'json') {
    const rows = await parseJson(input, { ...limits, dataset });
    const first = rows[0]?.record;
    // Keys of the first record as mapped: a workload document's went through the workload aliases.
    const keys = first === undefined ? [] : Object.keys(first);
    const kind = table === 'workloads' ? 'workloads' : tableOf(keys, looksLikeWorkloads(keys) ? 'workloads' : 'agency');
    return oneTable(format, kind, fromArray(rows));
  }
  let info: CsvInfo | undefined;
  const bytes = Buffer.isBuffer(input) ? Readable.from([input]) : createReadStream(input);
  const rows = parseCsv(bytes, { ...limits, dataset, onHeader: (i) => (info = i) });
  // Pull the first record so that the header is known before deciding which table this is.
  const first = await rows.next();
  async function* all(): AsyncGenerator<ParsedRow> {
    if (!first.done) yield first.value;
    yield* rows;
  }
  const result = oneTable(format, info ? tableOf(info.keys, info.dataset) : 'officers', all());
  if (info) result.csv = info;
  return result;
}

import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type ExcelJS from 'exceljs';
import {
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_ROWS,
  FileFormatError,
  tooManyBytes,
  tooManyRows,
  type ParseLimits,
  type ParsedRow,
} from './file-format-error.ts';
import { newStreamingWorkbook, type StreamingWorkbook, type StreamingWorksheet } from './exceljs-internals.ts';
import { mapHeader, type HeaderDataset } from './header-aliases.ts';
import { notAWorkbook, ZipArchive, type InflateBudget, type ZipEntry } from './zip-archive.ts';

/** Cell values as the core receives them: text, numbers and dates kept as they were typed. */
export type XlsxValue = string | number | Date | null;

/** The tables of an agency workbook. */
export interface XlsxTables {
  /** Sheet `pejabat`, or the first sheet that is neither `formasi` nor `beban_kerja`. */
  officers: AsyncIterable<ParsedRow<XlsxValue>>;
  /** Sheet `formasi` (empty when the workbook has none). */
  formations: AsyncIterable<ParsedRow<XlsxValue>>;
  /** Sheet `beban_kerja` (needs-planning-v1.md; empty when the workbook has none). */
  workloads: AsyncIterable<ParsedRow<XlsxValue>>;
  /** Names of the sheets used: for messages. */
  sheets: { officers: string | null; formations: string | null; workloads: string | null };
}

/** {@link parseXlsx} limits: the spec's, plus guards against workbooks that unpack to far more than they weigh. */
export interface XlsxParseLimits extends ParseLimits {
  /**
   * Most bytes of XML inflated from the workbook's parts in total (sheets, shared strings,
   * styles). Default: 4 KiB per allowed record (`maxRows`), at least 64 MiB — a real sheet takes
   * about 0.6 KiB per 13-column row.
   */
  maxInflatedBytes?: number;
  /**
   * Read only the workload table: the `beban_kerja` sheet, or the first sheet when there is none
   * (a workbook sent as a workload file); no officers, no formations.
   */
  onlyWorkloads?: boolean;
}

/** Excel's own sheet size: a sheet with more rows is not one Excel wrote or can open. */
const EXCEL_MAX_ROWS = 1_048_576;

/** A cell's value: formulas give their result, rich text and hyperlinks their text, errors their code (`#N/A`). */
export function cellValue(v: ExcelJS.CellValue): XlsxValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (v instanceof Date) return v;
  if (typeof v === 'object') {
    if ('richText' in v && Array.isArray(v.richText)) return v.richText.map((r) => r.text).join('');
    if ('error' in v) return String(v.error);
    if ('formula' in v || 'sharedFormula' in v) {
      const result = (v as { result?: unknown }).result;
      return result === undefined ? null : cellValue(result as ExcelJS.CellValue);
    }
    if ('text' in v) return cellValue((v as { text: ExcelJS.CellValue }).text);
  }
  return String(v);
}

/** One worksheet of the workbook: its tab name and its part in the ZIP container. */
interface SheetPart {
  name: string;
  /** The sheet's `sheetId`, as ExcelJS numbers its readers. */
  id: string;
  entry: ZipEntry;
}

/** Where a relationship of `xl/workbook.xml` points: relative to `xl/`, or absolute from the root. */
function resolveTarget(target: string): string {
  return target.startsWith('/') ? target.slice(1) : path.posix.normalize(`xl/${target}`);
}

/**
 * Runs an ExcelJS part parser on a part's text, turning whatever it throws on bad XML into
 * `unparseable_file`, and closing the part's file stream whether or not it read to the end.
 */
async function parsePart(
  archive: ZipArchive,
  entry: ZipEntry,
  budget: InflateBudget,
  parse: (stream: Readable) => Promise<unknown>,
  partMax?: number,
): Promise<void> {
  // ExcelJS's part parsers read an event-emitting stream; strings (already UTF-8 decoded across
  // chunk boundaries) avoid its per-chunk decoding, which breaks characters split between chunks.
  const stream = Readable.from(archive.text(entry, budget, partMax), { objectMode: true });
  try {
    await parse(stream);
  } catch (e) {
    if (e instanceof FileFormatError) throw e;
    throw notAWorkbook(`${entry.name}: ${(e as Error).message}`, e);
  } finally {
    stream.destroy();
  }
}

/** What `xl/workbook.xml` and its relationships say: the worksheets in tab order, and the shared parts. */
interface WorkbookParts {
  sheets: SheetPart[];
  styles: ZipEntry | undefined;
  sharedStrings: ZipEntry | undefined;
}

/** Reads `xl/workbook.xml` and its relationships. */
async function listParts(
  archive: ZipArchive,
  reader: StreamingWorkbook,
  budget: InflateBudget,
): Promise<WorkbookParts> {
  const workbookPart = archive.entry('xl/workbook.xml');
  const relsPart = archive.entry('xl/_rels/workbook.xml.rels');
  if (!workbookPart || !relsPart) throw notAWorkbook('the ZIP container has no xl/workbook.xml');
  await parsePart(archive, workbookPart, budget, (stream) => reader._parseWorkbook(stream));
  await parsePart(archive, relsPart, budget, (stream) => reader._parseRels(stream));
  const rels = reader.workbookRels ?? [];
  const byId = new Map(rels.map((r) => [r.Id, r]));
  const ofType = (type: string) => rels.find((r) => r.TargetMode !== 'External' && (r.Type ?? '').endsWith(type));
  // Shared parts as the relationships name them, else where Excel puts them.
  const styles = ofType('/styles');
  const strings = ofType('/sharedStrings');
  const sheets: SheetPart[] = [];
  for (const s of reader.model?.sheets ?? []) {
    const rel = s.rId === undefined ? undefined : byId.get(s.rId);
    // Chart sheets and dialog sheets have other relationship types: they hold no rows.
    if (!rel || rel.TargetMode === 'External' || !(rel.Type ?? '').endsWith('/worksheet')) continue;
    const entry = archive.entry(resolveTarget(rel.Target));
    if (!entry) throw notAWorkbook(`sheet "${s.name ?? ''}" points to a missing part ${rel.Target}`);
    sheets.push({ name: s.name ?? `Sheet${s.id}`, id: String(s.id), entry });
  }
  return {
    sheets,
    styles: archive.entry(styles ? resolveTarget(styles.Target) : 'xl/styles.xml'),
    sharedStrings: archive.entry(strings ? resolveTarget(strings.Target) : 'xl/sharedStrings.xml'),
  };
}

/**
 * Shared strings and styles, loaded once for both sheets (when the first sheet is read) and
 * released when both are done.
 */
class WorkbookContext {
  private loading: Promise<void> | null = null;

  /** @param streams How many sheet streams will use it (released after the last). */
  constructor(
    private readonly input: string | Buffer,
    private readonly reader: StreamingWorkbook,
    private readonly parts: WorkbookParts,
    private readonly budget: InflateBudget,
    private readonly maxSharedStrings: number,
    private streams: number,
  ) {}

  /** The reader with shared strings and styles in place, and a fresh view of the file (each sheet is a pass of its own). */
  async acquire(): Promise<{ reader: StreamingWorkbook; archive: ZipArchive }> {
    const archive = await ZipArchive.open(this.input);
    try {
      this.loading ??= this.load(archive);
      await this.loading;
      return { reader: this.reader, archive };
    } catch (e) {
      await this.release(archive);
      throw e;
    }
  }

  async release(archive: ZipArchive): Promise<void> {
    await archive.close();
    // Every sheet done: drop the shared strings table, which can be large (one string per
    // distinct cell text), even if the caller keeps the tables object.
    if (--this.streams === 0) this.reader.sharedStrings = [];
  }

  private async load(archive: ZipArchive): Promise<void> {
    // The parts were found in the first pass; look them up again in this pass's directory.
    const styles = this.parts.styles && archive.entry(this.parts.styles.name);
    if (styles) await parsePart(archive, styles, this.budget, (stream) => this.reader._parseStyles(stream));
    const strings = this.parts.sharedStrings && archive.entry(this.parts.sharedStrings.name);
    this.reader.sharedStrings = [];
    if (strings) {
      // The shared strings are held in memory while the sheets are read: they get their own,
      // tighter cap, so that a hostile table cannot fill the heap within the overall budget.
      await parsePart(
        archive,
        strings,
        this.budget,
        async (stream) => {
          for await (const _ of this.reader._parseSharedStrings(stream)) {
            // 'cache' mode fills reader.sharedStrings and yields nothing.
          }
        },
        this.maxSharedStrings,
      );
    }
  }
}

// A title or notes row may precede the header; the header is the first of these rows that names
// at least two known fields.
const HEADER_SEARCH_ROWS = 10;

function headerText(v: XlsxValue): string {
  return v instanceof Date ? v.toISOString() : v === null ? '' : String(v);
}

function noHeader(sheet: string, dataset: HeaderDataset): FileFormatError {
  const examples = dataset === 'workloads' ? 'Tahun, Kegiatan, Volume' : 'NIP, Nama, Jenjang';
  return new FileFormatError(
    'unparseable_file',
    `sheet "${sheet}" has no header row with recognised columns`,
    `lembar "${sheet}" tidak memiliki baris judul kolom yang dikenal (misalnya ${examples})`,
  );
}

function tooManySheetRows(sheet: string): FileFormatError {
  return notAWorkbook(
    `sheet "${sheet}" has more than ${EXCEL_MAX_ROWS} rows, more than Excel allows`,
    undefined,
    `lembar "${sheet}" berisi lebih dari 1.048.576 baris, melebihi batas Excel`,
  );
}

/**
 * Records of one sheet, streamed: the header is found among the first rows (mapped through
 * `dataset`'s aliases), then every non-blank row becomes a record keyed by the mapped header.
 * `row` is the sheet's own row number.
 */
async function* sheetRecords(
  context: WorkbookContext,
  sheet: SheetPart,
  budget: InflateBudget,
  counter: { rows: number; max: number },
  dataset: HeaderDataset = 'agency',
): AsyncGenerator<ParsedRow<XlsxValue>> {
  const { reader, archive } = await context.acquire();
  try {
    let worksheet: StreamingWorksheet | undefined;
    for (const { value } of reader._parseWorksheet(archive.text(sheet.entry, budget), sheet.id)) worksheet = value;
    if (!worksheet) return;
    worksheet.name = sheet.name;
    let keys: string[] | null = null;
    let sawValue = false;
    let rowElements = 0;
    let previous = 0;
    for await (const row of worksheet) {
      // `r` is optional in the file format: a row without it follows the previous one.
      const r = Number.isFinite(row.number) ? row.number : previous + 1;
      previous = r;
      if (++rowElements > EXCEL_MAX_ROWS || r > EXCEL_MAX_ROWS) throw tooManySheetRows(sheet.name);
      if (!keys) {
        if (r > HEADER_SEARCH_ROWS) {
          // Past the rows that may hold the header: only a sheet without any value so far (an
          // empty table) may go on, in case it is blank to the end.
          if (sawValue || hasValue(row)) throw noHeader(sheet.name, dataset);
          continue;
        }
        const headers: string[] = [];
        row.eachCell((cell, col) => {
          while (headers.length < col - 1) headers.push('');
          headers[col - 1] = headerText(cellValue(cell.value));
        });
        sawValue ||= headers.some((h) => h.trim() !== '');
        const mapped = mapHeader(headers, dataset);
        if (mapped.known >= 2) keys = mapped.keys;
        continue;
      }
      const record: Record<string, XlsxValue> = {};
      let blank = true;
      const k = keys;
      row.eachCell((cell, col) => {
        const v = cellValue(cell.value);
        if (v === null || (typeof v === 'string' && v.trim() === '')) return;
        blank = false;
        record[k[col - 1] ?? `kolom ${col}`] = v;
      });
      if (blank) continue;
      if (++counter.rows > counter.max) throw tooManyRows(counter.max);
      yield { row: r, record };
    }
    if (!keys && sawValue) throw noHeader(sheet.name, dataset);
  } catch (e) {
    if (e instanceof FileFormatError) throw e;
    throw notAWorkbook(`sheet "${sheet.name}": ${(e as Error).message}`, e);
  } finally {
    await context.release(archive);
  }
}

function hasValue(row: ExcelJS.Row): boolean {
  let found = false;
  row.eachCell((cell) => {
    const v = cellValue(cell.value);
    if (v !== null && !(typeof v === 'string' && v.trim() === '')) found = true;
  });
  return found;
}

async function* none(): AsyncGenerator<never> {}

/**
 * Reads an agency workbook (exchange-format-v1.md § xlsx transport). Officers come from the sheet
 * named `pejabat` (any case) or else the first sheet not named `formasi` or `beban_kerja`;
 * formations from `formasi`; workload (needs-planning-v1.md) from `beban_kerja` (any case, `_` or
 * a space), its header mapped through the workload aliases.
 * Cell values keep their type: real date cells are `Date` (UTC midnight), numbers stay numbers, so
 * the core can tell a NIP typed as a number (digits lost) from one typed as text. `row` is the
 * sheet's own row number.
 *
 * The workbook's directory and sheet list are read before this resolves; the rows of each sheet
 * are then streamed (ExcelJS's streaming reader on one part at a time), so memory stays bounded
 * whatever the number of rows — apart from the shared strings table, which a workbook needs in
 * full to decode its cells and which is capped. Every part is inflated under a budget
 * (`maxInflatedBytes`, a compression-ratio limit, the sizes the ZIP directory declares), so a
 * "zip bomb" fails with `payload_too_large` or `unparseable_file` instead of exhausting memory.
 *
 * `input` is the workbook's path, or its bytes already in memory (a downloaded file kept in
 * memory: no temporary file).
 *
 * @example
 * const t = await parseXlsx('data.xlsx', { maxRows: 200_000 });
 * for await (const { row, record } of t.officers) console.log(row, record.nip);
 * for await (const { row, record } of t.formations) console.log(row, record.tahun);
 *
 * @throws FileFormatError `unparseable_file` (not a workbook, damaged, no header),
 *   `payload_too_large` (file size, rows, inflated size) — here or while iterating.
 */
export async function parseXlsx(input: string | Buffer, opts: XlsxParseLimits = {}): Promise<XlsxTables> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxRows = opts.maxRows ?? DEFAULT_MAX_ROWS;
  const { size } = Buffer.isBuffer(input)
    ? { size: input.length }
    : await stat(input).catch((e: unknown) => {
        throw notAWorkbook(`cannot open the file: ${(e as Error).message}`, e);
      });
  if (size > maxBytes) throw tooManyBytes(maxBytes);
  const budget: InflateBudget = {
    used: 0,
    max: opts.maxInflatedBytes ?? Math.max(64 * 1024 * 1024, maxRows * 4096),
  };
  const reader = newStreamingWorkbook();
  const archive = await ZipArchive.open(input);
  let parts: WorkbookParts;
  try {
    parts = await listParts(archive, reader, budget);
  } finally {
    await archive.close();
  }
  const { sheets } = parts;
  // Sheet names compared without case, and `beban kerja` like `beban_kerja`.
  const byName = (name: string) =>
    sheets.find(
      (s) =>
        s.name
          .trim()
          .toLowerCase()
          .replace(/[\s_]+/g, '_') === name,
    );
  const only = opts.onlyWorkloads === true;
  const formationSheet = only ? null : (byName('formasi') ?? null);
  const workloadSheet = byName('beban_kerja') ?? (only ? (sheets[0] ?? null) : null);
  const officerSheet = only
    ? null
    : (byName('pejabat') ?? sheets.find((s) => s !== formationSheet && s !== workloadSheet) ?? null);
  // Shared strings: an eighth of the overall budget (512 bytes per allowed record), at least 16 MiB.
  const streams = [officerSheet, formationSheet, workloadSheet].filter(Boolean).length;
  const context = new WorkbookContext(
    input,
    reader,
    parts,
    budget,
    Math.max(16 * 1024 * 1024, budget.max / 8),
    streams,
  );
  // Rows are counted over every sheet: the limit is per snapshot.
  const counter = { rows: 0, max: maxRows };
  return {
    officers: officerSheet ? sheetRecords(context, officerSheet, budget, counter) : none(),
    formations: formationSheet ? sheetRecords(context, formationSheet, budget, counter) : none(),
    workloads: workloadSheet ? sheetRecords(context, workloadSheet, budget, counter, 'workloads') : none(),
    sheets: {
      officers: officerSheet?.name ?? null,
      formations: formationSheet?.name ?? null,
      workloads: workloadSheet?.name ?? null,
    },
  };
}

import { stat } from 'node:fs/promises';
import ExcelJS from 'exceljs';
import {
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_ROWS,
  FileFormatError,
  tooManyBytes,
  tooManyRows,
  type ParseLimits,
  type ParsedRow,
} from './file-format-error.ts';
import { mapHeader } from './header-aliases.ts';

/** Cell values as the core receives them: text, numbers and dates kept as they were typed. */
export type XlsxValue = string | number | Date | null;

/** The two tables of an agency workbook. */
export interface XlsxTables {
  /** Sheet `pejabat`, or the first sheet that is not `formasi`. */
  officers: AsyncIterable<ParsedRow<XlsxValue>>;
  /** Sheet `formasi` (empty when the workbook has none). */
  formations: AsyncIterable<ParsedRow<XlsxValue>>;
  /** Names of the sheets used: for messages. */
  sheets: { officers: string | null; formations: string | null };
}

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

function rowValues(row: ExcelJS.Row): XlsxValue[] {
  const out: XlsxValue[] = [];
  // exceljs rows are 1-based; `cellCount` spans up to the last non-empty cell.
  for (let c = 1; c <= row.cellCount; c++) out.push(cellValue(row.getCell(c).value));
  return out;
}

// A title or notes row may precede the header; the header is the first of these rows that names
// at least two known fields.
const HEADER_SEARCH_ROWS = 10;

function* sheetRows(sheet: ExcelJS.Worksheet, counter: { rows: number; max: number }): Generator<ParsedRow<XlsxValue>> {
  let keys: string[] | null = null;
  const last = sheet.actualRowCount === 0 ? 0 : sheet.rowCount;
  let r = 1;
  for (; r <= Math.min(last, HEADER_SEARCH_ROWS); r++) {
    const headers = rowValues(sheet.getRow(r)).map((v) =>
      v instanceof Date ? v.toISOString() : v === null ? '' : String(v),
    );
    const mapped = mapHeader(headers);
    if (mapped.known >= 2) {
      keys = mapped.keys;
      break;
    }
  }
  if (!keys) {
    if (last === 0) return;
    throw new FileFormatError(
      'unparseable_file',
      `sheet "${sheet.name}" has no header row with recognised columns`,
      `lembar "${sheet.name}" tidak memiliki baris judul kolom yang dikenal (misalnya NIP, Nama, Jenjang)`,
    );
  }
  for (r++; r <= last; r++) {
    const values = rowValues(sheet.getRow(r));
    const record: Record<string, XlsxValue> = {};
    let blank = true;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v === null || (typeof v === 'string' && v.trim() === '')) continue;
      blank = false;
      record[keys[i] ?? `kolom ${i + 1}`] = v;
    }
    if (blank) continue;
    if (++counter.rows > counter.max) throw tooManyRows(counter.max);
    yield { row: r, record };
  }
}

async function* sheetStream(
  sheet: ExcelJS.Worksheet | null,
  counter: { rows: number; max: number },
): AsyncGenerator<ParsedRow<XlsxValue>> {
  if (sheet) yield* sheetRows(sheet, counter);
}

/**
 * Reads an agency workbook (exchange-format-v1.md § xlsx transport). Officers come from the sheet
 * named `pejabat` (any case) or else the first sheet not named `formasi`; formations from `formasi`.
 * Cell values keep their type: real date cells are `Date` (UTC midnight), numbers stay numbers, so
 * the core can tell a NIP typed as a number (digits lost) from one typed as text. `row` is the
 * sheet's own row number.
 *
 * The workbook is read whole (the ZIP container needs random access); the file size is checked
 * against `maxBytes` before reading.
 *
 * @throws FileFormatError `unparseable_file` (not a workbook, no header), `payload_too_large`.
 */
export async function parseXlsx(filePath: string, opts: ParseLimits = {}): Promise<XlsxTables> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const { size } = await stat(filePath);
  if (size > maxBytes) throw tooManyBytes(maxBytes);
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.readFile(filePath);
  } catch (e) {
    throw new FileFormatError(
      'unparseable_file',
      `not a readable XLSX workbook: ${(e as Error).message}`,
      'berkas bukan buku kerja Excel (XLSX) yang dapat dibaca',
      { cause: e },
    );
  }
  const sheets = workbook.worksheets;
  const byName = (name: string) => sheets.find((s) => s.name.trim().toLowerCase() === name);
  const formationSheet = byName('formasi') ?? null;
  const officerSheet = byName('pejabat') ?? sheets.find((s) => s !== formationSheet) ?? null;
  // Rows are counted over both sheets: the limit is per snapshot.
  const counter = { rows: 0, max: opts.maxRows ?? DEFAULT_MAX_ROWS };
  return {
    officers: sheetStream(officerSheet, counter),
    formations: sheetStream(formationSheet, counter),
    sheets: { officers: officerSheet?.name ?? null, formations: formationSheet?.name ?? null },
  };
}

import { Readable } from 'node:stream';
import Papa from 'papaparse';
import { createDecoder, detectEncoding, type TextEncoding } from './encoding.ts';
import {
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_ROWS,
  FileFormatError,
  tooManyBytes,
  tooManyRows,
  type ParseLimits,
  type ParsedRow,
} from './file-format-error.ts';
import { datasetOfHeader, mapHeader, type HeaderDataset } from './header-aliases.ts';

/** What the CSV parser found out about a file before its first record. */
export interface CsvInfo {
  encoding: TextEncoding;
  delimiter: ',' | ';' | '\t';
  /** The header as written. */
  headers: string[];
  /** Record keys: spec field names for known headers, the header's own text otherwise. */
  keys: string[];
  /** Whose aliases mapped the header: officers/formations (`agency`) or workload. */
  dataset: HeaderDataset;
}

export interface CsvOptions extends ParseLimits {
  /** Called once with the detected encoding, separator and header, before the first record. */
  onHeader?: (info: CsvInfo) => void;
  /**
   * Which alias table maps the header: `agency` (officers, formations), `workloads`, or `auto`
   * (the default): `workloads` when the header looks like one ({@link datasetOfHeader}).
   */
  dataset?: HeaderDataset | 'auto';
}

/** What `Papa.Parser#parse` returns (its typings say `any`). */
interface PapaResult {
  data: string[][];
  errors: { row: number; message: string }[];
  meta: { cursor: number };
}

// A row's text may not exceed this: it bounds memory on a runaway quoted field.
const MAX_ROW_CHARS = 4 * 1024 * 1024;

// Enough to see the header line and a good sample of names for encoding detection.
const SNIFF_BYTES = 64 * 1024;

/** `,`, `;` or tab: whichever occurs most outside quotes in the header line (`,` on a tie). */
export function detectDelimiter(text: string): CsvInfo['delimiter'] {
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '\n' || c === '\r')) break;
    else if (!quoted && (c === ',' || c === ';' || c === '\t')) counts[c]++;
  }
  if (counts[';'] > counts[','] && counts[';'] >= counts['\t']) return ';';
  if (counts['\t'] > counts[','] && counts['\t'] > counts[';']) return '\t';
  return ',';
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new FileFormatError('unparseable_file', 'CSV input yielded a non-byte chunk', 'isi berkas bukan data byte');
}

/**
 * Streams the records of an agency CSV file (exchange-format-v1.md § csv transport): encoding
 * (UTF-8, UTF-8 with BOM, Windows-1252) and separator (`,` or `;`) detected, header mapped to
 * field names through the spec's aliases, values left as written (the core trims and checks them).
 * `row` is the spreadsheet row number: header = 1, first record = 2. Blank rows are skipped (but
 * counted in the numbering). Cells beyond the header become `kolom N` fields.
 *
 * @throws FileFormatError `unparseable_file` (broken quoting, no recognisable header) or
 *   `payload_too_large` (over `maxBytes` / `maxRows`), possibly after some rows were yielded:
 *   callers must then discard the whole snapshot.
 */
export async function* parseCsv(
  input: Readable | AsyncIterable<Buffer | Uint8Array | string>,
  opts: CsvOptions = {},
): AsyncGenerator<ParsedRow<string>> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxRows = opts.maxRows ?? DEFAULT_MAX_ROWS;
  const source = (input as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  let bytes = 0;
  const count = (b: Buffer): Buffer => {
    bytes += b.length;
    if (bytes > maxBytes) throw tooManyBytes(maxBytes);
    return b;
  };

  // Sniff the encoding from the first bytes.
  const head: Buffer[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < SNIFF_BYTES) {
    const next = await source.next();
    if (next.done) {
      ended = true;
      break;
    }
    const b = count(toBuffer(next.value));
    head.push(b);
    headLength += b.length;
  }
  const sample = Buffer.concat(head);
  const encoding = detectEncoding(sample, ended);
  const decoder = createDecoder(encoding);
  let firstText = decoder.write(sample);
  let delimiter = detectDelimiter(firstText);
  // Excel writes a `sep=;` line before the header when asked to: it names the separator and is
  // not a row of data (but it is a row in the spreadsheet's numbering).
  let row = 0;
  const sep = /^sep=([,;\t])\r?\n/i.exec(firstText);
  if (sep) {
    delimiter = sep[1] as CsvInfo['delimiter'];
    firstText = firstText.slice(sep[0].length);
    row = 1;
  }

  async function* text(): AsyncGenerator<string> {
    if (firstText) yield firstText;
    if (!ended) {
      for (let next = await source.next(); !next.done; next = await source.next()) {
        const s = decoder.write(count(toBuffer(next.value)));
        if (s) yield s;
      }
    }
    const rest = decoder.end();
    if (rest) yield rest;
  }

  // Papa Parse's core parser (RFC 4180 quoting, `""` inside quotes) over the decoded text, one
  // chunk at a time: each parse stops before the last, possibly incomplete, row, which is carried
  // into the next. Rows end at `\n` (a trailing `\r` is dropped, so CRLF files read the same) or at
  // `\r` alone when the file has no `\n` at all (old Mac exports).
  const newline = /\n/.test(firstText) || !/\r/.test(firstText) ? '\n' : '\r';
  const parser = new Papa.Parser({ delimiter, newline, quoteChar: '"' });
  const stripCr = newline === '\n';

  let keys: string[] | null = null;
  let records = 0;
  /** Yields the records of parsed rows; `null` for the header and blank rows. */
  const toRecord = (cells: string[]): ParsedRow<string> | null => {
    row++;
    if (stripCr) {
      const last = cells.length - 1;
      const v = cells[last]!;
      if (v.endsWith('\r')) cells[last] = v.slice(0, -1);
    }
    if (!keys) {
      const dataset = opts.dataset === undefined || opts.dataset === 'auto' ? datasetOfHeader(cells) : opts.dataset;
      const mapped = mapHeader(cells, dataset);
      if (mapped.known === 0) {
        throw new FileFormatError(
          'unparseable_file',
          `no recognised column in the header row (separator "${delimiter}", encoding ${encoding})`,
          `baris pertama bukan judul kolom yang dikenal (misalnya ${dataset === 'workloads' ? 'Tahun, Kegiatan, Volume' : 'NIP, Nama, Jenjang'}); periksa pemisah kolom dan baris judul`,
        );
      }
      keys = mapped.keys;
      opts.onHeader?.({ encoding, delimiter, headers: cells, keys, dataset });
      return null;
    }
    let blank = true;
    const record: Record<string, string> = {};
    for (let i = 0; i < cells.length; i++) {
      const v = cells[i]!;
      if (v.trim() === '') {
        if (i < keys.length) record[keys[i]!] = v;
        continue;
      }
      blank = false;
      record[keys[i] ?? `kolom ${i + 1}`] = v;
    }
    if (blank) return null;
    if (++records > maxRows) throw tooManyRows(maxRows);
    return { row, record };
  };
  const brokenQuoting = (at: number, why: string) =>
    new FileFormatError(
      'unparseable_file',
      `CSV error near row ${at}: ${why}`,
      `berkas CSV rusak di sekitar baris ${at} (misalnya tanda kutip yang tidak ditutup)`,
    );

  /** The records of parsed rows, up to `error`'s row (thrown there). */
  function* recordsOf(parsed: PapaResult, error: PapaResult['errors'][number] | undefined) {
    for (let i = 0; i < parsed.data.length; i++) {
      if (error?.row === i) throw brokenQuoting(row + 1, error.message);
      const r = toRecord(parsed.data[i]!);
      if (r) yield r;
    }
    if (error) throw brokenQuoting(row + 1, error.message);
  }

  let pending = '';
  try {
    for await (const chunk of text()) {
      pending += chunk;
      const parsed = parser.parse(pending, 0, true) as PapaResult;
      // Errors in the carried, incomplete row are not errors yet: it is parsed again whole.
      yield* recordsOf(
        parsed,
        parsed.errors.find((e) => e.row < parsed.data.length),
      );
      pending = pending.slice(parsed.meta.cursor);
      // One row may not exceed this (a quote never closed would otherwise hold the whole file).
      if (pending.length > MAX_ROW_CHARS) {
        throw brokenQuoting(row + 1, `a row longer than ${MAX_ROW_CHARS} characters (an unclosed quote?)`);
      }
    }
    const parsed = parser.parse(pending, 0, false) as PapaResult;
    yield* recordsOf(parsed, parsed.errors[0]);
    if (!keys) {
      throw new FileFormatError('unparseable_file', 'the file is empty', 'berkas kosong (tidak ada baris judul)');
    }
  } finally {
    if (input instanceof Readable) input.destroy();
  }
}

import { readFile, stat } from 'node:fs/promises';
import {
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_ROWS,
  FileFormatError,
  tooManyBytes,
  tooManyRows,
  type ParseLimits,
  type ParsedRow,
} from './file-format-error.ts';
import { datasetOfHeader, fieldForHeader, type HeaderDataset } from './header-aliases.ts';

/** Maps an object's keys through `dataset`'s header aliases (`NIP Baru` → `nip`); spec names pass through. */
function mapKeys(item: unknown, dataset: HeaderDataset): Record<string, unknown> {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    // Not an object: kept as one unknown field so the core rejects it with its reasons.
    return { nilai: JSON.stringify(item) };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) {
    const field = fieldForHeader(k, dataset);
    out[field && !(field in out) ? field : k] = v;
  }
  return out;
}

/** {@link parseJsonText} options: limits, and which alias table maps the keys. */
export interface JsonOptions extends ParseLimits {
  /**
   * `agency` (officers, formations), `workloads`, or `auto` (the default): `workloads` when the
   * first record's keys look like a workload table (`datasetOfHeader`), as a CSV header is told apart.
   */
  dataset?: HeaderDataset | 'auto';
}

/** The alias table of a document's records: the one asked for, or told from its first object. */
function datasetOf(items: readonly unknown[], asked: JsonOptions['dataset']): HeaderDataset {
  if (asked !== undefined && asked !== 'auto') return asked;
  const first = items[0];
  return first !== null && typeof first === 'object' && !Array.isArray(first)
    ? datasetOfHeader(Object.keys(first))
    : 'agency';
}

/**
 * Records of a JSON document: `{ "data": [...] }` or a bare array. `row` is the item's 1-based
 * number. Values keep their JSON types (a NIP sent as a number is rejected by the core).
 * The document is parsed whole after checking `maxBytes`.
 *
 * @throws FileFormatError `unparseable_file` (not JSON, wrong shape), `payload_too_large`.
 */
export function parseJsonText(text: string, opts: JsonOptions = {}): ParsedRow[] {
  const maxRows = opts.maxRows ?? DEFAULT_MAX_ROWS;
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new FileFormatError(
      'unparseable_file',
      `not valid JSON: ${(e as Error).message}`,
      'berkas bukan JSON yang sah',
      { cause: e },
    );
  }
  const items = Array.isArray(doc)
    ? doc
    : doc && typeof doc === 'object' && Array.isArray((doc as { data?: unknown }).data)
      ? (doc as { data: unknown[] }).data
      : null;
  if (!items) {
    throw new FileFormatError(
      'unparseable_file',
      'JSON must be an array of records or an object { "data": [...] }',
      'JSON harus berupa daftar data atau objek { "data": [...] }',
    );
  }
  if (items.length > maxRows) throw tooManyRows(maxRows);
  const dataset = datasetOf(items, opts.dataset);
  return items.map((item, i) => ({ row: i + 1, record: mapKeys(item, dataset) }));
}

/** {@link parseJsonText} for a file (its path, or its bytes in memory), with the size checked first. */
export async function parseJson(input: string | Buffer, opts: JsonOptions = {}): Promise<ParsedRow[]> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const size = Buffer.isBuffer(input) ? input.length : (await stat(input)).size;
  if (size > maxBytes) throw tooManyBytes(maxBytes);
  return parseJsonText(Buffer.isBuffer(input) ? input.toString('utf8') : await readFile(input, 'utf8'), opts);
}

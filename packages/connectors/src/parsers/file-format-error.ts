/** Codes for a file that cannot be used at all (exchange-format-v1.md § Limits, R9). */
export type FileFormatErrorCode = 'unparseable_file' | 'payload_too_large';

/**
 * A whole file is unusable: not CSV/XLSX/JSON, broken, or over the limits. Bad rows are never
 * this error: they are data, rejected record by record by `@pksync/core`.
 */
export class FileFormatError extends Error {
  override readonly name = 'FileFormatError';
  /**
   * @param code `unparseable_file` or `payload_too_large`.
   * @param message What is wrong, in English (for logs).
   * @param userMessage The same in Bahasa Indonesia, for provincial data officers.
   */
  constructor(
    readonly code: FileFormatErrorCode,
    message: string,
    readonly userMessage: string = message,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Default limits of exchange-format-v1.md § Limits. */
export const DEFAULT_MAX_BYTES = 50 * 1024 * 1024;
export const DEFAULT_MAX_ROWS = 200_000;

/** Limits every parser takes; each defaults to the spec's. */
export interface ParseLimits {
  /** Bytes of the file. Default 50 MB. */
  maxBytes?: number;
  /** Records (non-empty data rows). Default 200,000. */
  maxRows?: number;
}

/** One record of a file: `row` is the spreadsheet row (header = row 1) or the 1-based JSON item number. */
export interface ParsedRow<V = unknown> {
  row: number;
  record: Record<string, V>;
}

export function tooManyBytes(maxBytes: number): FileFormatError {
  return new FileFormatError(
    'payload_too_large',
    `file is larger than the limit of ${maxBytes} bytes`,
    `berkas lebih besar dari batas ${maxBytes} byte`,
  );
}

export function tooManyRows(maxRows: number): FileFormatError {
  return new FileFormatError(
    'payload_too_large',
    `file has more than the limit of ${maxRows} records`,
    `berkas berisi lebih dari ${maxRows} baris data`,
  );
}

/**
 * A file with a header (or an empty table) and no record. An upload refuses it (it would empty
 * the source's part of the register), so `POST /check` and `pksync check` refuse it too.
 */
export function noDataRows(): FileFormatError {
  return new FileFormatError('unparseable_file', 'the file has no data rows', 'berkas tidak berisi baris data');
}

import { FileFormatError, noDataRows, parseAgencyFile, type ParsedRow } from '@pksync/connectors';
import { ApiError } from '../errors.ts';

/** What to do with each record read (all optional: an upload only counts them). */
export interface RecordVisitor {
  officer?(parsed: ParsedRow): void;
  formation?(parsed: ParsedRow): void;
  /** A workload row (needs-planning-v1.md): a `beban_kerja` sheet, or a workload CSV/JSON. */
  workload?(parsed: ParsedRow): void;
}

/**
 * Reads a received agency file through, as the worker will, handing each record to `visit`, and
 * returns how many records it holds. The upload and `POST /check` answer the same bytes alike:
 * a file over the limits is 413 `payload_too_large`, a broken file or one without data rows 422
 * `unparseable_file`, with the parser's words.
 */
export async function readAgencyFile(
  filePath: string,
  /** The limits, and `table: 'workloads'` to read the file as a workload table whatever its header. */
  limits: { maxBytes: number; maxRows: number; table?: 'any' | 'workloads' },
  visit: RecordVisitor = {},
): Promise<number> {
  try {
    const parsed = await parseAgencyFile(filePath, limits);
    let rows = 0;
    for await (const r of parsed.officers) {
      visit.officer?.(r);
      rows++;
    }
    for await (const r of parsed.formations) {
      visit.formation?.(r);
      rows++;
    }
    for await (const r of parsed.workloads) {
      visit.workload?.(r);
      rows++;
    }
    if (rows === 0) throw noDataRows();
    return rows;
  } catch (e) {
    if (e instanceof FileFormatError) {
      if (e.code === 'payload_too_large')
        throw new ApiError(413, 'payload_too_large', `Berkas ditolak: ${e.userMessage}.`);
      throw new ApiError(422, 'unparseable_file', `Berkas tidak dapat dibaca: ${e.userMessage}.`);
    }
    throw e;
  }
}

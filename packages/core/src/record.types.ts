import type { FindingCode, RejectionCode, Severity } from './findings.ts';

/** One reason a record was rejected: the rule code, the offending field, and a detail in Bahasa Indonesia. */
export interface RejectionIssue {
  code: RejectionCode;
  /** Exchange-format field name (`nip`, `tmt_jabatan`). */
  field: string;
  /** Why, in Bahasa Indonesia (`sel NIP berisi angka …`). */
  detail?: string;
}

/**
 * A record that did not enter the register (R6), kept with its reasons and where it came from.
 * `codes` and `fields` are de-duplicated summaries of `issues`.
 */
export interface Rejection {
  /** File row (header = row 1) or API position. */
  row: number;
  nip?: string;
  codes: RejectionCode[];
  /** Offending field names. */
  fields: string[];
  /** The record as given (values as text), for keeping. */
  raw: Record<string, string>;
  /** Each code with its field and detail. */
  issues: RejectionIssue[];
}

/** A data-quality finding raised while normalising one record or one snapshot. */
export interface RecordFinding {
  code: FindingCode;
  severity: Severity;
  row?: number;
  nip?: string;
  details?: Record<string, unknown>;
}

/** Context for normalising one record: the source's region, the run's `as_of`, and where the record sits. */
export interface RecordContext {
  /** The source's region code (`16` or `16.71`; `1671` is accepted). */
  sourceRegion: string;
  /** The run's `as_of` date, `YYYY-MM-DD`. */
  asOf: string;
  /** File row (header = row 1) or API position. */
  position: number;
}

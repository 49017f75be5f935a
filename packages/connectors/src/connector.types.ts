import type { Readable } from 'node:stream';
import type { SourceDefinition } from '@pksync/core';

export { TRANSPORTS, type SourceDefinition, type Transport } from '@pksync/core';

/** One record of a snapshot. `position` is 0-based for `api`, the 1-based file row otherwise. */
export interface FetchedItem {
  /** Which dataset: officers, formations, or workload (needs-planning-v1.md, optional). */
  kind: 'officer' | 'formation' | 'workload';
  position: number;
  record: Record<string, unknown>;
}

/** Snapshot limits (exchange-format-v1.md § Limits) and retry policy of one fetch. */
export interface FetchLimits {
  /** Bytes over the whole snapshot (all pages / both files). Default 50 MB. */
  maxBytes: number;
  /** Records (officers + formations + workloads) in the snapshot. Default 200,000. */
  maxRows: number;
  /** Whole-fetch deadline in ms (overridden by `source.timeoutS`). Default 60 s. */
  fetchTimeoutMs: number;
  /** Longest wait for response headers, then between two body chunks, in ms. Default 30 s. */
  requestTimeoutMs: number;
  /** Attempts per HTTP request, first try included. Default 5. */
  attempts: number;
  /** First back-off delay; doubled each retry, with full jitter. Default 500 ms. */
  backoffBaseMs: number;
  /** Upper bound of one back-off delay. Default 10 s. */
  backoffMaxMs: number;
  /** Longest `Retry-After` honoured; a longer one fails the fetch (retryable). Default 60 s. */
  maxRetryAfterMs: number;
  /** Records per API page requested with `limit=`. Default 500. */
  pageSize: number;
}

export const DEFAULT_LIMITS: FetchLimits = Object.freeze({
  maxBytes: 50 * 1024 * 1024,
  maxRows: 200_000,
  fetchTimeoutMs: 60_000,
  requestTimeoutMs: 30_000,
  attempts: 5,
  backoffBaseMs: 500,
  backoffMaxMs: 10_000,
  maxRetryAfterMs: 60_000,
  pageSize: 500,
});

/** The pino-like logger a connector may use. Tokens are never passed to it. */
export interface ConnectorLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface FetchContext {
  /** Cancels the fetch (job shutdown). The abort reason is rethrown as is. */
  signal: AbortSignal;
  /** Run date `YYYY-MM-DD`; the API formation and workload year is taken from it. */
  asOf: string;
  /**
   * `api`: also ask the formations of every year from this one to `asOf`'s (R17 checks an
   * appointment against its year's formation; `config.needs.formationStartYear`). A past year
   * answering 404 has none. Default (or a year after `asOf`'s): only `asOf`'s year.
   */
  formationFromYear?: number;
  limits?: Partial<FetchLimits>;
  log?: ConnectorLogger;
  /**
   * Called once, after the whole snapshot has been received (every file / every API page) and
   * before the first record is parsed, with the sha256 of its raw bytes. Return true when that
   * hash is the one already reconciled: the fetch then ends without parsing or yielding anything
   * (the repeat-run fast path). Not called for a fetch that fails.
   */
  beforeParse?: (raw: RawSnapshotInfo) => boolean | Promise<boolean>;
  /**
   * The reconciled snapshot's raw hash and the HTTP validators its files came with
   * (`RawSnapshotInfo.validators`): `csv`/`xlsx` then send conditional GETs, and when every file
   * answers 304 `beforeParse` gets `{ sha256: contentHash, notModified: true }`. Leave it out to
   * force a full download (R8: a source with a held removal).
   */
  conditional?: { contentHash: string; validators: Record<string, Validators> };
}

/**
 * A transport's reader. `fetch` yields one whole snapshot, or throws a {@link FetchError}
 * (or the signal's abort reason) part-way through.
 *
 * R9 invariant for callers: records yielded before a throw belong to a failed snapshot and must
 * be discarded. Stage records and use them only after the iterable has completed.
 */
export interface Connector {
  fetch(source: SourceDefinition, ctx: FetchContext): AsyncIterable<FetchedItem>;
  /**
   * Asks cheaply, without a fetch job, whether the snapshot is still the reconciled one: `csv`
   * and `xlsx` with one conditional GET per file (true only when every file answers 304 Not
   * Modified to the validators it came with; false when one has changed or has no validators),
   * `upload` by the stored upload's hash, `api` by conditional GETs of its pages when they came
   * with ETags, else by downloading them and comparing their raw hash — without a job, parsing
   * or staging. Throws a {@link FetchError}
   * when the source cannot be asked (the caller then fetches it as usual).
   */
  probe?(source: SourceDefinition, ctx: ProbeContext): Promise<boolean>;
}

/** What {@link Connector.probe} compares with: the reconciled snapshot's raw hash and validators. */
export interface ProbeContext {
  signal: AbortSignal;
  /** The run's `as_of` (`YYYY-MM-DD`): the `api` probe asks for that year's formations. Without it, `api` answers false. */
  asOf?: string;
  /** As {@link FetchContext.formationFromYear}: the `api` probe asks the same pages as the fetch. */
  formationFromYear?: number;
  contentHash: string;
  validators: Record<string, Validators>;
  limits?: Partial<FetchLimits>;
  log?: ConnectorLogger;
}

/** An operator upload as the `upload` connector reads it (kept in PostgreSQL by `@pksync/db`). */
export interface StoredUpload {
  id: string;
  sourceId: string;
  filename: string;
  sha256: string;
  sizeBytes: number;
  uploadedBy: string;
  uploadedAt: Date;
  /** The file's bytes, streamed (never held whole in memory). */
  open(): Readable | AsyncIterable<Buffer>;
}

/** Where the `upload` connector finds a source's latest upload. */
export interface UploadReader {
  latestUpload(sourceId: string): Promise<StoredUpload | null>;
}

export interface ConnectorDeps {
  /** Required for the `upload` transport. */
  uploads?: UploadReader;
}

/** The effective limits of one fetch: defaults < context < source row. */
export function resolveLimits(source: SourceDefinition, ctx: Pick<FetchContext, 'limits'>): FetchLimits {
  const l: FetchLimits = { ...DEFAULT_LIMITS, ...definedOnly(ctx.limits ?? {}) };
  if (source.maxBytes != null) l.maxBytes = source.maxBytes;
  if (source.maxRows != null) l.maxRows = source.maxRows;
  if (source.timeoutS != null) l.fetchTimeoutMs = source.timeoutS * 1000;
  return l;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Fetch limits from `@pksync/config`'s `config.limits` (MAX_SNAPSHOT_BYTES, MAX_SNAPSHOT_ROWS,
 * FETCH_TIMEOUT_S), for `ctx.limits`.
 *
 * @example connector.fetch(source, { signal, asOf, limits: fetchLimitsFromConfig(config.limits) })
 */
export function fetchLimitsFromConfig(l: {
  maxSnapshotBytes: number;
  maxSnapshotRows: number;
  fetchTimeoutMs: number;
}): Partial<FetchLimits> {
  return { maxBytes: l.maxSnapshotBytes, maxRows: l.maxSnapshotRows, fetchTimeoutMs: l.fetchTimeoutMs };
}

/** HTTP validators of one downloaded file, as the server sent them. */
export interface Validators {
  etag?: string;
  lastModified?: string;
  /** `api` pages: the cursor the page was asked with (none for the first page). */
  cursor?: string;
  /** `api` pages: the last officer page (its `next_cursor` was null). */
  last?: boolean;
  /**
   * `api` pages: the page answered 404 (an agency that sends no workload, no formations for a
   * past year). A probe asks it again without a condition: still 404 is "unchanged".
   */
  absent?: boolean;
}

/** The raw-bytes identity of a whole snapshot, known before any record is parsed. */
export interface RawSnapshotInfo {
  /** Hex sha256 over the snapshot's parts (see {@link combineRawParts}). */
  sha256: string;
  /** Bytes downloaded (or stored, for an upload) over all parts. */
  bytes: number;
  /** Validators per file label (`csv`/`xlsx`), to send back next time (`FetchContext.conditional`). */
  validators?: Record<string, Validators>;
  /**
   * True when every file answered 304 Not Modified to a conditional request: nothing was
   * downloaded and `sha256` is `FetchContext.conditional.contentHash`.
   */
  notModified?: boolean;
}

/** One downloaded part of a snapshot: a file, an API page, an upload. */
export interface RawPart {
  /**
   * What the part is (`officers`, `formations`, `workloads`, `officers#3`, `formations?year=2026`,
   * `workloads?year=2026`, `upload`); an API page that answered 404 is `<page> 404`, with no bytes.
   */
  label: string;
  sha256: string;
  bytes: number;
}

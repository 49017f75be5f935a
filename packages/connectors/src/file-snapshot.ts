import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FetchError } from './fetch-error.ts';
import { FileFormatError, parseAgencyFile, parseCsv } from './parsers/index.ts';
import type { FetchedItem } from './connector.types.ts';

/**
 * The one place that adapts the file parsers (`./parsers/`, CSV/XLSX/JSON bytes → rows) to
 * connector items: parser errors become {@link FetchError}s, rows are counted over the whole
 * snapshot.
 */
export interface RowBudget {
  rows: number;
  maxRows: number;
  maxBytes: number;
}

/** Runs the generator `body` with a fresh private temporary directory, removed when the generator ends (whatever happens). */
export async function* withTempDirGen<T>(body: (dir: string) => AsyncGenerator<T>): AsyncGenerator<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pksync-fetch-'));
  try {
    yield* body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A private temporary directory made only when first asked for (most fetches never need one). */
export interface LazyTempDir {
  path(): Promise<string>;
}

/** {@link withTempDirGen} with a {@link LazyTempDir}: removed at the end if it was ever made. */
export async function* withLazyTempDirGen<T>(body: (dir: LazyTempDir) => AsyncGenerator<T>): AsyncGenerator<T> {
  let made: Promise<string> | null = null;
  const dir: LazyTempDir = { path: () => (made ??= mkdtemp(path.join(tmpdir(), 'pksync-fetch-'))) };
  try {
    yield* body(dir);
  } finally {
    const d = made ? await (made as Promise<string>).catch(() => null) : null;
    if (d) await rm(d, { recursive: true, force: true });
  }
}

/** Downloaded bytes: a file, or a buffer in memory. */
export type FileData = { path: string } | { buffer: Buffer };

function countRow(budget: RowBudget): void {
  if (--budget.rows < 0) {
    throw new FetchError('payload_too_large', `snapshot exceeds the limit of ${budget.maxRows} records`, {
      retryable: false,
    });
  }
}

/** Converts parser failures into fetch failures (R9: the whole snapshot fails). */
export function asFetchError(e: unknown, what: string): unknown {
  if (e instanceof FileFormatError) {
    const code = e.code === 'payload_too_large' ? 'payload_too_large' : 'unparseable_file';
    return new FetchError(code, `${what}: ${e.message}`, { retryable: false, cause: e });
  }
  return e;
}

/**
 * Rows of one CSV file as items of `kind`; its header is mapped through that table's aliases
 * (the workload aliases for `workload`, exchange format v1's otherwise).
 */
export async function* csvFileItems(
  file: string | FileData,
  kind: FetchedItem['kind'],
  budget: RowBudget,
  what: string,
): AsyncGenerator<FetchedItem> {
  const input =
    typeof file === 'string'
      ? createReadStream(file)
      : 'path' in file
        ? createReadStream(file.path)
        : Readable.from([file.buffer]);
  try {
    for await (const { row, record } of parseCsv(input, {
      maxRows: budget.maxRows,
      maxBytes: budget.maxBytes,
      dataset: kind === 'workload' ? 'workloads' : 'agency',
    })) {
      countRow(budget);
      yield { kind, position: row, record };
    }
  } catch (e) {
    throw asFetchError(e, what);
  }
}

/** Officers, formations, then workloads of an agency file (CSV, XLSX or JSON, sniffed by the parser): a path, or downloaded bytes. */
export async function* agencyFileItems(
  file: string | FileData,
  budget: RowBudget,
  what: string,
): AsyncGenerator<FetchedItem> {
  try {
    const input = typeof file === 'string' ? file : 'path' in file ? file.path : file.buffer;
    const parsed = await parseAgencyFile(input, { maxRows: budget.maxRows, maxBytes: budget.maxBytes });
    for await (const { row, record } of parsed.officers) {
      countRow(budget);
      yield { kind: 'officer', position: row, record };
    }
    for await (const { row, record } of parsed.formations) {
      countRow(budget);
      yield { kind: 'formation', position: row, record };
    }
    for await (const { row, record } of parsed.workloads) {
      countRow(budget);
      yield { kind: 'workload', position: row, record };
    }
  } catch (e) {
    throw asFetchError(e, what);
  }
}

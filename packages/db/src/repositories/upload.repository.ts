import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

const CHUNK_BYTES = 1024 * 1024;

/** Metadata of a stored upload. */
export interface UploadInfo {
  id: string;
  sourceId: string;
  filename: string;
  contentType: string | null;
  sha256: string;
  sizeBytes: number;
  uploadedBy: string;
  uploadedAt: Date;
}

/** A stored upload whose bytes can be streamed (the `upload` connector's `StoredUpload`). */
export interface StoredUploadRecord extends UploadInfo {
  open(): Readable;
}

/** Thrown by {@link saveUpload} for a file over the limit; nothing is stored. */
export class UploadTooLargeError extends Error {
  readonly code = 'payload_too_large';
  constructor(readonly maxBytes: number) {
    super(`upload exceeds the limit of ${maxBytes} bytes`);
    this.name = 'UploadTooLargeError';
  }
}

function toInfo(r: {
  id: number;
  source_id: string;
  filename: string;
  content_type: string | null;
  sha256: string;
  size_bytes: number;
  uploaded_by: string;
  uploaded_at: Date;
}): UploadInfo {
  return {
    id: String(r.id),
    sourceId: r.source_id,
    filename: r.filename,
    contentType: r.content_type,
    sha256: r.sha256,
    sizeBytes: Number(r.size_bytes),
    uploadedBy: r.uploaded_by,
    uploadedAt: r.uploaded_at,
  };
}

/**
 * Stores an operator's file for `sourceId`, streaming it in 1 MiB chunks inside one transaction
 * while computing its sha256 and size. Over `maxBytes` the transaction is rolled back and
 * {@link UploadTooLargeError} thrown. The caller checks that the source exists and is an
 * `upload` source, and writes the audit log entry.
 */
export async function saveUpload(
  db: Kysely<Database>,
  input: {
    sourceId: string;
    filename: string;
    contentType?: string | null;
    uploadedBy: string;
    note?: string | null;
    content: Readable | AsyncIterable<Buffer | Uint8Array> | Iterable<Buffer | Uint8Array>;
    maxBytes: number;
  },
): Promise<UploadInfo> {
  return db.transaction().execute(async (trx) => {
    const { id } = await trx
      .insertInto('uploads')
      .values({
        source_id: input.sourceId,
        filename: input.filename,
        content_type: input.contentType ?? null,
        sha256: '',
        size_bytes: 0,
        uploaded_by: input.uploadedBy,
        note: input.note ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const hash = createHash('sha256');
    let size = 0;
    let seq = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    // Writes whole 1 MiB chunks (and, at the end, the rest): one chunk in memory at a time.
    const flush = async (final: boolean) => {
      while (pendingBytes >= CHUNK_BYTES || (final && pendingBytes > 0)) {
        const all = Buffer.concat(pending, pendingBytes);
        const data = all.subarray(0, Math.min(CHUNK_BYTES, all.length));
        const rest = all.subarray(data.length);
        pending = rest.length ? [rest] : [];
        pendingBytes = rest.length;
        await trx.insertInto('upload_chunks').values({ upload_id: id, seq: seq++, data }).execute();
      }
    };
    for await (const raw of input.content as AsyncIterable<Buffer | Uint8Array>) {
      const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
      size += chunk.length;
      if (size > input.maxBytes) throw new UploadTooLargeError(input.maxBytes);
      hash.update(chunk);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= CHUNK_BYTES) await flush(false);
    }
    await flush(true);
    const row = await trx
      .updateTable('uploads')
      .set({ sha256: hash.digest('hex'), size_bytes: size })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toInfo(row);
  });
}

/** The bytes of an upload, chunk by chunk (one chunk in memory at a time). */
function openUpload(db: Kysely<Database>, uploadId: string): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let seq = 0; ; seq++) {
      const row = await db
        .selectFrom('upload_chunks')
        .select('data')
        .where('upload_id', '=', Number(uploadId))
        .where('seq', '=', seq)
        .executeTakeFirst();
      if (!row) return;
      yield row.data;
    }
  }
  return Readable.from(chunks());
}

/** The newest upload of a source, or null. */
export async function latestUpload(db: Kysely<Database>, sourceId: string): Promise<StoredUploadRecord | null> {
  const row = await db
    .selectFrom('uploads')
    .selectAll()
    .where('source_id', '=', sourceId)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return null;
  const info = toInfo(row);
  return { ...info, open: () => openUpload(db, info.id) };
}

/**
 * An `UploadReader` for `@pksync/connectors` (`createConnector('upload', { uploads: uploadReader(db) })`).
 */
export function uploadReader(db: Kysely<Database>): {
  latestUpload(sourceId: string): Promise<StoredUploadRecord | null>;
} {
  return { latestUpload: (sourceId) => latestUpload(db, sourceId) };
}

import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { ApiError, badRequest } from '../errors.ts';

/** A received file, spooled to a private temporary directory. Call `cleanup()` when done. */
export interface ReceivedFile {
  path: string;
  filename: string;
  mimetype: string;
  size: number;
  fields: Record<string, string>;
  cleanup(): Promise<void>;
}

export const tooLarge = (max: number) =>
  new ApiError(413, 'payload_too_large', `Berkas melebihi batas ukuran ${max} byte.`);

/** Copies a stream to a file, failing with 413 as soon as it passes `maxBytes`. */
async function spool(source: Readable, file: string, maxBytes: number): Promise<number> {
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > maxBytes) cb(tooLarge(maxBytes));
      else cb(null, chunk);
    },
  });
  await pipeline(source, counter, createWriteStream(file, { mode: 0o600 }));
  return size;
}

/**
 * Receives one file: from `multipart/form-data` (field `file`, the browser's way) or as the raw
 * request body (`curl --data-binary @f.csv -H 'content-type: text/csv'`). The bytes go to a
 * temporary file, never whole into memory; over `maxBytes` it is 413 and nothing is kept.
 */
export async function receiveFile(req: FastifyRequest, maxBytes: number): Promise<ReceivedFile> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pksync-upload-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const target = path.join(dir, 'file');
  try {
    if (req.isMultipart()) {
      const fields: Record<string, string> = {};
      let received: { filename: string; mimetype: string; size: number } | null = null;
      for await (const part of req.parts({ limits: { fileSize: maxBytes, files: 1 } })) {
        if (part.type === 'file') {
          if (part.fieldname !== 'file' || received) {
            part.file.resume();
            throw badRequest('body.file', 'kirim tepat satu berkas pada kolom "file"');
          }
          const size = await spool(part.file, target, maxBytes);
          if (part.file.truncated) throw tooLarge(maxBytes);
          received = { filename: part.filename || 'upload', mimetype: part.mimetype, size };
        } else if (typeof part.value === 'string') {
          fields[part.fieldname] = part.value;
        }
      }
      if (!received) throw badRequest('body.file', 'tidak ada berkas pada kolom "file"');
      if (received.size === 0) throw badRequest('body.file', 'berkas kosong');
      return { path: target, ...received, fields, cleanup };
    }
    const body = req.body as Readable | undefined;
    if (!body || typeof (body as Readable).pipe !== 'function') {
      throw new ApiError(
        415,
        'unsupported_media_type',
        'Kirim berkas sebagai multipart/form-data (kolom "file") atau sebagai isi permintaan dengan Content-Type text/csv atau XLSX.',
      );
    }
    const size = await spool(body, target, maxBytes);
    if (size === 0) throw badRequest('body', 'berkas kosong');
    const name = /filename="?([^";]+)"?/i.exec(String(req.headers['content-disposition'] ?? ''))?.[1] ?? 'upload';
    return {
      path: target,
      filename: name,
      mimetype: String(req.headers['content-type'] ?? ''),
      size,
      fields: {},
      cleanup,
    };
  } catch (e) {
    await cleanup();
    if (e instanceof ApiError) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(maxBytes);
    if (code === 'FST_INVALID_MULTIPART_CONTENT_TYPE' || code === 'FST_PARTS_LIMIT' || code === 'FST_FILES_LIMIT') {
      throw badRequest('body', 'isi multipart tidak sah');
    }
    throw e;
  }
}

/** Raw body types accepted by the file routes (passed through as a stream, never buffered). */
export const RAW_FILE_TYPES = [
  'text/csv',
  'text/plain',
  'application/csv',
  'application/octet-stream',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.ms-excel',
];

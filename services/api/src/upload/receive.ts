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

/** The body ended before the file did: fewer bytes than Content-Length, or multipart without its closing boundary. */
export const truncatedBody = () =>
  new ApiError(
    400,
    'invalid_request',
    'body: isi permintaan terpotong: berakhir sebelum berkas selesai (kurang dari Content-Length atau tanpa batas penutup multipart)',
    true,
  );

/**
 * The body stopped coming before it was complete. A 400, not a 408, on purpose: a client that
 * declares more bytes than it sends is a malformed request, and clients retry a 408 by themselves.
 */
const stalled = (ms: number) =>
  new ApiError(
    400,
    'invalid_request',
    `body: isi permintaan terhenti: tidak ada data selama ${ms / 1000} detik sebelum berkas selesai (periksa Content-Length); kirim ulang berkas`,
    true,
  );

/** How long a file upload may send nothing before it is given up (400). */
export const DEFAULT_UPLOAD_IDLE_MS = 30_000;

interface BodyWatch {
  /** Aborted with the ApiError to answer: the body was cut off, or it stalled. */
  signal: AbortSignal;
  /** Bytes or a part arrived: the idle clock starts again. */
  touch(): void;
  stop(): void;
}

/**
 * Watches the request while its file is received: a client that ends the request before the
 * body is complete, or sends nothing for `idleMs`, aborts the receipt, so no request waits
 * forever on bytes that will never come (and its temporary directory is removed).
 */
function watchBody(req: FastifyRequest, idleMs: number): BodyWatch {
  const ac = new AbortController();
  const raw = req.raw;
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    if (timer) timer.refresh();
    else timer = setTimeout(() => ac.abort(stalled(idleMs)), idleMs);
  };
  // Cut off: ended before the declared length, or destroyed before its bytes were read (the
  // client closed its side: Node then aborts the request, whose 'close' may precede the parser's).
  const onClose = () => {
    if (!raw.complete || raw.readableAborted) ac.abort(truncatedBody());
  };
  raw.once('close', onClose);
  // Closed while the route was still authenticating: 'close' has already been emitted.
  if (raw.destroyed) onClose();
  touch();
  return {
    signal: ac.signal,
    touch,
    stop() {
      clearTimeout(timer);
      raw.off('close', onClose);
    },
  };
}

/** `p`, or the watch's reason as soon as it aborts (`p` may never settle: a part that never comes). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

/** The signs of a body cut short: busboy's "terminated early", a stream closed before its end, an aborted request. */
function isTruncation(e: unknown): boolean {
  const { code, message } = (e ?? {}) as { code?: unknown; message?: unknown };
  return (
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    code === 'ECONNRESET' ||
    (typeof message === 'string' && /terminated early|Unexpected end of (form|multipart)|^aborted$/.test(message))
  );
}

/** Copies a stream to a file, failing with 413 as soon as it passes `maxBytes`. */
async function spool(source: Readable, file: string, maxBytes: number, watch: BodyWatch): Promise<number> {
  // @fastify/multipart destroys a part cut off by the end of the body, sometimes before it is
  // handed over; a pipeline from a stream already destroyed would never settle.
  if (source.destroyed && !source.readableEnded) throw truncatedBody();
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      watch.touch();
      size += chunk.length;
      if (size > maxBytes) cb(tooLarge(maxBytes));
      else cb(null, chunk);
    },
  });
  await pipeline(source, counter, createWriteStream(file, { mode: 0o600 }), { signal: watch.signal });
  return size;
}

/**
 * Receives one file: from `multipart/form-data` (field `file`, the browser's way) or as the raw
 * request body (`curl --data-binary @f.csv -H 'content-type: text/csv'`). The bytes go to a
 * temporary file, never whole into memory; over `maxBytes` it is 413 and nothing is kept. A body
 * cut short (the request ends early, multipart without its closing boundary) is a prompt 400, a
 * body that stops arriving for `idleMs` a 400 too; either way the temporary directory is removed.
 */
export async function receiveFile(
  req: FastifyRequest,
  maxBytes: number,
  idleMs: number = DEFAULT_UPLOAD_IDLE_MS,
): Promise<ReceivedFile> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pksync-upload-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const target = path.join(dir, 'file');
  const watch = watchBody(req, idleMs);
  try {
    if (req.isMultipart()) {
      const fields: Record<string, string> = {};
      let received: { filename: string; mimetype: string; size: number } | null = null;
      const parts = req.parts({ limits: { fileSize: maxBytes, files: 1 } })[Symbol.asyncIterator]();
      for (;;) {
        let step;
        try {
          step = await untilAborted(parts.next(), watch.signal);
        } catch (e) {
          const code = (e as { code?: unknown } | null)?.code;
          if (e instanceof ApiError || isTruncation(e) || (typeof code === 'string' && code.startsWith('FST_')))
            throw e;
          // busboy's own complaints (no boundary, a malformed part header): the body is not multipart.
          throw badRequest('body', 'isi multipart tidak sah');
        }
        if (step.done) break;
        watch.touch();
        const part = step.value;
        if (part.type === 'file') {
          if (part.fieldname !== 'file' || received) {
            part.file.resume();
            throw badRequest('body.file', 'kirim tepat satu berkas pada kolom "file"');
          }
          const size = await spool(part.file, target, maxBytes, watch);
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
    const size = await spool(body, target, maxBytes, watch);
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
    const cutOff = watch.signal.aborted ? (watch.signal.reason as ApiError) : null;
    await cleanup();
    if (e instanceof ApiError) throw e;
    if (cutOff) throw cutOff;
    if (isTruncation(e)) throw truncatedBody();
    const code = (e as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(maxBytes);
    if (code === 'FST_INVALID_MULTIPART_CONTENT_TYPE' || code === 'FST_PARTS_LIMIT' || code === 'FST_FILES_LIMIT') {
      throw badRequest('body', 'isi multipart tidak sah');
    }
    throw e;
  } finally {
    watch.stop();
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

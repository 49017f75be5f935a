import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FetchError } from '../fetch-error.ts';
import { tooLarge } from '../http/http-client.ts';
import { agencyFileItems, withTempDirGen } from '../file-snapshot.ts';
import { combineRawParts, skipParse } from '../raw-hash.ts';
import { resolveLimits, type Connector, type ConnectorDeps, type FetchedItem } from '../connector.types.ts';

/**
 * The `upload` transport: the source's latest operator upload (CSV or XLSX, kept in PostgreSQL
 * with its hash, size, uploader and time) is copied to a private temporary file, then parsed.
 * No upload yet fails with `no_upload` (not retryable: an operator must upload first). The raw hash
 * comes from the upload's stored sha256, so an upload already reconciled is not even copied.
 */
export function createUploadConnector(deps: ConnectorDeps = {}): Connector {
  const latest = async (sourceId: string) => {
    if (!deps.uploads) throw new Error('upload connector needs deps.uploads (an UploadReader)');
    const upload = await deps.uploads.latestUpload(sourceId);
    if (!upload) {
      throw new FetchError('no_upload', `source ${sourceId} has no uploaded file yet`, { retryable: false });
    }
    return upload;
  };
  const rawOf = (upload: { sha256: string; sizeBytes: number }) =>
    combineRawParts('upload', [{ label: 'upload', sha256: upload.sha256, bytes: upload.sizeBytes }]);
  return {
    async probe(source, ctx) {
      return rawOf(await latest(source.id)).sha256 === ctx.contentHash;
    },
    fetch: (source, ctx) =>
      withTempDirGen(async function* (dir): AsyncGenerator<FetchedItem> {
        const limits = resolveLimits(source, ctx);
        const upload = await latest(source.id);
        if (upload.sizeBytes > limits.maxBytes) throw tooLarge(`upload ${upload.filename}`, limits.maxBytes);
        if (await skipParse(ctx, rawOf(upload))) return;
        const ext =
          path
            .extname(upload.filename)
            .toLowerCase()
            .replace(/[^.a-z]/g, '') || '.bin';
        const filePath = path.join(dir, `upload${ext}`);
        let total = 0;
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb: TransformCallback) {
            total += chunk.length;
            if (total > limits.maxBytes) cb(tooLarge(`upload ${upload.filename}`, limits.maxBytes));
            else cb(null, chunk);
          },
        });
        const src = upload.open();
        await pipeline(src instanceof Readable ? src : Readable.from(src), counter, createWriteStream(filePath), {
          signal: ctx.signal,
        });
        ctx.log?.debug({ source: source.id, upload: upload.id, bytes: total }, 'upload copied');
        const rows = { rows: limits.maxRows, maxRows: limits.maxRows, maxBytes: limits.maxBytes };
        yield* agencyFileItems(filePath, rows, `upload ${upload.filename}`);
      }),
  };
}

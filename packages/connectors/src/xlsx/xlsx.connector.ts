import path from 'node:path';
import { FetchError } from '../fetch-error.ts';
import { createHttpSession, throwIfFetchAborted } from '../http/http-client.ts';
import { downloadToFile } from '../http/download.ts';
import { agencyFileItems, withTempDirGen } from '../file-snapshot.ts';
import { combineRawParts, skipParse } from '../raw-hash.ts';
import { resolveLimits, type Connector, type ConnectorDeps, type FetchedItem } from '../connector.types.ts';

/**
 * The `xlsx` transport: the workbook at `url` (sheets `pejabat`, or the first, and `formasi`) is
 * downloaded to a private temporary file (size-limited, streamed, hashed on the way), then read by
 * the parser unless `ctx.beforeParse` says the bytes are the ones already reconciled.
 */
export function createXlsxConnector(deps: ConnectorDeps = {}): Connector {
  return {
    fetch: (source, ctx) =>
      withTempDirGen(async function* (dir): AsyncGenerator<FetchedItem> {
        if (!source.url) throw new FetchError('http_error', `source ${source.id} has no url`, { retryable: false });
        const limits = resolveLimits(source, ctx);
        const session = createHttpSession({
          fetchImpl: deps.fetch,
          signal: ctx.signal,
          limits,
          token: source.token,
          sourceId: source.id,
          log: ctx.log,
        });
        const filePath = path.join(dir, 'data.xlsx');
        const file = await downloadToFile(session, source.url, filePath, { bytes: limits.maxBytes });
        throwIfFetchAborted(session);
        if (await skipParse(ctx, combineRawParts('xlsx', [{ label: 'workbook', ...file }]))) return;
        const rows = { rows: limits.maxRows, maxRows: limits.maxRows, maxBytes: limits.maxBytes };
        yield* agencyFileItems(filePath, rows, 'workbook');
        throwIfFetchAborted(session);
      }),
  };
}

import { FetchError } from '../fetch-error.ts';
import { createHttpSession, throwIfFetchAborted } from '../http/http-client.ts';
import { agencyFileItems, asFilePath, withLazyTempDirGen } from '../file-snapshot.ts';
import { downloadSnapshotFiles } from '../snapshot-download.ts';
import { resolveLimits, type Connector, type ConnectorDeps, type FetchedItem } from '../connector.types.ts';

/**
 * The `xlsx` transport: the workbook at `url` (sheets `pejabat`, or the first, and `formasi`) is
 * downloaded to a private temporary file (size-limited, streamed, hashed on the way), then read by
 * the parser unless `ctx.beforeParse` says the bytes are the ones already reconciled.
 */
export function createXlsxConnector(deps: ConnectorDeps = {}): Connector {
  return {
    fetch: (source, ctx) =>
      withLazyTempDirGen(async function* (dir): AsyncGenerator<FetchedItem> {
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
        const files = [{ label: 'workbook', url: source.url, name: 'data.xlsx' }];
        const paths = await downloadSnapshotFiles(session, ctx, 'xlsx', dir, files, { bytes: limits.maxBytes });
        throwIfFetchAborted(session);
        if (!paths) return;
        const filePath = await asFilePath(paths[0]!, dir, 'data.xlsx');
        const rows = { rows: limits.maxRows, maxRows: limits.maxRows, maxBytes: limits.maxBytes };
        yield* agencyFileItems(filePath, rows, 'workbook');
        throwIfFetchAborted(session);
      }),
  };
}

import { openSourceSession } from '../http/source-session.ts';
import { throwIfFetchAborted } from '../http/http-client.ts';
import { agencyFileItems, asFilePath, withLazyTempDirGen } from '../file-snapshot.ts';
import { downloadSnapshotFiles, probeSnapshotFiles } from '../snapshot-download.ts';
import { type Connector, type FetchedItem } from '../connector.types.ts';

/**
 * The `xlsx` transport: the workbook at `url` (sheets `pejabat`, or the first, and `formasi`) is
 * downloaded to a private temporary file (size-limited, streamed, hashed on the way), then read by
 * the parser unless `ctx.beforeParse` says the bytes are the ones already reconciled.
 */
export function createXlsxConnector(): Connector {
  return {
    probe: (source, ctx) => probeSnapshotFiles(source, ctx, (url) => [{ label: 'workbook', url }]),
    fetch: (source, ctx) =>
      withLazyTempDirGen(async function* (dir): AsyncGenerator<FetchedItem> {
        const { url, limits, session } = openSourceSession(source, ctx);
        const files = [{ label: 'workbook', url, name: 'data.xlsx' }];
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

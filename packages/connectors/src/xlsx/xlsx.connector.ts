import { openSourceSession } from '../http/source-session.ts';
import { throwIfFetchAborted } from '../http/http-client.ts';
import { agencyFileItems, withLazyTempDirGen } from '../file-snapshot.ts';
import { downloadSnapshotFiles, probeSnapshotFiles } from '../snapshot-download.ts';
import { type Connector, type FetchedItem } from '../connector.types.ts';

/** A workbook up to this size is kept and read in memory; a bigger one goes to a private temp file. */
const XLSX_MEMORY_BYTES = 8 * 1024 * 1024;

/**
 * The `xlsx` transport: the workbook at `url` (sheets `pejabat`, or the first, and `formasi`) is
 * downloaded (size-limited, streamed, hashed on the way; up to 8 MB in memory, a bigger one to a
 * private temporary file), then read by the parser unless `ctx.beforeParse` says the bytes are the
 * ones already reconciled.
 */
export function createXlsxConnector(): Connector {
  return {
    probe: (source, ctx) => probeSnapshotFiles(source, ctx, (url) => [{ label: 'workbook', url }]),
    fetch: (source, ctx) =>
      withLazyTempDirGen(async function* (dir): AsyncGenerator<FetchedItem> {
        const { url, limits, session } = openSourceSession(source, ctx);
        const files = [{ label: 'workbook', url, name: 'data.xlsx', memoryLimit: XLSX_MEMORY_BYTES }];
        const data = await downloadSnapshotFiles(session, ctx, 'xlsx', dir, files, { bytes: limits.maxBytes });
        throwIfFetchAborted(session);
        if (!data) return;
        const rows = { rows: limits.maxRows, maxRows: limits.maxRows, maxBytes: limits.maxBytes };
        yield* agencyFileItems(data[0]!, rows, 'workbook');
        throwIfFetchAborted(session);
      }),
  };
}

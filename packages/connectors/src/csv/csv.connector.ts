import { openSourceSession } from '../http/source-session.ts';
import { throwIfFetchAborted } from '../http/http-client.ts';
import { csvFileItems, withLazyTempDirGen, type FileData } from '../file-snapshot.ts';
import { downloadSnapshotFiles, probeSnapshotFiles, type SnapshotFile } from '../snapshot-download.ts';
import { type Connector, type FetchedItem, type SourceDefinition } from '../connector.types.ts';

/** Per file: kept in memory up to this size, spilled to a private temp file beyond. */
const CSV_MEMORY_BYTES = 4 * 1024 * 1024;

/**
 * The `csv` transport: the officers file at `url` and the optional formations file at
 * `formationsUrl` are downloaded (size-limited, streamed; up to 4 MB each in memory, bigger ones to
 * a private temporary directory), then parsed. Both downloads finish before the first record is yielded, so a failed download never
 * leaves a half-read snapshot behind it. Both files are hashed as they download; `ctx.beforeParse`
 * sees that hash before anything is parsed, and `ctx.conditional` makes the GETs conditional.
 */
export function createCsvConnector(): Connector {
  const filesOf = (source: SourceDefinition, url: string): SnapshotFile[] => {
    const files: SnapshotFile[] = [{ label: 'officers', url, name: 'officers.csv', memoryLimit: CSV_MEMORY_BYTES }];
    if (source.formationsUrl)
      files.push({
        label: 'formations',
        url: source.formationsUrl,
        name: 'formations.csv',
        memoryLimit: CSV_MEMORY_BYTES,
      });
    return files;
  };
  return {
    probe: (source, ctx) => probeSnapshotFiles(source, ctx, (url) => filesOf(source, url)),
    fetch: (source, ctx) =>
      withLazyTempDirGen(async function* (dir): AsyncGenerator<FetchedItem> {
        const { url, limits, session } = openSourceSession(source, ctx);
        const files = filesOf(source, url);
        const paths = await downloadSnapshotFiles(session, ctx, 'csv', dir, files, { bytes: limits.maxBytes });
        throwIfFetchAborted(session);
        if (!paths) return;
        const [officersPath, formationsPath] = paths as [FileData, FileData | undefined];
        const rows = { rows: limits.maxRows, maxRows: limits.maxRows, maxBytes: limits.maxBytes };
        yield* csvFileItems(officersPath, 'officer', rows, 'officers file');
        if (formationsPath) yield* csvFileItems(formationsPath, 'formation', rows, 'formations file');
        throwIfFetchAborted(session);
      }),
  };
}

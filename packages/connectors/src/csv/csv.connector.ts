import { openSourceSession } from '../http/source-session.ts';
import { throwIfFetchAborted } from '../http/http-client.ts';
import { csvFileItems, withLazyTempDirGen } from '../file-snapshot.ts';
import { downloadSnapshotFiles, probeSnapshotFiles, type SnapshotFile } from '../snapshot-download.ts';
import { type Connector, type FetchedItem, type SourceDefinition } from '../connector.types.ts';

/** Per file: kept in memory up to this size, spilled to a private temp file beyond. */
const CSV_MEMORY_BYTES = 4 * 1024 * 1024;

/**
 * The `csv` transport: the officers file at `url`, the optional formations file at
 * `formationsUrl` and the optional workload file at `workloadsUrl` (needs-planning-v1.md) are
 * downloaded (size-limited, streamed; up to 4 MB each in memory, bigger ones to a private
 * temporary directory), then parsed. Every download finishes before the first record is yielded,
 * so a failed download never leaves a half-read snapshot behind it. The files are hashed as they
 * download (parts `officers`, `formations`, `workloads`); `ctx.beforeParse` sees that hash before
 * anything is parsed, and `ctx.conditional` makes the GETs conditional.
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
    if (source.workloadsUrl)
      files.push({
        label: 'workloads',
        url: source.workloadsUrl,
        name: 'workloads.csv',
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
        const data = new Map(files.map((f, i) => [f.label, paths[i]!]));
        const rows = { rows: limits.maxRows, maxRows: limits.maxRows, maxBytes: limits.maxBytes };
        yield* csvFileItems(data.get('officers')!, 'officer', rows, 'officers file');
        const formations = data.get('formations');
        if (formations) yield* csvFileItems(formations, 'formation', rows, 'formations file');
        const workloads = data.get('workloads');
        if (workloads) yield* csvFileItems(workloads, 'workload', rows, 'workloads file');
        throwIfFetchAborted(session);
      }),
  };
}

import path from 'node:path';
import { FetchError } from '../fetch-error.ts';
import { createHttpSession, throwIfFetchAborted } from '../http/http-client.ts';
import { downloadToFile } from '../http/download.ts';
import { csvFileItems, withTempDirGen } from '../file-snapshot.ts';
import { combineRawParts, skipParse, type RawPart } from '../raw-hash.ts';
import { resolveLimits, type Connector, type ConnectorDeps, type FetchedItem } from '../connector.types.ts';

/**
 * The `csv` transport: the officers file at `url` and the optional formations file at
 * `formationsUrl` are downloaded to a private temporary directory (size-limited, streamed), then
 * parsed. Both downloads finish before the first record is yielded, so a failed download never
 * leaves a half-read snapshot behind it. Both files are hashed as they download; `ctx.beforeParse`
 * sees that hash before anything is parsed.
 */
export function createCsvConnector(deps: ConnectorDeps = {}): Connector {
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
        const budget = { bytes: limits.maxBytes };
        const officersPath = path.join(dir, 'officers.csv');
        const parts: RawPart[] = [
          { label: 'officers', ...(await downloadToFile(session, source.url, officersPath, budget)) },
        ];
        let formationsPath: string | null = null;
        if (source.formationsUrl) {
          formationsPath = path.join(dir, 'formations.csv');
          parts.push({
            label: 'formations',
            ...(await downloadToFile(session, source.formationsUrl, formationsPath, budget)),
          });
        }
        throwIfFetchAborted(session);
        if (await skipParse(ctx, combineRawParts('csv', parts))) return;
        const rows = { rows: limits.maxRows, maxRows: limits.maxRows, maxBytes: limits.maxBytes };
        yield* csvFileItems(officersPath, 'officer', rows, 'officers file');
        if (formationsPath) yield* csvFileItems(formationsPath, 'formation', rows, 'formations file');
        throwIfFetchAborted(session);
      }),
  };
}

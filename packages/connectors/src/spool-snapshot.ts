import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { withTempDirGen } from './file-snapshot.ts';
import type { FetchedItem } from './connector.types.ts';

/**
 * The strict form of the R9 invariant: spools a snapshot to a private temporary NDJSON file and
 * yields nothing until the source iterable has completed; if it throws, the error is rethrown and
 * not a single record is yielded. Memory stays at one record; disk holds the snapshot until the
 * returned iterable ends.
 *
 * @example for await (const item of spoolSnapshot(connector.fetch(source, ctx))) await stage(item);
 */
export function spoolSnapshot(items: AsyncIterable<FetchedItem>): AsyncGenerator<FetchedItem> {
  return withTempDirGen(async function* (dir) {
    const file = path.join(dir, 'snapshot.ndjson');
    const out = createWriteStream(file);
    try {
      for await (const item of items) {
        if (!out.write(JSON.stringify(item) + '\n')) await once(out, 'drain');
      }
    } finally {
      out.end();
      await once(out, 'close');
    }
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    for await (const line of lines) if (line) yield JSON.parse(line) as FetchedItem;
  });
}

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createUploadConnector } from './upload.connector.ts';
import { sourceDef } from '../../test/support/local-server.ts';
import type { FetchedItem, StoredUpload, UploadReader } from '../connector.types.ts';
import type { FetchError } from '../fetch-error.ts';

const sample = (name: string) => fileURLToPath(new URL(`../../samples/${name}`, import.meta.url));

async function reader(file: string | null, filename = 'file'): Promise<UploadReader> {
  const size = file ? (await stat(file)).size : 0;
  return {
    latestUpload: async (sourceId): Promise<StoredUpload | null> =>
      file
        ? {
            id: '1',
            sourceId,
            filename,
            sha256: 'x',
            sizeBytes: size,
            uploadedBy: 'op',
            uploadedAt: new Date(),
            open: () => createReadStream(file),
          }
        : null,
  };
}

async function run(uploads: UploadReader, maxBytes: number | null = null) {
  const items: FetchedItem[] = [];
  try {
    for await (const i of createUploadConnector({ uploads }).fetch(sourceDef({ transport: 'upload', maxBytes }), {
      signal: new AbortController().signal,
      asOf: '2026-11-27',
    })) {
      items.push(i);
    }
    return { items, error: null };
  } catch (e) {
    return { items: null, error: e as FetchError };
  }
}

describe('upload connector', () => {
  it('reads the latest uploaded XLSX (officers and formations)', async () => {
    const r = await run(await reader(sample('officers.xlsx'), 'data.xlsx'));
    expect(r.error).toBeNull();
    expect(r.items!.filter((i) => i.kind === 'officer').length).toBeGreaterThan(0);
    expect(r.items!.every((i) => i.position >= 2)).toBe(true);
  });

  it('reads an uploaded CSV whatever its encoding', async () => {
    const r = await run(await reader(sample('officers-windows-1252.csv'), 'pejabat.csv'));
    expect(r.error).toBeNull();
    expect(r.items!.length).toBeGreaterThan(0);
    expect(r.items![0]!.record).toHaveProperty('nip');
  });

  it('fails with no_upload when nothing was uploaded yet', async () => {
    const r = await run(await reader(null));
    expect(r.error!.code).toBe('no_upload');
    expect(r.error!.retryable).toBe(false);
  });

  it('fails an upload over the size limit with payload_too_large', async () => {
    const r = await run(await reader(sample('officers.xlsx'), 'data.xlsx'), 100);
    expect(r.error!.code).toBe('payload_too_large');
  });

  it('fails a broken file with unparseable_file', async () => {
    const r = await run(await reader(sample('broken-quote.csv'), 'x.csv'));
    expect(r.error!.code).toBe('unparseable_file');
  });
});

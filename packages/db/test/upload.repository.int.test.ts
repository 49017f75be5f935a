import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '@pksync/testing';
import { importSources } from '../src/repositories/source.repository.ts';
import { latestUpload, saveUpload, UploadTooLargeError } from '../src/repositories/upload.repository.ts';

const CSV = 'NIP,Nama,Jenjang\n198503122010011003,Budi Santoso,Ahli Muda\n';

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('upload repository', () => {
  const t = useTestDatabase();
  /** The source's stored uploads, newest first. */
  const storedFilenames = async () =>
    (
      await t.db
        .selectFrom('uploads')
        .select('filename')
        .where('source_id', '=', '16.05-disnaker')
        .orderBy('id', 'desc')
        .execute()
    ).map((u) => u.filename);

  it('stores a file in chunks with hash, size, uploader and time, and streams it back', async () => {
    await importSources(
      t.db,
      [{ id: '16.05-disnaker', agency: 'Disnaker Muara Enim', region_code: '16.05', transport: 'upload' }],
      undefined,
    );
    expect(await latestUpload(t.db, '16.05-disnaker')).toBeNull();
    // 2.5 MiB so that it spans three chunks.
    const big = Buffer.concat([Buffer.from(CSV), Buffer.alloc(2.5 * 1024 * 1024, 0x41)]);
    const info = await saveUpload(t.db, {
      sourceId: '16.05-disnaker',
      filename: 'pejabat.csv',
      contentType: 'text/csv',
      uploadedBy: 'operator-16',
      content: Readable.from([big.subarray(0, 1000), big.subarray(1000)]),
      maxBytes: 10 * 1024 * 1024,
    });
    expect(info.sizeBytes).toBe(big.length);
    expect(info.sha256).toBe(createHash('sha256').update(big).digest('hex'));
    expect(info.uploadedBy).toBe('operator-16');
    expect(info.uploadedAt).toBeInstanceOf(Date);
    const chunks = await t.db
      .withTables<{ upload_chunks: { upload_id: number; seq: number } }>()
      .selectFrom('upload_chunks')
      .select('seq')
      .execute();
    expect(chunks.length).toBe(3);
    const latest = (await latestUpload(t.db, '16.05-disnaker'))!;
    expect(latest.id).toBe(info.id);
    expect((await readAll(latest.open())).equals(big)).toBe(true);
  });

  it('keeps the newest upload as the latest', async () => {
    await saveUpload(t.db, {
      sourceId: '16.05-disnaker',
      filename: 'v2.csv',
      uploadedBy: 'op',
      content: [Buffer.from(CSV)],
      maxBytes: 1000,
    });
    expect((await latestUpload(t.db, '16.05-disnaker'))!.filename).toBe('v2.csv');
    expect(await storedFilenames()).toEqual(['v2.csv', 'pejabat.csv']);
  });

  it('rejects a file over the limit and stores nothing of it', async () => {
    await expect(
      saveUpload(t.db, {
        sourceId: '16.05-disnaker',
        filename: 'big.csv',
        uploadedBy: 'op',
        content: [Buffer.alloc(600), Buffer.alloc(600)],
        maxBytes: 1000,
      }),
    ).rejects.toBeInstanceOf(UploadTooLargeError);
    expect(await storedFilenames()).toEqual(['v2.csv', 'pejabat.csv']);
  });
});

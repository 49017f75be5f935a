import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@pksync/api';
import { createKey } from '@pksync/db';
import { createQueueClient, producerConnection, waitReady, type QueueClient } from '@pksync/queue';
import { insertSource, useTestDatabase, useTestRedis } from '@pksync/testing';
import { runCheck } from '../src/commands/check.command.ts';

/** What one path says about a file: usable or refused, and the words it uses. */
interface Verdict {
  usable: boolean;
  message: string;
}

const HEADER = 'NIP,Nama,Jenis Kelamin,Jenjang,Golongan,Unit Kerja,TMT Jabatan,Status';
const ROW = '198503122010011003,Budi Santoso,L,Ahli Muda,III/c,Disnaker Palembang,2020-01-01,aktif';

/** The same bytes, and the words each path must use when it refuses them (null: all accept them). */
const FILES: [string, Buffer, RegExp | null][] = [
  ['4 KiB of NUL bytes named .csv', Buffer.alloc(4096), /data biner/i],
  ['a header-only CSV', Buffer.from(`${HEADER}\n`), /tidak berisi baris data/i],
  ['a header-only CSV without a final newline', Buffer.from(HEADER), /tidak berisi baris data/i],
  ['binary junk', Buffer.from([1, 2, 0, 4, 0, 6, 7, 0]), /data biner/i],
  ['a PDF', Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj\n'), /PDF/],
  ['a good CSV', Buffer.from(`${HEADER}\n${ROW}\n`), null],
  // exchange-format-v1.md § Limits: a NUL in a cell is removed, the file is not binary.
  ['a good CSV with a stray NUL in a cell', Buffer.from(`${HEADER}\n${ROW.replace('Budi', 'Bu\u0000di')}\n`), null],
];

describe('pksync check, POST /check and an upload give the same verdict on the same bytes', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let app: Awaited<ReturnType<typeof buildApp>>;
  let url: string;
  let key: string;
  let queues: QueueClient;
  let dir: string;
  let conn: ReturnType<typeof producerConnection>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pksync-agree-'));
    key = (await createKey(t.db, { name: 'sumsel', role: 'province', provinceCode: '16', actor: 'test' })).key;
    await insertSource(t.db, { id: '16.71-unggah', regionCode: '16.71', agency: 'Disnaker Palembang' });
    conn = producerConnection(r.url);
    await waitReady(conn);
    queues = createQueueClient({ redisUrl: r.url, prefix: r.prefix });
    app = await buildApp(
      {
        db: t.db,
        redis: conn,
        queues,
        tokenKey: undefined,
        limits: { maxUploadBytes: 1024 * 1024, maxSnapshotRows: 10_000, maxSnapshotBytes: 1024 * 1024 },
        schedule: { cron: '0 1 * * *', timezone: 'Asia/Jakarta' },
        rateLimit: { max: 1000, timeWindowMs: 60_000, namespace: `${r.prefix}:ratelimit:` },
      },
      { logger: false, webRoot: null },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterAll(async () => {
    await app?.close();
    await queues?.close();
    conn?.disconnect();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const cli = async (name: string, bytes: Buffer): Promise<Verdict> => {
    const file = path.join(dir, name.replace(/\W+/g, '-'));
    await writeFile(file, bytes);
    const out = await runCheck(file, { region: '16.71', asOf: '2026-11-27' });
    // 0: nothing rejected, 1: rows rejected (the file itself is usable), 2: the file is refused.
    return { usable: out.exitCode !== 2, message: out.output };
  };
  const http = async (p: string, bytes: Buffer, ok: number): Promise<Verdict> => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(bytes)], { type: 'text/csv' }), 'pejabat.csv');
    const res = await fetch(`${url}${p}`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    const body = (await res.json()) as { error?: { code: string; message: string } };
    if (res.status !== ok) {
      // A refusal of the file is a 415 or 422 with the envelope, never a 500.
      expect([415, 422], JSON.stringify(body)).toContain(res.status);
      expect(body.error?.code).toMatch(/^(unsupported_media_type|unparseable_file)$/);
    }
    return { usable: res.status === ok, message: body.error?.message ?? '' };
  };

  for (const [what, bytes, refusal] of FILES) {
    it(`${what}: ${refusal ? 'refused by all three, in the same words' : 'accepted by all three'}`, async () => {
      const verdicts = {
        'pksync check': await cli(what, bytes),
        'POST /check': await http('/api/v1/check?region=16.71&as_of=2026-11-27', bytes, 200),
        'POST /sources/{id}/uploads': await http('/api/v1/sources/16.71-unggah/uploads', bytes, 202),
      };
      for (const [who, v] of Object.entries(verdicts)) {
        expect(v.usable, `${who}: ${v.message}`).toBe(refusal === null);
        if (refusal) expect(v.message, who).toMatch(refusal);
      }
    });
  }
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertSource, useTestDatabase } from '@pksync/testing';
import { createRun, listSourceFetches } from '@pksync/db';
import type { JobContext } from '@pksync/queue';
import { planRunHandler } from './plan-run.job.ts';

/** Agencies' files: `/same/…` answers 304 to its ETag, `/changed/…` 200, `/broken/…` 500. */
let server: http.Server;
let base: string;
const requests: string[] = [];
beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(`${req.url} ${req.headers['if-none-match'] ?? '-'}`);
    if (req.url!.startsWith('/same/') && req.headers['if-none-match'] === '"v1"') res.writeHead(304);
    else if (req.url!.startsWith('/broken/')) res.writeHead(500);
    else res.writeHead(200, { etag: '"v2"' });
    res.end(req.url!.startsWith('/changed/') ? 'NIP;Nama\r\n' : undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('run.plan decides which sources need a fetch job', () => {
  const t = useTestDatabase();

  it('finishes the unchanged ones itself and gives every other source its own job', async () => {
    const known = { last_content_hash: 'h1', last_validators: JSON.stringify({ officers: { etag: '"v1"' } }) };
    const csv = (id: string, region: string, path: string, extra: object = known) =>
      insertSource(t.db, { id, regionCode: region, transport: 'csv', url: `${base}/${path}/pejabat.csv`, ...extra });
    await csv('16.01-same', '16.01', 'same');
    await csv('16.02-changed', '16.02', 'changed');
    await csv('16.03-broken', '16.03', 'broken');
    await csv('16.04-first', '16.04', 'same', {}); // never reconciled: no hash, no validators
    await csv('16.05-held', '16.05', 'same');
    await insertSource(t.db, { id: '16.06-api', regionCode: '16.06', transport: 'api', url: `${base}/api`, ...known });
    const { run } = await createRun(t.db, {
      scope: { kind: 'province', value: '16' },
      trigger: 'manual',
      requestedBy: 'test',
      asOf: '2026-11-27',
    });
    await t.db
      .insertInto('held_removals')
      .values({ source_id: '16.05-held', run_id: run.id, nips: ['198503122010011003'], active_before: 10 })
      .execute();

    const added: string[] = [];
    const plan = planRunHandler({
      db: t.db,
      tokenKey: undefined,
      connectorDeps: {},
      limits: {},
      queues: { addFetches: async (_runId, ids) => void added.push(...ids) },
    });
    const ctx = { signal: new AbortController().signal, log: pino({ level: 'silent' }) } as unknown as JobContext;
    const summary = await plan({ runId: run.id }, ctx);

    expect(summary).toEqual({ status: 'planned', sources: 6, probed: 3, unchanged: 1, fetchJobs: 5 });
    expect(added.sort()).toEqual(['16.02-changed', '16.03-broken', '16.04-first', '16.05-held', '16.06-api']);
    // Only the three with validators and no held removal were asked, each once, conditionally.
    expect(requests.sort()).toEqual([
      '/broken/pejabat.csv "v1"',
      '/changed/pejabat.csv "v1"',
      '/same/pejabat.csv "v1"',
    ]);
    const fetches = new Map((await listSourceFetches(t.db, run.id)).map((f) => [f.source_id, f]));
    expect(fetches.get('16.01-same')).toMatchObject({ status: 'unchanged', content_hash: 'h1', attempts: 1 });
    for (const id of added) expect(fetches.get(id)?.status).toBe('pending'); // left to their jobs
    const same = await t.db
      .selectFrom('sources')
      .select('last_success_at')
      .where('id', '=', '16.01-same')
      .executeTakeFirst();
    expect(same?.last_success_at).not.toBeNull();

    // Run again (a retried plan): nothing is marked twice, the same jobs are asked for (ids dedupe).
    added.length = 0;
    const again = await plan({ runId: run.id }, ctx);
    expect(again).toMatchObject({ sources: 5, unchanged: 0, fetchJobs: 5 });
  });
});

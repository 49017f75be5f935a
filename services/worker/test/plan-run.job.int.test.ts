import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertSource, useTestDatabase } from '@pksync/testing';
import { createRun, listSourceFetches } from '@pksync/db';
import type { JobContext } from '@pksync/queue';
import { combineRawParts, sha256Hex } from '@pksync/connectors';
import { planRunHandler, probeRunHandler, type ProbeRunSummary } from '../src/plan-run.job.ts';

/**
 * Agencies' files: `/same/…` answers 304 to its ETag, `/changed/…` 200, `/broken/…` 500; an api
 * agency at `/api/…` with one page of officers, its formations and its workload (empty pages).
 */
const API_PAGE = JSON.stringify({ data: [{ nip: '198503122010011003', nama: 'Budi' }], next_cursor: null });
const API_FORMATIONS = JSON.stringify({ data: [] });
/** The raw hash a fetch of that api agency records (as of 2026). */
const API_HASH = combineRawParts('api', [
  { label: 'officers#0', sha256: sha256Hex(Buffer.from(API_PAGE)), bytes: Buffer.byteLength(API_PAGE) },
  { label: 'formations?year=2026', sha256: sha256Hex(Buffer.from(API_FORMATIONS)), bytes: API_FORMATIONS.length },
  // The workload of 2026 (needs-planning-v1.md): the same empty page.
  { label: 'workloads?year=2026', sha256: sha256Hex(Buffer.from(API_FORMATIONS)), bytes: API_FORMATIONS.length },
]).sha256;
let server: http.Server;
let base: string;
const requests: string[] = [];
beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(`${req.url} ${req.headers['if-none-match'] ?? '-'}`);
    if (req.url!.startsWith('/api/')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url!.startsWith('/api/officers') ? API_PAGE : API_FORMATIONS);
      return;
    }
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

  let sourcesMade = false;
  it.each([
    ['the plan itself', 64],
    ['run.probe parts', 2],
  ] as const)(
    'asks sources (%s): finishes the unchanged ones, gives every other its own job',
    async (_how, probePart) => {
      requests.length = 0;
      // The other case's run is over (a new trigger for an active scope would return it).
      await t.db.updateTable('runs').set({ status: 'completed' }).execute();
      const known = { last_content_hash: 'h1', last_validators: JSON.stringify({ officers: { etag: '"v1"' } }) };
      const csv = (id: string, region: string, path: string, extra: object = known) =>
        insertSource(t.db, { id, regionCode: region, transport: 'csv', url: `${base}/${path}/pejabat.csv`, ...extra });
      if (!sourcesMade) await makeSources();
      sourcesMade = true;
      async function makeSources() {
        await csv('16.01-same', '16.01', 'same');
        await csv('16.02-changed', '16.02', 'changed');
        await csv('16.03-broken', '16.03', 'broken');
        await csv('16.04-first', '16.04', 'same', {}); // never reconciled: no hash, no validators
        await csv('16.05-held', '16.05', 'same');
        // api: no validators; its pages are downloaded and hashed (one unchanged, one changed).
        await insertSource(t.db, {
          id: '16.06-api',
          regionCode: '16.06',
          transport: 'api',
          url: `${base}/api`,
          ...known,
        });
        await insertSource(t.db, {
          id: '16.07-api-same',
          regionCode: '16.07',
          transport: 'api',
          url: `${base}/api`,
          last_content_hash: API_HASH,
        });
      }
      const { run } = await createRun(t.db, {
        scope: { kind: 'province', value: '16' },
        trigger: 'manual',
        requestedBy: 'test',
        asOf: '2026-11-27',
      });
      if (probePart === 64) {
        await t.db
          .insertInto('held_removals')
          .values({ source_id: '16.05-held', run_id: run.id, nips: ['198503122010011003'], active_before: 10 })
          .execute();
      }

      const added: string[] = [];
      const parts: string[][] = [];
      const deps = {
        db: t.db,
        tokenKey: undefined,
        connectorDeps: {},
        limits: {},
        probePart,
        queues: {
          addFetches: async (_runId: string, ids: readonly string[]) => void added.push(...ids),
          addProbes: async (_runId: string, p: readonly (readonly string[])[]) =>
            void parts.push(...p.map((x) => [...x])),
        },
      };
      const plan = planRunHandler(deps);
      const ctx = { signal: new AbortController().signal, log: pino({ level: 'silent' }) } as unknown as JobContext;
      const summary = await plan({ runId: run.id }, ctx);
      if (probePart === 64) {
        expect(summary).toEqual({ status: 'planned', sources: 7, probed: 5, unchanged: 2, fetchJobs: 5, probeJobs: 0 });
        expect(parts).toEqual([]);
      } else {
        // Five to ask, two per part: three run.probe jobs; the plan fetches only the two it cannot ask.
        expect(summary).toEqual({ status: 'planned', sources: 7, probed: 5, unchanged: 0, fetchJobs: 2, probeJobs: 3 });
        expect(parts.flat().sort()).toEqual([
          '16.01-same',
          '16.02-changed',
          '16.03-broken',
          '16.06-api',
          '16.07-api-same',
        ]);
        expect(parts.map((p) => p.length)).toEqual([2, 2, 1]);
        const probe = probeRunHandler(deps);
        const results: ProbeRunSummary[] = [];
        for (const [part, sourceIds] of parts.entries()) {
          results.push((await probe({ runId: run.id, part, sourceIds }, ctx)) as ProbeRunSummary);
        }
        expect(results.reduce((n, r) => n + r.unchanged, 0)).toBe(2);
        expect(results.reduce((n, r) => n + r.fetchJobs, 0)).toBe(3);
      }
      // (A retried part asks again for the same jobs: their ids dedupe in the queue.)
      expect([...new Set(added)].sort()).toEqual([
        '16.02-changed',
        '16.03-broken',
        '16.04-first',
        '16.05-held',
        '16.06-api',
      ]);
      // The three file sources with validators and no held removal were asked once, conditionally;
      // the two api sources downloaded their page, formations and workload.
      expect(requests.sort()).toEqual([
        '/api/formations?year=2026 -',
        '/api/formations?year=2026 -',
        '/api/officers?limit=500 -',
        '/api/officers?limit=500 -',
        '/api/workloads?year=2026 -',
        '/api/workloads?year=2026 -',
        '/broken/pejabat.csv "v1"',
        '/changed/pejabat.csv "v1"',
        '/same/pejabat.csv "v1"',
      ]);
      const fetches = new Map((await listSourceFetches(t.db, run.id)).map((f) => [f.source_id, f]));
      expect(fetches.get('16.01-same')).toMatchObject({ status: 'unchanged', content_hash: 'h1', attempts: 1 });
      expect(fetches.get('16.07-api-same')).toMatchObject({ status: 'unchanged', content_hash: API_HASH });
      for (const id of added) expect(fetches.get(id)?.status).toBe('pending'); // left to their jobs
      const same = await t.db
        .selectFrom('sources')
        .select('last_success_at')
        .where('id', '=', '16.01-same')
        .executeTakeFirst();
      expect(same?.last_success_at).not.toBeNull();

      if (probePart !== 64) {
        // A part run again (a retried job) finds its unchanged sources finished: it marks nothing twice.
        const again = (await probeRunHandler(deps)(
          { runId: run.id, part: 0, sourceIds: parts[0]! },
          ctx,
        )) as ProbeRunSummary;
        expect(again.unchanged).toBe(0);
      }
      // Run again (a retried plan): nothing is marked twice, the same jobs are asked for (ids dedupe).
      added.length = 0;
      const again = await plan({ runId: run.id }, ctx);
      expect(again).toMatchObject({ sources: 5, unchanged: 0 });
      // (In parts, the plan itself adds only the fetches it cannot ask, and the same parts again.)
      expect(new Set(added)).toEqual(
        new Set(
          probePart === 64
            ? ['16.02-changed', '16.03-broken', '16.04-first', '16.05-held', '16.06-api']
            : ['16.04-first', '16.05-held'],
        ),
      );
    },
  );
});

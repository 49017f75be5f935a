import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import { addContact, CONFIGURED_WEBHOOK_ID, getContact, syncConfiguredWebhook, type Db } from '@pksync/db';
import { createQueueClient, triggerRun, type QueueClient } from '@pksync/queue';
import { start as startWorker, type RunningWorker } from '@pksync/worker';
import type { Simulator } from '@pksync/simulator';
import type { Config } from '@pksync/config';
import {
  dayDate,
  FAST_FETCH,
  pksync,
  serviceEnv,
  simulatorWithSources,
  testConfig,
  waitForRun,
} from './support/harness.ts';

// ALERT_WEBHOOK_URL + ALERT_WEBHOOK_SECRET end to end: the simulator with seeded defects in two
// provinces → queues → real workers (reconcile writes the outbox, the poller delivers) → a local
// HTTP receiver standing for the ministry's system, which processes each idempotency key once.

const SECRET = 'the-ministry-signing-secret';
const PROVINCES = ['16', '31'];
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORKER = fileURLToPath(new URL('./support/worker-process.ts', import.meta.url));

interface Hit {
  key: string;
  signature: string;
  event: string;
  body: string;
  /** The status answered, or null: the connection was dropped without an answer. */
  status: number | null;
}

interface Receiver {
  url: string;
  hits: Hit[];
  /** Bodies by idempotency key, each key processed once (as a receiver must). */
  processed: Map<string, string>;
  close(): Promise<void>;
}

/**
 * A webhook receiver on loopback. `answer` decides each request's fate (default 200): a status,
 * or null to drop the connection (after the request was processed, as when the sender dies first).
 */
async function startReceiver(answer: (hit: Hit, n: number) => Promise<number | null> | number | null = () => 200) {
  const hits: Hit[] = [];
  const processed = new Map<string, string>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit: Hit = {
        key: String(req.headers['idempotency-key'] ?? ''),
        signature: String(req.headers['x-pksync-signature'] ?? ''),
        event: String(req.headers['x-pksync-event'] ?? ''),
        body: Buffer.concat(chunks).toString('utf8'),
        status: null,
      };
      hits.push(hit);
      void Promise.resolve(answer(hit, hits.length)).then((status) => {
        hit.status = status;
        if (status === 200 && !processed.has(hit.key)) processed.set(hit.key, hit.body);
        if (status === null) {
          // Processed, but the sender never hears so.
          if (!processed.has(hit.key)) processed.set(hit.key, hit.body);
          res.destroy();
        } else res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}/hooks/pksync`,
    hits,
    processed,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return receiver;
}

const verifies = (h: Hit, secret: string) =>
  h.signature === `sha256=${createHmac('sha256', secret).update(h.body).digest('hex')}`;
const provinceOf = (h: Hit) => (JSON.parse(h.body) as { province_code: string }).province_code;
const ministryKey = (runId: string, province: string) => `digest:${runId}:${province}:${CONFIGURED_WEBHOOK_ID}`;

/** The configured webhook's outbox rows as `province:status:attempts`, sorted. */
async function ministryOutbox(db: Db): Promise<string[]> {
  const rows = await db
    .selectFrom('alert_outbox')
    .select(['province_code', 'status', 'attempts'])
    .where('contact_id', '=', CONFIGURED_WEBHOOK_ID)
    .orderBy('province_code')
    .execute();
  return rows.map((r) => `${r.province_code}:${r.status}:${r.attempts}`);
}

async function outboxStatuses(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('alert_outbox').select('status').execute();
  return rows.map((r) => r.status);
}

async function nationalRun(db: Db, queues: QueueClient): Promise<string> {
  const { run } = await triggerRun(db, queues, {
    scope: { kind: 'national' },
    trigger: 'manual',
    requestedBy: 'test',
    asOf: dayDate(0),
  });
  const done = await waitForRun(db, run.id, 90_000);
  expect(done.status).toBe('completed');
  return run.id;
}

describe('ministry webhook: every province’s digest, signed, retried after a 500, province contacts as before', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let config: Config;
  let sim: Simulator;
  let worker: RunningWorker | undefined;
  let queues: QueueClient;
  let ministry: Receiver;
  let province16: Receiver;

  beforeAll(async () => {
    // The ministry's system fails its first request (500), then accepts.
    ministry = await startReceiver((_h, n) => (n === 1 ? 500 : 200));
    province16 = await startReceiver();
    config = testConfig(t, r, { ALERT_WEBHOOK_URL: ministry.url, ALERT_WEBHOOK_SECRET: SECRET });
    sim = await simulatorWithSources(t.db, config, { regions: '16,31.71', defectRate: 0.05 });
    await addContact(
      t.db,
      { provinceCode: '16', kind: 'webhook', address: province16.url, secret: 'secret-of-province-16' },
      config.tokenKey,
    );
    queues = createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
  });
  afterAll(async () => {
    await worker?.close();
    await queues?.close();
    await sim?.close();
    await ministry?.close();
    await province16?.close();
  });

  it('delivers each province’s digest once, with a stable idempotency key and a valid signature', async () => {
    worker = await startWorker(config, {
      fetchLimits: FAST_FETCH,
      notifyPollMs: 100,
      notifyRetry: { baseDelayMs: 50, maxDelayMs: 200 },
    });
    const runId = await nationalRun(t.db, queues);
    const findings = await t.db
      .selectFrom('findings')
      .select(['id', 'province_code'])
      .where('status', '=', 'open')
      .execute();
    expect([...new Set(findings.map((f) => f.province_code))].sort()).toEqual(PROVINCES);

    // Every row sent: the 500 was retried. A request is received before its row is marked sent.
    await expect.poll(() => outboxStatuses(t.db), { timeout: 60_000, interval: 100 }).toEqual(['sent', 'sent', 'sent']);
    expect(await ministryOutbox(t.db)).toHaveLength(2);
    expect((await ministryOutbox(t.db)).filter((x) => x.endsWith(':sent:2'))).toHaveLength(1);

    // One request failed (500), then each province's digest was accepted exactly once.
    expect(ministry.hits.map((h) => h.status)).toEqual([500, 200, 200]);
    // The retry carried the same key and the same bytes.
    const retried = ministry.hits.filter((h) => h.key === ministry.hits[0]!.key);
    expect(retried.map((h) => h.status)).toEqual([500, 200]);
    expect(retried[1]!.body).toBe(retried[0]!.body);
    expect([...ministry.processed.keys()].sort()).toEqual(PROVINCES.map((p) => ministryKey(runId, p)));
    for (const h of ministry.hits) {
      expect(verifies(h, SECRET)).toBe(true);
      expect(h.event).toBe('findings.digest');
      expect(h.key).toBe(ministryKey(runId, provinceOf(h)));
    }
    for (const p of PROVINCES) {
      const body = JSON.parse(ministry.processed.get(ministryKey(runId, p))!) as {
        province_code: string;
        totals: { new: number };
        groups: { province_code: string; omitted_rows: number; rows: { finding_id: number }[] }[];
      };
      const own = new Set(findings.filter((f) => f.province_code === p).map((f) => Number(f.id)));
      expect(body.province_code).toBe(p);
      expect(body.totals.new).toBe(own.size);
      const listed = body.groups.flatMap((g) => g.rows.map((x) => x.finding_id));
      expect(listed.length + body.groups.reduce((n, g) => n + g.omitted_rows, 0)).toBe(own.size);
      expect(listed.every((id) => own.has(id))).toBe(true);
    }
    // The province's own webhook got its digest, with its own key and secret, as before.
    expect(province16.hits).toHaveLength(1);
    expect(verifies(province16.hits[0]!, 'secret-of-province-16')).toBe(true);
    expect(province16.hits[0]!.key).toMatch(new RegExp(`^digest:${runId}:16:`));
    expect(province16.hits[0]!.key).not.toBe(ministryKey(runId, '16'));

    // A restart with the same variables keeps the same contact (same id, so the same keys).
    const before = await getContact(t.db, CONFIGURED_WEBHOOK_ID);
    await worker.close();
    worker = await startWorker(config, { fetchLimits: FAST_FETCH, notifyPollMs: 0 });
    expect(await getContact(t.db, CONFIGURED_WEBHOOK_ID)).toEqual(before);
  }, 150_000);
});

/** `test/support/worker-process.ts` in its own process; resolves once it consumes. */
async function spawnWorker(env: Record<string, string>, notifyLeaseMs: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, '1500', '2', String(notifyLeaseMs)], {
    cwd: ROOT,
    env: { ...process.env, ...env, LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    const onData = (d: string) => {
      out += d;
      if (out.includes('ready')) {
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => reject(new Error(`worker process exited early (${code}): ${out}`));
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
  child.stdout!.resume();
  return child;
}

describe('ministry webhook: a worker killed between sending and recording', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let config: Config;
  let sim: Simulator;
  let victim: ChildProcess | undefined;
  let rescuer: RunningWorker | undefined;
  let queues: QueueClient;
  let ministry: Receiver;
  let killed: Hit | undefined;

  beforeAll(async () => {
    // The first request is processed, then its sender is SIGKILLed before it hears back (so before
    // it can record the delivery); every later request is accepted.
    ministry = await startReceiver(async (hit) => {
      if (killed || !victim) return 200;
      killed = hit;
      victim.kill('SIGKILL');
      await once(victim, 'exit');
      return null;
    });
    config = testConfig(t, r, { ALERT_WEBHOOK_URL: ministry.url, ALERT_WEBHOOK_SECRET: SECRET });
    sim = await simulatorWithSources(t.db, config, { regions: '16,31.71', defectRate: 0.05 });
    queues = createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
  });
  afterAll(async () => {
    if (victim && victim.exitCode === null && victim.signalCode === null) victim.kill('SIGKILL');
    await rescuer?.close();
    await queues?.close();
    await sim?.close();
    await ministry?.close();
  });

  it('another worker resends the same bytes under the same key; the receiver processes each digest once; no second row', async () => {
    const env = { ...serviceEnv(config), ALERT_WEBHOOK_URL: ministry.url, ALERT_WEBHOOK_SECRET: SECRET };
    victim = await spawnWorker(env, 1_500);
    const runId = await nationalRun(t.db, queues);
    await expect.poll(() => victim!.signalCode, { timeout: 60_000, interval: 50 }).toBe('SIGKILL');
    expect(killed!.key).toMatch(new RegExp(`^digest:${runId}:(16|31):${CONFIGURED_WEBHOOK_ID}$`));
    // Sent and processed, not recorded: the row is still pending under the dead worker's claim.
    const atKill = await ministryOutbox(t.db);
    expect(atKill).toContain(`${provinceOf(killed!)}:pending:1`);
    expect(atKill).toHaveLength(2);

    // Another worker (same configuration) takes the row over once the dead worker's lease expires.
    rescuer = await startWorker(config, {
      fetchLimits: FAST_FETCH,
      notifyPollMs: 100,
      notifyRetry: { leaseMs: 1_500 },
    });
    await expect
      .poll(() => ministryOutbox(t.db), { timeout: 60_000, interval: 100 })
      .toEqual(PROVINCES.map((p) => `${p}:sent:${p === provinceOf(killed!) ? 2 : 1}`));
    const again = ministry.hits.filter((h) => h.key === killed!.key);
    expect(again).toHaveLength(2);
    expect(again[1]!.body).toBe(killed!.body);
    expect(again[1]!.signature).toBe(killed!.signature);
    expect(verifies(again[1]!, SECRET)).toBe(true);
    // None twice for a receiver that processes each key once, none lost, and one row per digest.
    expect(ministry.hits).toHaveLength(3);
    expect([...ministry.processed.keys()].sort()).toEqual(PROVINCES.map((p) => ministryKey(runId, p)));
    const keys = await t.db.selectFrom('alert_outbox').select('idempotency_key').execute();
    expect(keys.map((k) => k.idempotency_key).sort()).toEqual(PROVINCES.map((p) => ministryKey(runId, p)));
  }, 150_000);
});

describe('ministry webhook: the configuration between starts', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let sim: Simulator;
  let worker: RunningWorker | undefined;
  let queues: QueueClient;
  let first: Receiver;
  let second: Receiver;

  beforeAll(async () => {
    first = await startReceiver();
    second = await startReceiver();
    sim = await simulatorWithSources(t.db, testConfig(t, r), { regions: '16,31.71', defectRate: 0.05 });
    queues = createQueueClient({ redisUrl: r.url, prefix: r.prefix });
  });
  afterAll(async () => {
    await worker?.close();
    await queues?.close();
    await sim?.close();
    await first?.close();
    await second?.close();
  });

  it('a new URL and secret redirect the deliveries; unset, the webhook is disabled and gets nothing', async () => {
    // Started with the first URL; its digests are written but not yet delivered (no poller).
    worker = await startWorker(testConfig(t, r, { ALERT_WEBHOOK_URL: first.url, ALERT_WEBHOOK_SECRET: SECRET }), {
      fetchLimits: FAST_FETCH,
      notifyPollMs: 0,
    });
    const runId = await nationalRun(t.db, queues);
    expect(await ministryOutbox(t.db)).toEqual(PROVINCES.map((p) => `${p}:pending:0`));
    await worker.close();

    // The operator moves the webhook and changes its secret, then restarts the worker.
    worker = await startWorker(
      testConfig(t, r, { ALERT_WEBHOOK_URL: second.url, ALERT_WEBHOOK_SECRET: 'the-new-ministry-secret' }),
      { fetchLimits: FAST_FETCH, notifyPollMs: 100 },
    );
    await expect
      .poll(() => ministryOutbox(t.db), { timeout: 60_000, interval: 100 })
      .toEqual(PROVINCES.map((p) => `${p}:sent:1`));
    expect(first.hits).toEqual([]);
    expect(second.hits.map((h) => h.key).sort()).toEqual(PROVINCES.map((p) => ministryKey(runId, p)));
    for (const h of second.hits) expect(verifies(h, 'the-new-ministry-secret')).toBe(true);
    expect(await getContact(t.db, CONFIGURED_WEBHOOK_ID)).toMatchObject({ address: second.url, enabled: true });
    await worker.close();

    // Unset: the same contact, disabled and still listed; a run's digests skip it.
    worker = await startWorker(testConfig(t, r), { fetchLimits: FAST_FETCH, notifyPollMs: 100 });
    expect(await getContact(t.db, CONFIGURED_WEBHOOK_ID)).toMatchObject({ address: second.url, enabled: false });
    await t.db.updateTable('findings').set({ last_notified_at: null }).execute();
    await nationalRun(t.db, queues);
    // The run had digests to write, and nobody left to write them for: they wait, untold.
    const untold = await t.db
      .selectFrom('findings')
      .select('id')
      .where('status', '=', 'open')
      .where('last_notified_at', 'is', null)
      .execute();
    expect(untold.length).toBeGreaterThan(0);
    expect(await ministryOutbox(t.db)).toHaveLength(2);
    expect(second.hits).toHaveLength(2);
  }, 150_000);
});

describe('ministry webhook: start-up check and what operators see', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let config: Config;

  beforeAll(async () => {
    config = testConfig(t, r);
    await syncConfiguredWebhook(
      t.db,
      { url: 'https://pusat.example.go.id/hooks/pksync', secret: SECRET },
      config.tokenKey,
    );
  });

  it('ALERT_WEBHOOK_URL without ALERT_WEBHOOK_SECRET stops every service, naming the missing variable; and the reverse', async () => {
    const env = { ...serviceEnv(config), ALERT_WEBHOOK_SECRET: '' };
    const results = await Promise.all([
      ...['api', 'worker', 'scheduler'].map((s) =>
        pksync(['serve', s], { ...env, ALERT_WEBHOOK_URL: 'https://pusat.example.go.id/hooks/pksync' }),
      ),
      pksync(['serve', 'worker'], { ...env, ALERT_WEBHOOK_URL: '', ALERT_WEBHOOK_SECRET: SECRET }),
    ]);
    for (const res of results.slice(0, 3)) {
      expect(res.code).toBe(2);
      expect(res.out).toContain('ALERT_WEBHOOK_SECRET: is required when ALERT_WEBHOOK_URL is set');
    }
    expect(results[3]!.code).toBe(2);
    expect(results[3]!.out).toContain('ALERT_WEBHOOK_URL: is required when ALERT_WEBHOOK_SECRET is set');
    expect(results[3]!.out).not.toContain(SECRET);
  }, 60_000);

  it('`pksync contacts list` shows it (never its secret); `pksync contacts remove` refuses it', async () => {
    const env = serviceEnv(config);
    const list = await pksync(['contacts', 'list', '--admin'], env);
    expect(list.code).toBe(0);
    expect(list.out).toContain(CONFIGURED_WEBHOOK_ID);
    expect(list.out).toContain('https://pusat.example.go.id/hooks/pksync');
    expect(list.out).toContain('ministry webhook (ALERT_WEBHOOK_URL)');
    expect(list.out).not.toContain(SECRET);
    const json = await pksync(['contacts', 'list', '--json'], env);
    expect(JSON.parse(json.out)).toEqual([
      expect.objectContaining({ id: CONFIGURED_WEBHOOK_ID, configured: true, hasSecret: true }),
    ]);
    const remove = await pksync(['contacts', 'remove', CONFIGURED_WEBHOOK_ID], env);
    expect(remove.code).not.toBe(0);
    expect(remove.out).toContain('ALERT_WEBHOOK_URL');
    expect(await getContact(t.db, CONFIGURED_WEBHOOK_ID)).toMatchObject({ enabled: true });
  }, 60_000);
});

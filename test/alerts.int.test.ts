import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import { addContact, type Db } from '@pksync/db';
import { createQueueClient, triggerRun, type QueueClient } from '@pksync/queue';
import { start as startWorker, type RunningWorker } from '@pksync/worker';
import type { Simulator } from '@pksync/simulator';
import type { Config } from '@pksync/config';
import { dayDate, FAST_FETCH, simulatorWithSources, testConfig, waitForRun } from './support/harness.ts';

// R15 end to end: simulator with seeded defects → queues → real worker (reconcile with
// the writeDigestOutbox hook, outbox poller) → signed webhooks, one per affected province.

interface Received {
  province: string;
  key: string;
  signature: string;
  body: string;
}

async function startReceivers(): Promise<{
  url: (province: string) => string;
  received: Received[];
  close(): Promise<void>;
}> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        province: (req.url ?? '').split('/').pop() ?? '',
        key: String(req.headers['idempotency-key']),
        signature: String(req.headers['x-pksync-signature']),
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (p) => `http://127.0.0.1:${port}/hook/${p}`,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const secretOf = (p: string) => `secret-of-province-${p}`;

describe('alerts end to end: a national run with seeded defects', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let config: Config;
  let sim: Simulator;
  let worker: RunningWorker;
  let queues: QueueClient;
  let hooks: Awaited<ReturnType<typeof startReceivers>>;
  let db: Db;

  beforeAll(async () => {
    db = t.db;
    config = testConfig(t, r, { PUBLIC_BASE_URL: 'https://pksync.test' });
    // Province 16 (all its agencies) and Kota Jakarta Pusat (31.71), with 5 % seeded defects.
    sim = await simulatorWithSources(db, config, { regions: '16,31.71', defectRate: 0.05 });
    hooks = await startReceivers();
    for (const p of ['16', '31', '32']) {
      await addContact(
        db,
        { provinceCode: p, kind: 'webhook', address: hooks.url(p), secret: secretOf(p) },
        config.tokenKey,
      );
    }
    worker = await startWorker(config, { fetchLimits: FAST_FETCH, notifyPollMs: 200 });
    queues = createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
  });
  afterAll(async () => {
    await queues?.close();
    await worker?.close();
    await sim?.close();
    await hooks?.close();
  });

  it('sends one signed digest per affected province with exactly its findings, none to a province without', async () => {
    const { run } = await triggerRun(db, queues, {
      scope: { kind: 'national' },
      trigger: 'manual',
      requestedBy: 'test',
      asOf: dayDate(0),
    });
    const done = await waitForRun(db, run.id);
    expect(done.status).toBe('completed');
    const findings = await db
      .selectFrom('findings')
      .select(['id', 'province_code'])
      .where('status', '=', 'open')
      .where('code', '<>', 'delivery_failed')
      .execute();
    const affected = [...new Set(findings.map((f) => f.province_code))].sort();
    expect(affected).toEqual(['16', '31']);

    // The poller delivers right after the reconcile commits. The outbox decides what is sent: once
    // every row of it is sent (a hook is received before its row is marked so), nothing else is due.
    const outboxOf = async () =>
      (await db.selectFrom('alert_outbox').select(['status', 'province_code']).execute())
        .map((o) => `${o.province_code}:${o.status}`)
        .sort();
    await expect.poll(outboxOf, { timeout: 60_000, interval: 100 }).toEqual(['16:sent', '31:sent']);
    expect(hooks.received.map((h) => h.province).sort()).toEqual(affected);

    for (const h of hooks.received) {
      expect(h.signature).toBe(`sha256=${createHmac('sha256', secretOf(h.province)).update(h.body).digest('hex')}`);
      expect(h.key).toMatch(new RegExp(`^digest:${run.id}:${h.province}:`));
      const body = JSON.parse(h.body) as {
        province_code: string;
        totals: { new: number };
        groups: { province_code: string; omitted_rows: number; rows: { finding_id: number }[] }[];
      };
      expect(body.province_code).toBe(h.province);
      const own = new Set(findings.filter((f) => f.province_code === h.province).map((f) => Number(f.id)));
      expect(body.totals.new).toBe(own.size);
      const listed = body.groups.flatMap((g) => g.rows.map((x) => x.finding_id));
      const omitted = body.groups.reduce((n, g) => n + g.omitted_rows, 0);
      expect(listed.length + omitted).toBe(own.size);
      expect(listed.every((id) => own.has(id))).toBe(true);
      expect(body.groups.every((g) => g.province_code === h.province)).toBe(true);
    }
  }, 120_000);
});

describe('alerts end to end: the notify.deliver job (no poller)', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let config: Config;
  let sim: Simulator;
  let worker: RunningWorker;
  let queues: QueueClient;
  let hooks: Awaited<ReturnType<typeof startReceivers>>;

  beforeAll(async () => {
    config = testConfig(t, r);
    sim = await simulatorWithSources(t.db, config, { regions: '31.71', defectRate: 0.05 });
    hooks = await startReceivers();
    await addContact(
      t.db,
      { provinceCode: '31', kind: 'webhook', address: hooks.url('31'), secret: secretOf('31') },
      config.tokenKey,
    );
    worker = await startWorker(config, { fetchLimits: FAST_FETCH, notifyPollMs: 0 });
    queues = createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
  });
  afterAll(async () => {
    await queues?.close();
    await worker?.close();
    await sim?.close();
    await hooks?.close();
  });

  it('delivers a run’s digests when its notify.deliver job runs, with the outbox written at reconcile', async () => {
    const { run } = await triggerRun(t.db, queues, {
      scope: { kind: 'national' },
      trigger: 'manual',
      requestedBy: 'test',
      asOf: dayDate(0),
    });
    expect((await waitForRun(t.db, run.id)).status).toBe('completed');
    const pending = await t.db.selectFrom('alert_outbox').select(['status', 'run_id']).execute();
    expect(pending).toEqual([{ status: 'pending', run_id: run.id }]);
    expect(hooks.received).toHaveLength(0);
    await queues.enqueue('notify.deliver', { runId: run.id });
    await expect
      .poll(() => t.db.selectFrom('alert_outbox').select('status').execute(), { timeout: 60_000, interval: 100 })
      .toEqual([{ status: 'sent' }]);
    expect(hooks.received.map((h) => h.province)).toEqual(['31']);
  }, 120_000);
});

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import { getRunProgress, listSourceFetches, type Db } from '@pksync/db';
import { createQueueClient, triggerRun, type QueueClient } from '@pksync/queue';
import type { Simulator } from '@pksync/simulator';
import type { Config } from '@pksync/config';
import {
  dayDate,
  runOutcome,
  simulatorWithSources,
  testConfig,
  undisturbedOutcome,
  waitForRun,
  serviceEnv,
} from './support/harness.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORKER = fileURLToPath(new URL('./support/worker-process.ts', import.meta.url));

/** Starts `test/support/worker-process.ts` with the config's environment; resolves once it consumes. */
async function spawnWorker(config: Config, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, '1500', '2'], {
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
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker process exited early (${code}): ${out}`)));
  });
  child.stdout!.resume();
  return child;
}

// A worker killed with SIGKILL in the middle of a national run: another worker finishes the run,
// and the register equals that of an undisturbed run — nothing lost, nothing doubled.
describe('crash safety', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let config: Config;
  let env: Record<string, string>;
  let sim: Simulator;
  let queues: QueueClient;
  let db: Db;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    db = t.db;
    config = testConfig(t, r);
    env = serviceEnv(config);
    // Slow agencies keep fetches in flight long enough to kill the worker in the middle of them.
    const slow = [
      '16.01-disnaker',
      '16.02-disnaker',
      '16.03-disnaker',
      '16.04-disnaker',
      '16.05-disnaker',
      '16.06-disnaker',
    ];
    sim = await simulatorWithSources(db, config, {
      delays: true,
      faults: Object.fromEntries(slow.map((id) => [id, ['slow' as const]])),
      faultTuning: { slowMs: 700 },
    });
    queues = createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await queues?.close();
    await sim?.close();
  });

  it('a SIGKILLed worker’s jobs are recovered by another; the register equals an undisturbed run', async () => {
    const victim = await spawnWorker(config, env);
    children.push(victim);
    const { run } = await triggerRun(db, queues, {
      scope: { kind: 'national' },
      trigger: 'manual',
      requestedBy: 'test',
      asOf: dayDate(0),
    });
    // Kill it while fetches are in flight: some sources done, not all.
    for (;;) {
      const p = await getRunProgress(db, run.id);
      if (p!.sources.done >= 2 && p!.sources.running > 0) break;
      if (p!.sources.done === p!.sources.total) throw new Error('the run finished before the worker could be killed');
      await new Promise((res) => setTimeout(res, 20));
    }
    const atKill = await getRunProgress(db, run.id);
    victim.kill('SIGKILL');
    await once(victim, 'exit');
    expect(atKill!.sources.done).toBeLessThan(atKill!.sources.total);

    const rescuer = await spawnWorker(config, env);
    children.push(rescuer);
    const done = await waitForRun(db, run.id, 90_000);
    expect(done.status).toBe('completed');
    expect(done.version_published).toBe(1);
    const fetches = await listSourceFetches(db, run.id);
    expect(fetches.every((f) => f.status === 'succeeded')).toBe(true);
    // The interrupted fetches ran again (attempts > 1) and were staged once.
    expect(fetches.some((f) => f.attempts > 1)).toBe(true);
    rescuer.kill('SIGTERM');
    await once(rescuer, 'exit');

    // Reference: the same day read by an undisturbed worker into a fresh database. Nothing lost,
    // nothing doubled: the same register, counts, one row per officer, findings and rejections.
    const ref = await undisturbedOutcome(sim, config, dayDate(0));
    const got = await runOutcome(db, done);
    expect(got.register).toEqual(ref.register);
    expect(got.counts).toEqual(ref.counts);
    expect(got.rows).toEqual(ref.rows);
  }, 180_000);
});

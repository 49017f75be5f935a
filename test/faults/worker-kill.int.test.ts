import { describe, expect, it } from 'vitest';
import { listSourceFetches } from '@pksync/db';
import { waitForRun } from '../support/harness.ts';
import {
  assertNoneExited,
  describeExit,
  expectReferenceOutcome,
  logFigure,
  reconcileGate,
  useFaultScenario,
  type ReferenceRun,
  type ScenarioDatabase,
  type ServiceProcess,
} from './support/index.ts';

/** The bound: a run with one worker SIGKILLed at a quarter of its sources is at most this much later. */
const KILL_DELAY_BOUND_MS = 20_000;
/** A SIGTERMed worker hands its fetches back at once: it exits well within SHUTDOWN_TIMEOUT_MS (15 s by default). */
const PROMPT_EXIT_MS = 5_000;

// A worker process killed (SIGKILL) or stopped (SIGTERM) in the middle of a national run, with the
// default settings (JOB_LOCK_MS 10 s, SHUTDOWN_TIMEOUT_MS 15 s): the other worker finishes the
// run, and its outcome is the undisturbed run's — nothing lost, nothing doubled.
describe('a worker killed mid-run', () => {
  const scenario = useFaultScenario();

  it('an undisturbed run of the same day (the reference)', async () => {
    await scenario.reference();
  }, 120_000);

  /** Starts a run, sends `signal` to one of its two workers once `until` holds, waits for that worker's exit. */
  const signalMidFetch = async (
    name: string,
    signal: NodeJS.Signals,
    options: Parameters<typeof scenario.startRun>[1] = {},
  ) => {
    const ref = await scenario.reference();
    const started = await scenario.startRun(name, options);
    const [target, survivor] = started.workers as [ServiceProcess, ServiceProcess];
    const at = Date.now();
    target.kill(signal);
    const status = await target.exited;
    const exitMs = Date.now() - at;
    const { done, total } = started.progress.sources;
    console.log(`worker sent ${signal} with ${done}/${total} sources done: ${describeExit(status)} after ${exitMs} ms`);
    return { ...started, ref, target, survivor, at, exitMs };
  };
  /** Waits for the run; asserts that it completed with the reference outcome and that `alive` did not exit. */
  const expectCompleted = async (
    fault: string,
    s: { d: ScenarioDatabase; runId: string; ref: ReferenceRun; at: number },
    alive: ServiceProcess[],
  ) => {
    const run = await waitForRun(s.d.db, s.runId, 90_000);
    const later = logFigure(fault, s.ref, s.at, run);
    assertNoneExited(alive);
    expect(run.status, run.error ?? '').toBe('completed');
    await expectReferenceOutcome(s.d.db, run, s.ref);
    return later;
  };

  it('SIGKILL at a quarter of the sources: completes at most 20 s later, with the reference outcome', async () => {
    const s = await signalMidFetch('pksync_kill_fetch', 'SIGKILL', {
      what: 'a quarter of the sources done, others fetching',
      until: (p) => p.sources.done >= p.sources.total / 4 && p.sources.running > 0,
    });
    const later = await expectCompleted('worker-sigkill-mid-fetch', s, [s.survivor]);
    // The killed worker's fetches ran again (and were staged once).
    expect((await listSourceFetches(s.d.db, s.runId)).some((f) => f.attempts > 1)).toBe(true);
    expect(later).toBeLessThanOrEqual(KILL_DELAY_BOUND_MS);
  }, 150_000);

  it('SIGKILL of the worker running the reconciliation, mid-transaction: completes once, with the reference outcome', async () => {
    const ref = await scenario.reference();
    const d = await scenario.database('pksync_kill_reconcile');
    const workers = await scenario.spawnWorkers(d, 2);
    const gate = await reconcileGate(d.url);
    try {
      const { id } = await scenario.triggerNational(d.env());
      const blocked = await gate.blocked(id);
      const victim = workers[Number(/^pksync-worker-(\d+)$/.exec(blocked.applicationName)?.[1])];
      expect(victim, `the reconciling backend's application_name: ${blocked.applicationName}`).toBeDefined();
      console.log(
        `reconciliation held in its transaction by ${blocked.applicationName} (written already: ${blocked.wrote}) at: ${blocked.query.replace(/\s+/g, ' ').slice(0, 120)}`,
      );
      expect(blocked.wrote).toBe(true);
      const killedAt = Date.now();
      victim!.kill('SIGKILL');
      await victim!.exited;
      await gate.release();

      // Exactly the reference's versions, findings and outbox rows: nothing published twice.
      await expectCompleted(
        'worker-sigkill-mid-reconcile',
        { d, runId: id, ref, at: killedAt },
        workers.filter((w) => w !== victim),
      );
    } finally {
      await gate.release();
    }
  }, 150_000);

  it('SIGTERM mid-fetch: the worker exits promptly, the run completes with the reference outcome', async () => {
    const s = await signalMidFetch('pksync_term_fetch', 'SIGTERM');
    // Every job running at SIGTERM was handed back at once, or had finished its last step by then
    // (a fetch already staging is let finish): none is left for the lock to expire.
    const out = s.target.output();
    const stopping = out.slice(out.indexOf('"msg":"worker stopping"'));
    const running = Number(/"running":(\d+),"msg":"stopping: releasing/.exec(stopping)?.[1] ?? 0);
    const released = stopping.match(/job released at shutdown/g)?.length ?? 0;
    const finished =
      stopping.match(/"msg":"(source staged|source unchanged|source failed|run planned|sources asked)/g)?.length ?? 0;
    expect(running).toBeGreaterThan(0);
    expect(released + finished, stopping).toBeGreaterThanOrEqual(running);
    expect(s.target.exitStatus()).toEqual({ code: 0, signal: null });
    expect(s.exitMs).toBeLessThan(PROMPT_EXIT_MS);
    await expectCompleted('worker-sigterm-mid-fetch', s, [s.survivor]);
  }, 150_000);
});

import { z } from 'zod';

/**
 * The queues of the pipeline. Fetches are I/O-bound and run many at a time; reconciliation is one
 * database transaction per run and runs one at a time per worker process.
 */
export const QUEUE_NAMES = ['fetch', 'run', 'notify'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

const runId = z.uuid();
/**
 * The flow of the run a job belongs to (`runs.generation`): 0 for a run's first flow, one more for
 * each resume. Optional (jobs queued before it existed are generation 0).
 */
const gen = z.number().int().min(0).max(1_000_000).optional();
/** The job-id suffix of a generation: none for the first flow, `-g<n>` after a resume. */
export const genSuffix = (g: number | undefined): string => (g ? `-g${g}` : '');

/** How one job is defined: its queue, payload schema, retry policy and deterministic id. */
export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  queue: QueueName;
  schema: S;
  attempts: number;
  backoff: { type: 'exponential' | 'fixed'; delay: number };
  /** Deterministic job id: the same payload can never be queued twice. No `:` (BullMQ forbids it). */
  jobId(payload: z.infer<S>): string;
}

const define = <Q extends QueueName, S extends z.ZodType>(
  d: JobDefinition<S> & { queue: Q },
): JobDefinition<S> & { queue: Q } => d;

/**
 * The job catalog: every job name (dotted) with its payload schema, attempts, back-off and job
 * id. Payloads carry ids, never records; new payload fields must be optional (old jobs may still
 * be in flight). The worker's handler map is typed from this catalog, so a job without a handler
 * fails the type check.
 *
 * A run is a BullMQ flow: the `run.reconcile` parent waits for a `run.plan` child, which adds one
 * `source.fetch` child per source that needs fetching and, for a large run, `run.probe` children
 * that ask the other sources in parts (so every worker process helps).
 */
export const jobCatalog = {
  /**
   * A run's first step: finds which of its sources must be fetched and adds one `source.fetch`
   * child per such source to the run's `run.reconcile` parent. A source whose snapshot is cheaply
   * known to be the reconciled one (files answering 304 Not Modified, the same upload) is finished
   * `unchanged` right there, without a job of its own (a repeat night is mostly such sources).
   */
  'run.plan': define({
    queue: 'fetch',
    schema: z.object({ runId, gen }),
    attempts: 3,
    backoff: { type: 'fixed', delay: 1_000 },
    jobId: (p) => `plan-${p.runId}${genSuffix(p.gen)}`,
  }),
  /**
   * One part of a large run's probes (`run.plan` splits them): asks these sources whether their
   * snapshot is still the reconciled one, finishes the unchanged ones `unchanged`, and adds a
   * `source.fetch` child for each other one. Source ids only, at most a few hundred per part.
   */
  'run.probe': define({
    queue: 'fetch',
    schema: z.object({
      runId,
      part: z.number().int().min(0).max(100_000),
      sourceIds: z.array(z.string().min(1).max(200)).min(1).max(1_000),
      gen,
    }),
    attempts: 3,
    backoff: { type: 'fixed', delay: 1_000 },
    jobId: (p) => `probe-${p.runId}-${p.part}${genSuffix(p.gen)}`,
  }),
  /** Fetch → normalise → stage one source for one run (R9: a failed fetch completes the job). */
  'source.fetch': define({
    queue: 'fetch',
    schema: z.object({ runId, sourceId: z.string().min(1).max(200), gen }),
    // The connector already retries each request (5 tries, back-off, Retry-After); one more whole
    // attempt covers a lost worker or a blip between requests without holding the run for long.
    attempts: 2,
    backoff: { type: 'fixed', delay: 1_000 },
    jobId: (p) => `fetch-${p.runId}-${p.sourceId}${genSuffix(p.gen)}`,
  }),
  /** Reconcile → publish → findings for one run, after all its fetches (R8–R14). */
  'run.reconcile': define({
    queue: 'run',
    schema: z.object({ runId, gen }),
    attempts: 5,
    backoff: { type: 'exponential', delay: 1_000 },
    jobId: (p) => `reconcile-${p.runId}${genSuffix(p.gen)}`,
  }),
  /**
   * R15: deliver a run's alert digests from the outbox (`@pksync/notify` `deliverDue`). Retries of
   * a failing delivery are the outbox's own (back-off up to 24 h and beyond); the worker's outbox
   * poller also delivers rows whose job was never enqueued.
   */
  'notify.deliver': define({
    queue: 'notify',
    schema: z.object({ runId }),
    attempts: 3,
    backoff: { type: 'exponential', delay: 5_000 },
    jobId: (p) => `notify-${p.runId}`,
  }),
};

export type JobCatalog = typeof jobCatalog;
export type JobName = keyof JobCatalog;
export type JobPayload<N extends JobName> = z.infer<JobCatalog[N]['schema']>;
/** The job names consumed from one queue. */
export type JobsOfQueue<Q extends QueueName> = {
  [N in JobName]: JobCatalog[N]['queue'] extends Q ? N : never;
}[JobName];

export const JOB_NAMES = Object.keys(jobCatalog) as JobName[];

/** Validates a payload against its schema; throws a ZodError naming the bad field. */
export function parsePayload<N extends JobName>(name: N, payload: unknown): JobPayload<N> {
  return jobCatalog[name].schema.parse(payload) as JobPayload<N>;
}

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(jobCatalog, name);
}

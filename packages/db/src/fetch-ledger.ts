import DataLoader from 'dataloader';
import type { Db } from './db.ts';
import {
  claimSourceFetches,
  finishSourceFetches,
  type ClaimedFetch,
  type FetchKey,
  type FinishFetchInput,
} from './repositories/fetch.repository.ts';

export interface FetchLedgerOptions {
  /** How long a claim or outcome waits for others to join its statement (default 2 ms). */
  windowMs?: number;
  /** Most fetches in one statement (default 64). */
  maxBatch?: number;
}

/** How many statements the ledger sent for how many fetches (metrics, tests). */
export interface FetchLedgerStats {
  claims: number;
  claimStatements: number;
  finishes: number;
  finishStatements: number;
}

/**
 * The fetch jobs' bookkeeping for one worker process: each `source.fetch` job claims its fetch
 * and records its outcome, and the jobs running at the same time share one statement for each
 * (`claimSourceFetches` / `finishSourceFetches`). A repeat night where every source answers
 * "not modified" is almost nothing but this bookkeeping: ~552 claims and ~552 outcomes, which
 * cost PostgreSQL a statement each when sent one by one.
 *
 * Nothing is cached, and each call resolves only once its own row is written. A statement that
 * fails is retried once per fetch on its own, so one bad row cannot fail the others.
 *
 * @example
 * const ledger = createFetchLedger(db);
 * const claimed = await ledger.claim(runId, sourceId);
 * await ledger.finish(claimed.fetch.id, { status: 'unchanged', contentHash });
 */
export function createFetchLedger(db: Db, options: FetchLedgerOptions = {}) {
  const windowMs = options.windowMs ?? 2;
  const stats: FetchLedgerStats = { claims: 0, claimStatements: 0, finishes: 0, finishStatements: 0 };
  const schedule = (run: () => void) => void setTimeout(run, windowMs);

  /** Runs `all` for the batch; when it fails, runs each item alone (errors stay with their item). */
  async function batch<K, V>(keys: readonly K[], all: (keys: readonly K[]) => Promise<V[]>): Promise<(V | Error)[]> {
    try {
      return await all(keys);
    } catch (e) {
      if (keys.length === 1) throw e;
      return Promise.all(
        keys.map((k) =>
          all([k]).then(
            (r) => r[0] as V,
            (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
          ),
        ),
      );
    }
  }

  const claims = new DataLoader<FetchKey, ClaimedFetch | undefined, FetchKey>(
    (keys) =>
      batch(keys, (ks) => {
        stats.claimStatements++;
        return claimSourceFetches(db, ks);
      }),
    { cache: false, maxBatchSize: options.maxBatch ?? 64, batchScheduleFn: schedule },
  );
  const finishes = new DataLoader<{ fetchId: number; input: FinishFetchInput }, boolean>(
    (items) =>
      batch(items, (is) => {
        stats.finishStatements++;
        return finishSourceFetches(db, is);
      }),
    { cache: false, maxBatchSize: options.maxBatch ?? 64, batchScheduleFn: schedule },
  );

  return {
    /** Claims one source's fetch of a run (see `claimSourceFetches`); undefined when already finished. */
    claim(runId: string, sourceId: string, generation?: number): Promise<ClaimedFetch | undefined> {
      stats.claims++;
      return claims.load({ runId, sourceId, generation });
    },
    /** Records a fetch's outcome (see `finishSourceFetches`); false when it was already finished. */
    finish(fetchId: number, input: FinishFetchInput): Promise<boolean> {
      stats.finishes++;
      return finishes.load({ fetchId, input });
    },
    stats(): Readonly<FetchLedgerStats> {
      return { ...stats };
    },
  };
}

export type FetchLedger = ReturnType<typeof createFetchLedger>;

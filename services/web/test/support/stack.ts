/**
 * The whole pipeline in this process for the end-to-end browser test: the agency simulator
 * (South Sumatra), its sources imported (as `pksync sources import` does), API keys created (as
 * `pksync keys create` does), real workers and the real API serving the console — all on the test
 * file's own PostgreSQL database and Redis prefix. The browser then uses only the public HTTP API.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '@pksync/config';
import { createKey, importSources, type Db } from '@pksync/db';
import { start as startSimulator, type Simulator } from '@pksync/simulator';
import { start as startWorker, type RunningWorker } from '@pksync/worker';
import { start as startApi } from '@pksync/api';
import { webRoot } from '../../src/index.ts';

export interface Stack {
  config: Config;
  sim: Simulator;
  /** Base URL of the API, which also serves the console at `/`. */
  url: string;
  keys: { admin: string; sumsel: string; other: string };
  /** The otherwise empty regency whose source takes uploads (transport `upload`). */
  upload: { sourceId: string; regionCode: string; agency: string };
  close(): Promise<void>;
}

/** An agency name that would run script if it were ever inserted as HTML. */
export const HOSTILE_AGENCY = `<img src=x onerror="window.__pwned=1">Dinas "Unggah" & <b>Co</b>`;

export async function startStack(t: { db: Db; url: string }, r: { url: string; prefix: string }): Promise<Stack> {
  const config = loadConfig({
    DATABASE_URL: t.url,
    REDIS_URL: r.url,
    QUEUE_PREFIX: r.prefix,
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    LOG_LEVEL: process.env.DEBUG_LOGS ? 'debug' : 'error',
    PORT: '0',
    HOST: '127.0.0.1',
    SHUTDOWN_TIMEOUT_MS: '5000',
    WORKER_CONCURRENCY: '6',
  });
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    // No seeded faults or deliberate delays, no mass removal: the test controls what happens.
    const sim = await startSimulator({
      port: 0,
      seed: 7,
      regions: '16',
      delays: false,
      faults: false,
      massRemoval: null,
      baseDate: '2026-06-01',
    });
    closers.push(() => sim.close());
    const empty = sim.agencies().find((a) => a.region.level === 'regency' && a.officers === 0);
    if (!empty) throw new Error('the simulator has no empty regency in South Sumatra (expected 5 of 17)');
    const sources = sim
      .sourcesFile()
      .map((s) =>
        s.id === empty.id
          ? { id: s.id, agency: HOSTILE_AGENCY, region_code: s.region_code, transport: 'upload' as const }
          : s,
      );
    await importSources(t.db, sources, config.tokenKey);
    const admin = await createKey(t.db, { name: 'e2e-admin', role: 'admin', actor: 'test' });
    const sumsel = await createKey(t.db, { name: 'e2e-sumsel', role: 'province', provinceCode: '16', actor: 'test' });
    const other = await createKey(t.db, { name: 'e2e-babel', role: 'province', provinceCode: '19', actor: 'test' });

    const worker: RunningWorker = await startWorker(config, {
      fetchLimits: {
        attempts: 2,
        backoffBaseMs: 20,
        backoffMaxMs: 100,
        maxRetryAfterMs: 2_000,
        requestTimeoutMs: 10_000,
      },
    });
    closers.push(() => worker.close());
    const api = await startApi(config, { webRoot });
    closers.push(() => api.close());
    return {
      config,
      sim,
      url: api.url,
      keys: { admin: admin.key, sumsel: sumsel.key, other: other.key },
      upload: { sourceId: empty.id, regionCode: empty.region.code, agency: HOSTILE_AGENCY },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

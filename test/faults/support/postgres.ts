/**
 * A PostgreSQL server of the fault test's own (initdb into a temporary directory, its own port
 * and socket directory), so a test can stop and restart it without touching the shared server.
 * Works when the test process is root (as in CI): initdb, pg_ctl and postgres then run as the
 * `postgres` OS user, which owns the directory.
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  accessSync,
  appendFileSync,
  chownSync,
  constants,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { createDb, migrateToLatest } from '@pksync/db';
import { freePort, startGuarded } from './ports.ts';

export interface FaultPostgres {
  readonly port: number;
  /** The temporary directory: `data/` (the cluster), the socket and `postgres.log`. */
  readonly dir: string;
  /** `postgres://postgres@127.0.0.1:<port>/<dbName>` (trust authentication). */
  url(dbName?: string): string;
  /** Creates a database and migrates it as `pksync migrate` does (schema + reference data); returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl stop -m immediate`: no shutdown checkpoint, so the next start runs crash recovery (UNLOGGED tables come back empty). */
  stopImmediate(): Promise<void>;
  /** Starts the server (crash recovery first when it was stopped immediately); resolves once it accepts connections. */
  start(): Promise<void>;
  /** {@link stopImmediate}, `downMs` of outage, {@link start}. Returns when it went down and came back (epoch ms). */
  restartImmediate(downMs: number): Promise<{ downAt: number; upAt: number }>;
  /** The server log so far (for a failing test's message). */
  log(): string;
  /** Stops the server (immediately) and removes the directory. Safe to call twice. */
  destroy(): Promise<void>;
}

const REQUIRED = ['initdb', 'pg_ctl', 'postgres'];

const hasServerBinaries = (dir: string) => REQUIRED.every((b) => existsSync(path.join(dir, b)));

/**
 * The directory of initdb/pg_ctl/postgres: `PKSYNC_PG_BIN`, else `pg_config --bindir`, else the
 * newest `/usr/lib/postgresql/<version>/bin` (Debian), else `initdb` on the PATH.
 *
 * @throws Error naming what to install when no server binaries are found.
 */
export function findPostgresBin(env = process.env): string {
  const candidates: string[] = [];
  if (env.PKSYNC_PG_BIN) candidates.push(env.PKSYNC_PG_BIN);
  try {
    candidates.push(
      execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    );
  } catch {
    // no pg_config (or one without a server beside it): try the usual places
  }
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(debian, v, 'bin')));
  }
  const looked = candidates.length ? candidates.join(', ') : 'pg_config --bindir, /usr/lib/postgresql/*/bin';
  for (const dir of (env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(dir);
  const found = candidates.find(hasServerBinaries);
  if (found) return found;
  throw new Error(
    'the fault tests need the PostgreSQL server binaries (initdb, pg_ctl, postgres) and none were found ' +
      `(looked in ${looked} and the PATH).\n` +
      '    Install them (Debian: `apt-get install postgresql-15`; scripts/test does this as root) or set PKSYNC_PG_BIN to their directory.',
  );
}

interface RunAs {
  uid?: number;
  gid?: number;
}

/** Root may not run initdb/postgres: run them as the `postgres` OS user (ids from `id`). */
function postgresUser(): RunAs {
  if (process.getuid?.() !== 0) return {};
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      'the fault tests run as root, and PostgreSQL refuses to run as root: they need a `postgres` OS user ' +
        '(created by Debian’s postgresql package: `apt-get install postgresql-15`).',
    );
  }
}

/** A temporary directory the postgres user can reach (every ancestor searchable by others). */
function tempBase(runAs: RunAs): string {
  let base = os.tmpdir();
  if (runAs.uid !== undefined) {
    for (let d = base; ; d = path.dirname(d)) {
      if ((statSync(d).mode & 0o001) === 0) {
        base = '/tmp';
        break;
      }
      if (path.dirname(d) === d) break;
    }
  }
  accessSync(base, constants.W_OK);
  return mkdtempSync(path.join(base, 'pksync-pg-'));
}

function run(bin: string, args: string[], runAs: RunAs, cwd: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      args,
      {
        ...runAs,
        cwd,
        timeout: timeoutMs,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, LANG: 'C', LC_ALL: 'C' },
      },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`${path.basename(bin)} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
        else resolve(stdout + stderr);
      },
    );
  });
}

/**
 * Starts a fresh PostgreSQL server: trust authentication, 127.0.0.1 on a free port, the socket in
 * its directory, fsync off. Destroy it in `afterAll`.
 *
 * @example
 * const pgServer = await startPostgres();
 * const url = await pgServer.createDatabase('pksync_fault');
 * await pgServer.restartImmediate(5_000);
 */
export async function startPostgres(): Promise<FaultPostgres> {
  const bin = findPostgresBin();
  const runAs = postgresUser();
  const dir = tempBase(runAs);
  if (runAs.uid !== undefined) chownSync(dir, runAs.uid, runAs.gid!);
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const port = await freePort();
  const pgCtl = path.join(bin, 'pg_ctl');
  let destroyed = false;

  try {
    await run(
      path.join(bin, 'initdb'),
      ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      runAs,
      dir,
    );
    // Appending keeps the file's owner (postgres).
    appendFileSync(
      path.join(data, 'postgresql.conf'),
      [
        '',
        '# pksync fault tests',
        "listen_addresses = '127.0.0.1'",
        `port = ${port}`,
        `unix_socket_directories = '${dir}'`,
        'max_connections = 200',
        // Only a process crash is simulated (pg_ctl stop -m immediate), never an OS crash: what
        // was written to the OS survives without fsync, and torn pages cannot happen. But
        // synchronous_commit stays on: with it off, commits still in WAL buffers (shared memory)
        // would be lost by the immediate stop, which a real server with fsync does not do.
        'fsync = off',
        'full_page_writes = off',
        "shared_buffers = '64MB'",
        'restart_after_crash = on',
        '',
      ].join('\n'),
    );
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const url = (dbName = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${dbName}`;
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');

  const start = async () => {
    try {
      await run(pgCtl, ['-D', data, '-l', logFile, '-w', '-t', '60', 'start'], runAs, dir, 70_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- postgres.log ---\n${log().slice(-4000)}`, { cause: e });
    }
  };
  const stopImmediate = async () => {
    await run(pgCtl, ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop'], runAs, dir, 70_000);
  };
  // A test process that dies without destroy() must not leave a server behind.
  const onExit = () => {
    if (destroyed) return;
    try {
      execFileSync(pgCtl, ['-D', data, '-m', 'immediate', 'stop'], {
        ...runAs,
        cwd: dir,
        stdio: 'ignore',
        timeout: 10_000,
      });
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  };
  await startGuarded(start, onExit);

  return {
    port,
    dir,
    url,
    log,
    start,
    stopImmediate,
    async restartImmediate(downMs) {
      const downAt = Date.now();
      await stopImmediate();
      await delay(Math.max(0, downMs - (Date.now() - downAt)));
      await start();
      return { downAt, upAt: Date.now() };
    },
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`createDatabase: "${name}" is not a plain identifier`);
      const admin = new pg.Client({ connectionString: url() });
      admin.on('error', () => {}); // a query in flight rejects; nothing else to do
      await admin.connect();
      try {
        await admin.query(`create database ${name}`);
      } finally {
        await admin.end().catch(() => {});
      }
      // What `pksync migrate` runs: migrations, then the reference data.
      const db = createDb(url(name), { max: 2, applicationName: 'pksync-fault-migrate' });
      try {
        await migrateToLatest(db);
      } finally {
        await db.destroy();
      }
      return url(name);
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      process.off('exit', onExit);
      await stopImmediate().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

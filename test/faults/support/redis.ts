/**
 * A Redis server of the fault test's own (`redis-server --daemonize yes` on a free port, no
 * persistence), so a test can wipe or stop it without touching the shared one.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort, startGuarded } from './ports.ts';

export interface FaultRedis {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Shuts it down without saving and starts it again: every key is gone. */
  wipe(): Promise<void>;
  /** `redis-cli shutdown nosave`; resolves once the process is gone. */
  stop(): Promise<void>;
  /** Starts it (empty); resolves once it answers PING. */
  start(): Promise<void>;
  /** The server log so far. */
  log(): string;
  /** Stops it and removes its directory. Safe to call twice. */
  destroy(): Promise<void>;
}

function run(bin: string, args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${bin} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Whether `pid` still runs (a zombie waiting for a slow init to reap it does not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"
    return !/\)\s+Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/**
 * Starts a fresh, empty Redis on a free port. Destroy it in `afterAll`.
 *
 * @throws Error naming what to install when `redis-server`/`redis-cli` are missing.
 *
 * @example
 * const redis = await startRedis();
 * await redis.wipe(); // every job is lost
 */
export async function startRedis(): Promise<FaultRedis> {
  for (const bin of ['redis-server', 'redis-cli']) {
    try {
      await run(bin, ['--version']);
    } catch {
      throw new Error(
        `the fault tests need ${bin}, which was not found on the PATH.\n` +
          '    Install it (Debian: `apt-get install redis-server`; scripts/test does this as root).',
      );
    }
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pksync-redis-'));
  const port = await freePort();
  const pidFile = path.join(dir, 'redis.pid');
  const logFile = path.join(dir, 'redis.log');
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const ping = () =>
    run('redis-cli', ['-p', String(port), 'ping'], 2_000).then(
      (out) => out.trim() === 'PONG',
      () => false,
    );
  let pid: number | undefined;
  let destroyed = false;

  const start = async () => {
    await run('redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'yes',
      '--dir',
      dir,
      '--pidfile',
      pidFile,
      '--logfile',
      logFile,
    ]);
    const deadline = Date.now() + 10_000;
    while (!(await ping())) {
      if (Date.now() > deadline)
        throw new Error(`redis-server on port ${port} did not answer PING within 10 s\n${log().slice(-2000)}`);
      await delay(50);
    }
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  };
  const stop = async () => {
    await run('redis-cli', ['-p', String(port), 'shutdown', 'nosave']).catch(() => {});
    const deadline = Date.now() + 10_000;
    while (pid !== undefined && alive(pid)) {
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        break;
      }
      await delay(20);
    }
    pid = undefined;
  };
  // A test process that dies without destroy() must not leave a server behind.
  const onExit = () => {
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  await startGuarded(start, onExit);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    log,
    async wipe() {
      await stop();
      await start();
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      process.off('exit', onExit);
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

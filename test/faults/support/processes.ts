/**
 * pksync services and CLI commands as real child processes (`pksync serve …`, `pksync …`), as an
 * operator runs them: their environment is given explicitly, their output is kept for the
 * failure message, and whether they exited is observable.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from './ports.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = 'services/cli/src/main.ts';
/** Output kept per process: the last this many characters. */
const MAX_OUTPUT = 4 << 20;

export type ServiceKind = 'worker' | 'api' | 'scheduler';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  readonly kind: ServiceKind;
  readonly pid: number;
  /** The API's base URL (`http://127.0.0.1:<PORT>`); undefined for the others. */
  readonly url: string | undefined;
  /** stdout and stderr so far, interleaved (the last 4 MB). */
  output(): string;
  /** Resolves when the process exits, with its code or signal. */
  readonly exited: Promise<ExitStatus>;
  /** The exit status once it exited, else null. */
  exitStatus(): ExitStatus | null;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then waits for the exit (SIGKILL after `timeoutMs`). Safe to call twice or after an exit. */
  stop(timeoutMs?: number): Promise<ExitStatus>;
}

/** The environment every child gets besides what a test passes: enough to run node, nothing of the parent's config. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? os.tmpdir(),
  };
  if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;
  return env;
}

function childProcess(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Starts `pksync serve <kind>` and resolves once it is up: a worker or scheduler when it logged
 * `worker started`/`scheduler started` (LOG_LEVEL defaults to `info` for that), the API when
 * `GET /api/v1/healthz` answers (PORT defaults to a free port). Rejects with the output when it
 * exits first or is not up within `readyTimeoutMs`.
 *
 * @example
 * const worker = await spawnService('worker', { DATABASE_URL, REDIS_URL, QUEUE_PREFIX, TOKEN_ENCRYPTION_KEY });
 * const api = await spawnService('api', { DATABASE_URL, REDIS_URL, QUEUE_PREFIX, TOKEN_ENCRYPTION_KEY });
 * await fetch(`${api.url}/api/v1/readyz`);
 */
export async function spawnService(
  kind: ServiceKind,
  env: Record<string, string>,
  options: { readyTimeoutMs?: number; args?: string[] } = {},
): Promise<ServiceProcess> {
  const childEnv: Record<string, string> = { LOG_LEVEL: 'info', ...env };
  // Workers and schedulers serve health and metrics; several run at once here, each on a free port.
  if (kind === 'worker' || kind === 'scheduler') childEnv.METRICS_PORT ??= '0';
  if (kind === 'api') {
    childEnv.HOST ??= '127.0.0.1';
    childEnv.PORT ??= String(await freePort());
  }
  const url = kind === 'api' ? `http://${childEnv.HOST}:${childEnv.PORT}` : undefined;
  const child = childProcess(['serve', kind, ...(options.args ?? [])], childEnv);
  let out = '';
  const append = (d: Buffer) => {
    out += d.toString('utf8');
    if (out.length > MAX_OUTPUT) out = out.slice(-MAX_OUTPUT);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  let status: ExitStatus | null = null;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      resolve(status);
    });
    // Could not be spawned at all ('exit' does not follow).
    child.once('error', (e) => {
      out += `\nspawn failed: ${e.message}\n`;
      status ??= { code: null, signal: null };
      resolve(status);
    });
  });

  const service: ServiceProcess = {
    kind,
    pid: child.pid!,
    url,
    output: () => out,
    exited,
    exitStatus: () => status,
    kill: (signal = 'SIGTERM') => {
      if (!status) child.kill(signal);
    },
    async stop(timeoutMs = 20_000) {
      if (status) return status;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };

  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + readyTimeoutMs;
  const readyLine = `"msg":"${kind} started"`;
  for (;;) {
    if (status) throw new Error(`pksync serve ${kind} exited before it was up (${describeExit(status)}):\n${out}`);
    if (kind === 'api') {
      const res = await fetch(`${url}/api/v1/healthz`, { signal: AbortSignal.timeout(1_000) }).catch(() => null);
      if (res?.ok) break;
    } else if (out.includes(readyLine)) {
      break;
    }
    if (Date.now() > deadline) {
      await service.stop(2_000);
      throw new Error(`pksync serve ${kind} was not up within ${readyTimeoutMs} ms:\n${out}`);
    }
    await delay(100);
  }
  return service;
}

export function describeExit(s: ExitStatus): string {
  return s.signal ? `signal ${s.signal}` : `exit code ${s.code}`;
}

/**
 * Throws when any of `services` has exited, with each exited one's status and output.
 *
 * @example
 * assertNoneExited([worker1, worker2, api]);
 */
export function assertNoneExited(services: readonly ServiceProcess[]): void {
  const dead = services.filter((s) => s.exitStatus());
  if (dead.length === 0) return;
  throw new Error(
    dead
      .map(
        (s) =>
          `pksync serve ${s.kind} (pid ${s.pid}) exited: ${describeExit(s.exitStatus()!)}\n${s.output().slice(-20_000)}`,
      )
      .join('\n\n'),
  );
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when it was killed for running longer than the time-out. */
  timedOut: boolean;
}

/**
 * Runs `pksync <args>` with `env` (and nothing of this process's configuration); SIGKILLs it
 * after `timeoutMs`.
 *
 * @example
 * const r = await runCli(['sync', '--national', '--as-of', '2026-06-01'], env);
 * expect(r.code).toBe(0);
 */
export function runCli(
  args: string[],
  env: Record<string, string>,
  options: { timeoutMs?: number } = {},
): Promise<CliResult> {
  const child = childProcess(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

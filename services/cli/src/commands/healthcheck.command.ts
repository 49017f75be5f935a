import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { envSchema } from '@pksync/config';

export const HEALTH_ROLES = ['api', 'worker', 'scheduler', 'migrate'] as const;
export type HealthRole = (typeof HEALTH_ROLES)[number];

/**
 * The role a container runs, read from its main process's command line (`tini -- node
 * dist/pksync.mjs serve worker` → worker; `… migrate` → migrate), so one image needs one
 * HEALTHCHECK for every role. Undefined when PID 1 is not a pksync command.
 */
export function roleFromCommandLine(argv: readonly string[]): HealthRole | undefined {
  const serve = argv.indexOf('serve');
  if (serve >= 0) {
    const r = argv[serve + 1];
    return r === 'api' || r === 'worker' || r === 'scheduler' ? r : undefined;
  }
  return argv.includes('migrate') ? 'migrate' : undefined;
}

/** The readiness URL of a role on this host: the API's on PORT, a worker's or the scheduler's on METRICS_PORT. */
export function readinessUrl(role: HealthRole, env: Record<string, string | undefined>): string | null {
  const e = envSchema.pick({ PORT: true, METRICS_PORT: true }).parse(env);
  if (role === 'api') return `http://127.0.0.1:${e.PORT}/api/v1/readyz`;
  if (role === 'migrate') return null; // a one-shot job: its exit code is its health
  return `http://127.0.0.1:${e.METRICS_PORT}/readyz`;
}

/** `pksync healthcheck [role]`: the image's HEALTHCHECK; exit 0 when the role's readyz answers 2xx. */
export function register(program: Command): void {
  program
    .command('healthcheck')
    .description(
      "probe this container's service: readyz of the api (PORT) or of a worker or the scheduler (METRICS_PORT)",
    )
    .argument('[role]', `${HEALTH_ROLES.join('|')} (default: PKSYNC_ROLE, else the role PID 1 runs, else api)`)
    .option('--timeout <ms>', 'give up after this many milliseconds', '3000')
    .action(async (roleArg: string | undefined, o: { timeout: string }) => {
      let role = roleArg ?? process.env.PKSYNC_ROLE;
      if (!role) {
        const pid1 = await readFile('/proc/1/cmdline', 'utf8').catch(() => '');
        role = roleFromCommandLine(pid1.split('\0')) ?? 'api';
      }
      if (!(HEALTH_ROLES as readonly string[]).includes(role))
        throw new Error(`unknown role "${role}": use one of ${HEALTH_ROLES.join(', ')}`);
      const url = readinessUrl(role as HealthRole, process.env);
      if (url === null) return;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(Number(o.timeout)) });
        await res.body?.cancel();
        if (!res.ok) {
          console.error(`${role}: ${url} answered ${res.status}`);
          process.exitCode = 1;
        }
      } catch (e) {
        console.error(`${role}: ${url}: ${(e as Error).message}`);
        process.exitCode = 1;
      }
    });
}

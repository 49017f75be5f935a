import { CONFIGURED_WEBHOOK_ID, isConnectionError, syncConfiguredWebhook, type Db } from '@pksync/db';
import type { NotifyLogger } from './deliver.ts';

/** What {@link keepConfiguredWebhook} needs from the configuration (`@pksync/config` `Config`). */
export interface ConfiguredWebhookConfig {
  /** ALERT_WEBHOOK_URL with ALERT_WEBHOOK_SECRET, or undefined when unset. */
  alertWebhook: { url: string; secret: string } | undefined;
  /** Encrypts the secret at rest (TOKEN_ENCRYPTION_KEY; loadConfig requires it with the webhook). */
  tokenKey: Buffer | undefined;
}

export interface ConfiguredWebhookKeeper {
  /** Stops retrying (when PostgreSQL was unreachable at start-up). Safe to call twice. */
  stop(): void;
}

/**
 * Brings the ministry webhook contact in line with this process's configuration at worker
 * start-up (`syncConfiguredWebhook` of `@pksync/db`): created, updated, enabled, or disabled when
 * the variables are unset. PostgreSQL unreachable does not stop the worker (it starts without the
 * database today): the sync is tried again every `retryMs` until it succeeds. Any other failure —
 * the URL already an admin contact added by hand — throws, so start-up stops with the reason.
 *
 * @example const keeper = await keepConfiguredWebhook(db, config, log);
 */
export async function keepConfiguredWebhook(
  db: Db,
  config: ConfiguredWebhookConfig,
  log: NotifyLogger,
  options: { retryMs?: number } = {},
): Promise<ConfiguredWebhookKeeper> {
  const attempt = async () => {
    const r = await syncConfiguredWebhook(db, config.alertWebhook, config.tokenKey);
    if (r.status === 'absent') return;
    log.info(
      { contactId: CONFIGURED_WEBHOOK_ID, status: r.status, changed: r.changed },
      `ministry webhook (ALERT_WEBHOOK_URL) ${r.status}`,
    );
  };
  try {
    await attempt();
    return { stop() {} };
  } catch (e) {
    if (!isConnectionError(e)) throw e;
    log.warn({ err: e }, 'PostgreSQL unreachable: the ministry webhook (ALERT_WEBHOOK_URL) is synced once it is back');
  }
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(() => {
      attempt().catch((e: unknown) => {
        if (stopped) return;
        if (isConnectionError(e)) schedule();
        else log.error({ err: e }, 'the ministry webhook (ALERT_WEBHOOK_URL) could not be synced');
      });
    }, options.retryMs ?? 5_000);
    timer.unref();
  };
  schedule();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

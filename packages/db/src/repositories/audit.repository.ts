import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** Audited actions (register-api-v1.md: every trigger, confirmation, upload and key change). */
export type AuditAction =
  | 'sync.trigger'
  | 'source.upload'
  | 'source.update'
  | 'removal.confirm'
  | 'finding.ack'
  | 'key.create'
  | 'key.revoke'
  | (string & {});

/** One audit entry to write: who, what, on what, why. */
export interface AuditEntry {
  /** `key:<name>` for API keys, `cli:<os user>` for the CLI. */
  actor: string;
  actorRole: string;
  action: AuditAction;
  target?: string | null;
  provinceCode?: string | null;
  reason?: string | null;
  details?: Record<string, unknown>;
}

/** An audit entry as read back. */
export interface AuditRecord {
  id: number;
  at: Date;
  actor: string;
  actorRole: string;
  action: string;
  target: string | null;
  provinceCode: string | null;
  reason: string | null;
  details: Record<string, unknown>;
}

/**
 * Appends one audit entry. Pass the transaction that does the audited change, so the entry and the
 * change commit (or roll back) together.
 */
export async function writeAudit(db: Kysely<Database>, entry: AuditEntry): Promise<number> {
  const row = await db
    .insertInto('audit_log')
    .values({
      actor: entry.actor,
      actor_role: entry.actorRole,
      action: entry.action,
      target: entry.target ?? null,
      province_code: entry.provinceCode ?? null,
      reason: entry.reason ?? null,
      details: JSON.stringify(entry.details ?? {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/**
 * Audit entries, newest first: keyset by id descending (`afterId` = the id of the last entry of
 * the previous page; an entry written meanwhile has a higher id and shifts nothing).
 */
export async function listAudit(
  db: Kysely<Database>,
  opts: { limit: number; afterId?: number; action?: string; actor?: string; provinceCode?: string },
): Promise<AuditRecord[]> {
  let q = db.selectFrom('audit_log').selectAll();
  if (opts.afterId !== undefined) q = q.where('id', '<', opts.afterId);
  if (opts.action) q = q.where('action', '=', opts.action);
  if (opts.actor) q = q.where('actor', '=', opts.actor);
  if (opts.provinceCode) q = q.where('province_code', '=', opts.provinceCode);
  const rows = await q.orderBy('id', 'desc').limit(opts.limit).execute();
  return rows.map((r) => ({
    id: Number(r.id),
    at: r.at,
    actor: r.actor,
    actorRole: r.actor_role,
    action: r.action,
    target: r.target,
    provinceCode: r.province_code,
    reason: r.reason,
    details: r.details,
  }));
}

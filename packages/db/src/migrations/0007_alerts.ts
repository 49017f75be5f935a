import { sql, type Kysely } from 'kysely';

// Frozen in time: never import application code here.
//
// R15 alerts: who is told (alert_contacts), what is to be sent (alert_outbox, written in the same
// transaction as the findings it reports), and the per-finding bookkeeping that makes reminders
// (at most once every 7 days), resolutions and escalations (30 days) happen once.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('alert_contacts')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    // Null for the ministry's admin contacts (is_admin), a province code otherwise.
    .addColumn('province_code', 'text', (c) => c.references('regions.code'))
    .addColumn('is_admin', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('email', 'webhook')`))
    // An e-mail address or a webhook URL.
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    // Webhook signing secret, AES-256-GCM (v1:iv:tag:data, the contact id as AAD); never plain.
    .addColumn('secret_encrypted', 'text')
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('alert_contacts_audience_ck', sql`is_admin = (province_code is null)`)
    .addCheckConstraint('alert_contacts_secret_ck', sql`kind = 'email' or secret_encrypted is not null`)
    .execute();
  await sql`create unique index alert_contacts_address_uq on alert_contacts (coalesce(province_code, ''), kind, lower(address))`.execute(
    db,
  );

  await db.schema
    .createTable('alert_outbox')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    // Stable per (run, audience, contact): sent as the webhook's Idempotency-Key and the e-mail's
    // Message-ID, and unique so a digest is written once.
    .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('digest', 'escalation', 'delivery_failed')`))
    .addColumn('run_id', 'uuid')
    .addColumn('audience', 'text', (c) => c.notNull().check(sql`audience in ('province', 'ministry')`))
    .addColumn('province_code', 'text')
    .addColumn('contact_id', 'uuid', (c) => c.references('alert_contacts.id').onDelete('set null'))
    .addColumn('channel', 'text', (c) => c.notNull().check(sql`channel in ('email', 'webhook')`))
    // The digest as data; rendered (deterministically) at delivery.
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('finding_ids', sql`bigint[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('pending')
        .check(sql`status in ('pending', 'sent', 'dead', 'cancelled')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // A claim is a lease: a worker killed mid-send leaves it to expire, then another resends
    // with the same idempotency key (at-least-once).
    .addColumn('claim_token', 'uuid')
    .addColumn('locked_until', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('first_attempt_at', 'timestamptz')
    .addColumn('failure_reported_at', 'timestamptz')
    .addColumn('sent_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index alert_outbox_due on alert_outbox (next_attempt_at) where status = 'pending'`.execute(db);
  await db.schema.createIndex('alert_outbox_run_idx').on('alert_outbox').columns(['run_id', 'province_code']).execute();

  await db.schema
    .alterTable('findings')
    .addColumn('last_notified_at', 'timestamptz')
    .addColumn('notify_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('resolution_notified_at', 'timestamptz')
    .addColumn('escalated_at', 'timestamptz')
    .execute();
  await sql`create index findings_notify_due on findings (province_code, last_notified_at) where status = 'open'`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists findings_notify_due`.execute(db);
  await db.schema
    .alterTable('findings')
    .dropColumn('last_notified_at')
    .dropColumn('notify_count')
    .dropColumn('resolution_notified_at')
    .dropColumn('escalated_at')
    .execute();
  await db.schema.dropTable('alert_outbox').ifExists().execute();
  await db.schema.dropTable('alert_contacts').ifExists().execute();
}

import { sql, type Kysely } from 'kysely';

// Frozen in time: never import application code here.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('regions')
    .addColumn('code', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('level', 'text', (c) => c.notNull().check(sql`level in ('province', 'regency')`))
    .addColumn('parent_code', 'text', (c) => c.references('regions.code'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('provinsi', 'kabupaten', 'kota')`))
    .execute();
  await db.schema.createIndex('regions_parent_idx').on('regions').column('parent_code').execute();

  await db.schema
    .createTable('levels')
    .addColumn('code', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('retirement_age', 'integer', (c) => c.notNull())
    .addColumn('rank', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('grades')
    .addColumn('code', 'text', (c) => c.primaryKey())
    .addColumn('pangkat', 'text', (c) => c.notNull())
    .addColumn('group', 'text', (c) => c.notNull())
    .addColumn('level_code', 'text', (c) => c.references('levels.code'))
    .addColumn('rank', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sources')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('agency', 'text', (c) => c.notNull())
    .addColumn('region_code', 'text', (c) => c.notNull().references('regions.code'))
    .addColumn('transport', 'text', (c) => c.notNull().check(sql`transport in ('api', 'csv', 'xlsx', 'upload')`))
    .addColumn('url', 'text')
    .addColumn('formations_url', 'text')
    // AES-256-GCM ciphertext (iv:tag:data, base64); never the token itself.
    .addColumn('token_encrypted', 'text')
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('timeout_s', 'integer')
    .addColumn('max_bytes', 'bigint')
    .addColumn('max_rows', 'integer')
    .addColumn('last_success_at', 'timestamptz')
    .addColumn('last_content_hash', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('sources_region_idx').on('sources').column('region_code').execute();

  await db.schema
    .createTable('runs')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('scope_kind', 'text', (c) =>
      c.notNull().check(sql`scope_kind in ('national', 'province', 'region', 'source')`),
    )
    .addColumn('scope_value', 'text')
    // 'national', 'province:16', 'region:16.71', 'source:<id>': one active run per key.
    .addColumn('scope_key', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull().check(sql`trigger in ('schedule', 'manual')`))
    .addColumn('requested_by', 'text')
    .addColumn('reason', 'text')
    .addColumn('as_of', 'date', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('queued')
        .check(sql`status in ('queued', 'running', 'completed', 'failed')`),
    )
    // e.g. 'national:2026-11-27': two schedulers firing the same night make one run.
    .addColumn('schedule_slot', 'text', (c) => c.unique())
    .addColumn('counts', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('version_published', 'integer')
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await sql`create unique index runs_one_active_per_scope on runs (scope_key) where status in ('queued', 'running')`.execute(
    db,
  );
  await db.schema.createIndex('runs_created_idx').on('runs').column('created_at').execute();

  await db.schema
    .createTable('source_fetches')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('run_id', 'uuid', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('source_id', 'text', (c) => c.notNull().references('sources.id'))
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('pending')
        .check(sql`status in ('pending', 'running', 'succeeded', 'unchanged', 'failed')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('content_hash', 'text')
    .addColumn('counts', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addUniqueConstraint('source_fetches_run_source_uq', ['run_id', 'source_id'])
    .execute();
  await db.schema.createIndex('source_fetches_source_idx').on('source_fetches').columns(['source_id', 'id']).execute();

  await db.schema
    .createTable('findings')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull().check(sql`severity in ('error', 'warning', 'info')`))
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('open')
        .check(sql`status in ('open', 'acknowledged', 'resolved')`),
    )
    // Identity of the condition across runs (code + source/region + nip + …): the same
    // condition seen again updates the open finding instead of raising a new one.
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('province_code', 'text', (c) => c.notNull())
    .addColumn('region_code', 'text')
    .addColumn('source_id', 'text')
    .addColumn('nip', 'text')
    .addColumn('row', 'integer')
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('first_run_id', 'uuid')
    .addColumn('last_run_id', 'uuid')
    .addColumn('first_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('acknowledged_at', 'timestamptz')
    .addColumn('acknowledged_by', 'text')
    .addColumn('ack_note', 'text')
    .addColumn('resolved_at', 'timestamptz')
    .addColumn('resolved_run_id', 'uuid')
    .execute();
  await sql`create unique index findings_one_unresolved on findings (fingerprint) where status <> 'resolved'`.execute(
    db,
  );
  await db.schema.createIndex('findings_province_idx').on('findings').columns(['province_code', 'status']).execute();
  await db.schema.createIndex('findings_source_idx').on('findings').columns(['source_id', 'status']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['findings', 'source_fetches', 'runs', 'sources', 'grades', 'levels', 'regions']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}

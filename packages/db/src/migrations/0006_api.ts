import { sql, type Kysely } from 'kysely';

// Frozen in time: never import application code here.
//
// API keys (stored only as SHA-256 hashes of high-entropy random keys), the audit log, and the
// indexes the register API reads with (cursor paging by id per province/region, trigram search on
// the normalised name).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create extension if not exists pg_trgm`.execute(db);

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin', 'province')`))
    .addColumn('province_code', 'text', (c) => c.references('regions.code'))
    // The public part of the key (`pks_<lookup>_…`): finds the row; the hash is then compared in
    // constant time.
    .addColumn('lookup', 'text', (c) => c.notNull().unique())
    // sha256(key), hex. The key itself is shown once at creation and never stored.
    .addColumn('key_hash', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('revoked_by', 'text')
    .addColumn('last_used_at', 'timestamptz')
    .addCheckConstraint(
      'api_keys_role_scope',
      sql`(role = 'admin' and province_code is null) or (role = 'province' and province_code is not null and province_code ~ '^[0-9]{2}$')`,
    )
    .execute();
  // A name identifies one live key (`pksync keys revoke NAME`); a revoked name may be reused.
  await sql`create unique index api_keys_live_name on api_keys (name) where revoked_at is null`.execute(db);

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Key name (`key:<name>`) or `cli:<os user>`.
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('actor_role', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('province_code', 'text')
    .addColumn('reason', 'text')
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('audit_log_at_idx').on('audit_log').columns(['at', 'id']).execute();
  await db.schema.createIndex('audit_log_action_idx').on('audit_log').columns(['action', 'id']).execute();

  // Register reads: the current version paged by id, per province or region, and name search.
  await sql`create index officer_records_current_province_id on officer_records (province_code, id) where valid_to is null`.execute(
    db,
  );
  await sql`create index officer_records_current_region_id on officer_records (region_code, id) where valid_to is null`.execute(
    db,
  );
  await sql`create index officer_records_current_id on officer_records (id) where valid_to is null`.execute(db);
  await sql`create index officer_records_current_name_trgm on officer_records using gin (name_normalised gin_trgm_ops) where valid_to is null`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const i of [
    'officer_records_current_name_trgm',
    'officer_records_current_id',
    'officer_records_current_region_id',
    'officer_records_current_province_id',
  ]) {
    await db.schema.dropIndex(i).ifExists().execute();
  }
  await db.schema.dropTable('audit_log').ifExists().execute();
  await db.schema.dropTable('api_keys').ifExists().execute();
}

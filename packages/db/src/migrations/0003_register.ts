import { sql, type Kysely } from 'kysely';

// Frozen in time: never import application code here.
//
// The register is versioned in place: each officer_records row is valid for the versions
// [valid_from, valid_to). A run that changes the register writes the new rows, closes the old
// ones and inserts its publications row in one transaction, so a reader of version v
// (valid_from <= v and (valid_to is null or valid_to > v)) sees a whole version (R14).

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('publications')
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('run_id', 'uuid', (c) => c.notNull().references('runs.id'))
    .addColumn('as_of', 'date', (c) => c.notNull())
    .addColumn('published_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // { added, removed, changed, active, officers }
    .addColumn('counts', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();

  await db.schema
    .createTable('officer_records')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('nip', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('region_code', 'text', (c) => c.notNull())
    .addColumn('province_code', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_normalised', 'text', (c) => c.notNull())
    .addColumn('gender', 'text', (c) => c.notNull())
    .addColumn('birth_date', 'date', (c) => c.notNull())
    .addColumn('level', 'text', (c) => c.notNull())
    .addColumn('grade', 'text', (c) => c.notNull())
    .addColumn('unit', 'text', (c) => c.notNull())
    .addColumn('tmt_jabatan', 'date', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('active', 'boolean', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('phone', 'text')
    .addColumn('source_updated_at', 'timestamptz')
    // R11: reached the retirement age of the level on the run's as_of.
    .addColumn('past_retirement', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('valid_from', 'integer', (c) => c.notNull())
    .addColumn('valid_to', 'integer')
    .execute();
  await sql`create unique index officer_records_current_nip on officer_records (nip) where valid_to is null`.execute(
    db,
  );
  await sql`create index officer_records_current_region on officer_records (province_code, region_code, level) where valid_to is null`.execute(
    db,
  );
  await sql`create index officer_records_current_source on officer_records (source_id) where valid_to is null`.execute(
    db,
  );
  await sql`create index officer_records_nip_versions on officer_records (nip, valid_from)`.execute(db);

  await db.schema
    .createTable('publication_changes')
    // No foreign key: reconcileRun writes a version's changes in the transaction that inserts its
    // publication, and a per-row RI check costs seconds on a first load of 1M officers.
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('nip', 'text', (c) => c.notNull())
    .addColumn('change', 'text', (c) => c.notNull().check(sql`change in ('added', 'removed', 'changed')`))
    // Changed fields ('region_code', 'grade', …) for 'changed'.
    .addColumn('fields', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    // The officer's region/source after the change (before it, for 'removed').
    .addColumn('region_code', 'text', (c) => c.notNull())
    .addColumn('province_code', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text', (c) => c.notNull())
    // Where the officer was before, for 'changed' (a transfer shows both ends); null otherwise.
    .addColumn('previous_region_code', 'text')
    .addColumn('previous_source_id', 'text')
    // Why: 'new', 'updated', 'retirement_age' (R11), 'disappeared' (R8), 'transfer' (R10),
    // 'removal_confirmed' / 'removal_repeated' (R8 held removal applied).
    .addColumn('reason', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('publication_changes_pk', ['version', 'nip'])
    .execute();
  await db.schema.createIndex('publication_changes_nip').on('publication_changes').column('nip').execute();
  await db.schema
    .createIndex('publication_changes_province')
    .on('publication_changes')
    .columns(['version', 'province_code', 'nip'])
    .execute();

  await db.schema
    .createTable('formations')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('region_code', 'text', (c) => c.notNull())
    .addColumn('year', 'integer', (c) => c.notNull())
    .addColumn('level', 'text', (c) => c.notNull())
    .addColumn('need', 'integer', (c) => c.notNull())
    .addColumn('approved', 'integer', (c) => c.notNull())
    .addColumn('valid_from', 'integer', (c) => c.notNull())
    .addColumn('valid_to', 'integer')
    .execute();
  await sql`create unique index formations_current on formations (region_code, year, level) where valid_to is null`.execute(
    db,
  );
  await sql`create index formations_current_source on formations (source_id) where valid_to is null`.execute(db);
  await sql`create index formations_versions on formations (valid_from, valid_to)`.execute(db);

  await db.schema
    .createTable('held_removals')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('source_id', 'text', (c) => c.notNull().references('sources.id'))
    .addColumn('run_id', 'uuid', (c) => c.notNull().references('runs.id'))
    .addColumn('nips', sql`text[]`, (c) => c.notNull())
    .addColumn('active_before', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('held')
        .check(sql`status in ('held', 'confirmed', 'applied', 'superseded')`),
    )
    .addColumn('confirmed_by', 'text')
    .addColumn('confirmed_at', 'timestamptz')
    .addColumn('confirm_reason', 'text')
    // The run that applied (or superseded) it, and how: 'confirmed' by an admin or 'repeated' by
    // the next snapshot (R8).
    .addColumn('resolved_run_id', 'uuid')
    .addColumn('resolved_at', 'timestamptz')
    .addColumn('resolution', 'text', (c) => c.check(sql`resolution in ('confirmed', 'repeated', 'superseded')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index held_removals_one_open on held_removals (source_id) where status in ('held', 'confirmed')`.execute(
    db,
  );

  await db.schema
    .createTable('rejected_records')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('run_id', 'uuid', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('row', 'integer', (c) => c.notNull())
    .addColumn('nip', 'text')
    .addColumn('codes', sql`text[]`, (c) => c.notNull())
    .addColumn('fields', sql`text[]`, (c) => c.notNull())
    .addColumn('raw', 'jsonb', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('rejected_records_run_source')
    .on('rejected_records')
    .columns(['run_id', 'source_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'rejected_records',
    'held_removals',
    'formations',
    'publication_changes',
    'officer_records',
    'publications',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}

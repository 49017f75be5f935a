import { sql, type Kysely } from 'kysely';

// Frozen in time: never import application code here.
//
// Staging: each source's normalised snapshot of a run, written in bulk by stageSnapshot() and read
// set-based by reconcileRun(). The row tables are UNLOGGED (no WAL: staging 1M rows is several
// times faster); their header, staged_snapshots, is logged and carries the row counts, so rows
// lost to a server crash are detected instead of being read as an empty snapshot (which R8 would
// take for a mass removal).
//
// source_listings points at the snapshot each source last reconciled: its rows are kept (older
// ones are deleted) because R10 needs what *other* agencies list — an officer who loses a
// transfer comparison is not in the register but is still listed, and comes back if the winner
// drops them, even when the loser's own file has not changed since.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('staged_snapshots')
    .addColumn('run_id', 'uuid', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('source_id', 'text', (c) => c.notNull().references('sources.id'))
    .addColumn('fetch_id', 'bigint')
    .addColumn('content_hash', 'text')
    .addColumn('officer_count', 'integer', (c) => c.notNull())
    .addColumn('formation_count', 'integer', (c) => c.notNull())
    .addColumn('finding_count', 'integer', (c) => c.notNull())
    .addColumn('rejected_count', 'integer', (c) => c.notNull())
    .addColumn('stats', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('staged_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
    .addColumn('reconciled_at', 'timestamptz')
    // Its rows were deleted (superseded by a newer reconciled snapshot of the source).
    .addColumn('discarded_at', 'timestamptz')
    .addPrimaryKeyConstraint('staged_snapshots_pk', ['run_id', 'source_id'])
    .execute();
  await db.schema
    .createIndex('staged_snapshots_source')
    .on('staged_snapshots')
    .columns(['source_id', 'staged_at'])
    .execute();

  await sql`
    create unlogged table staged_officers (
      run_id uuid not null,
      source_id text not null,
      nip text not null,
      name text not null,
      name_normalised text not null,
      gender text not null,
      birth_date date not null,
      level text not null,
      grade text not null,
      unit text not null,
      region_code text not null,
      tmt_jabatan date not null,
      status text not null,
      active boolean not null,
      email text,
      phone text,
      source_updated_at timestamptz,
      position integer not null
    )`.execute(db);
  await sql`create index staged_officers_run_source on staged_officers (run_id, source_id)`.execute(db);
  // R10 looks up what every other listing says about the NIPs a run touches.
  await sql`create index staged_officers_nip on staged_officers (nip)`.execute(db);

  await sql`
    create unlogged table staged_formations (
      run_id uuid not null,
      source_id text not null,
      region_code text not null,
      year integer not null,
      level text not null,
      need integer not null,
      approved integer not null,
      position integer not null
    )`.execute(db);
  await sql`create index staged_formations_run_source on staged_formations (run_id, source_id)`.execute(db);

  // R2/R3/R7 record findings raised by the normaliser (R6 rejections are in rejected_records).
  await sql`
    create unlogged table staged_findings (
      run_id uuid not null,
      source_id text not null,
      code text not null,
      severity text not null,
      row integer,
      nip text,
      details jsonb not null default '{}'::jsonb
    )`.execute(db);
  await sql`create index staged_findings_run_source on staged_findings (run_id, source_id)`.execute(db);

  await db.schema
    .createTable('source_listings')
    .addColumn('source_id', 'text', (c) => c.primaryKey().references('sources.id'))
    .addColumn('run_id', 'uuid', (c) => c.notNull())
    .addColumn('staged_at', 'timestamptz', (c) => c.notNull())
    .addColumn('reconciled_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Fewer register indexes: a first load of 1M officers spent most of its time writing WAL for
  // five secondary indexes. One unique (nip, valid_to or +inf) index both enforces one current
  // row per NIP (closed rows of a NIP end at distinct versions) and serves every lookup by NIP;
  // a source's current rows are found through the region index (a record's region is its
  // source's region, R4); a diff by province scans the version's rows.
  await sql`drop index officer_records_current_nip`.execute(db);
  await sql`drop index officer_records_nip_versions`.execute(db);
  await sql`drop index officer_records_current_source`.execute(db);
  await sql`create unique index officer_records_nip on officer_records (nip, coalesce(valid_to, 2147483647))`.execute(
    db,
  );
  await sql`drop index publication_changes_province`.execute(db);

  // One row: the as_of for which the register's R11 flags and the R11/R12 findings were last
  // evaluated over the whole register. A run with the same as_of re-evaluates only what it
  // touched; another as_of (next day, a replay) re-evaluates everything.
  await db.schema
    .createTable('register_state')
    .addColumn('id', 'boolean', (c) =>
      c
        .primaryKey()
        .defaultTo(true)
        .check(sql`id`),
    )
    .addColumn('evaluated_as_of', 'date')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists officer_records_nip`.execute(db);
  await sql`create unique index officer_records_current_nip on officer_records (nip) where valid_to is null`.execute(
    db,
  );
  await sql`create index officer_records_nip_versions on officer_records (nip, valid_from)`.execute(db);
  await sql`create index officer_records_current_source on officer_records (source_id) where valid_to is null`.execute(
    db,
  );
  await sql`create index publication_changes_province on publication_changes (version, province_code, nip)`.execute(db);
  for (const t of [
    'register_state',
    'source_listings',
    'staged_findings',
    'staged_formations',
    'staged_officers',
    'staged_snapshots',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}

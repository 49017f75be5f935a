import { sql, type Kysely } from 'kysely';
import { up as createStageFunctionOf0009 } from './0009_stage_function.ts';

// Frozen in time: never import application code here.
//
// Needs and formation planning (needs-planning-v1.md):
// - need_parameters: the versioned parameter sets of R16 (never edited in place; `seq` orders
//   versions added with the same valid_from, the later one in force);
// - staged_workloads: a snapshot's workload rows (UNLOGGED like the other staged rows; counted by
//   staged_snapshots.workload_count so rows lost to a crash are detected);
// - workloads: the register's workload rows, one source's set per region and year;
// - computed_needs: R16's need per region, year and level, with the parameter version used;
// - retirement_outlook: R18's active officers and retiring counts per region and level for the
//   last evaluated as_of (also the `terisi` GET /needs shows, kept by every reconcile).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table need_parameters (
      version text primary key,
      seq bigserial not null unique,
      status text not null check (status in ('confirmed', 'unconfirmed')),
      valid_from date not null,
      document jsonb not null,
      added_by text not null,
      added_at timestamptz not null default now()
    )`.execute(db);

  // `csv` sources: the optional workload CSV.
  await sql`alter table sources add column workloads_url text`.execute(db);
  await sql`alter table staged_snapshots add column workload_count integer not null default 0`.execute(db);
  await sql`
    create unlogged table staged_workloads (
      run_id uuid not null,
      source_id text not null,
      region_code text not null,
      year integer not null,
      activity text not null,
      volume integer not null,
      districts integer,
      complexity text,
      position integer not null
    )`.execute(db);
  await sql`create index staged_workloads_run_source on staged_workloads (run_id, source_id)`.execute(db);

  await sql`
    create table workloads (
      region_code text not null,
      year integer not null,
      activity text not null,
      source_id text not null,
      volume integer not null,
      districts integer,
      complexity text,
      position integer not null,
      run_id uuid not null,
      primary key (region_code, year, activity)
    )`.execute(db);
  await sql`create index workloads_source_year on workloads (source_id, year)`.execute(db);

  await sql`
    create table computed_needs (
      region_code text not null,
      year integer not null,
      level text not null,
      province_code text not null,
      need integer not null,
      exact numeric not null,
      area_factor numeric not null,
      complexity_factor numeric not null,
      parameter_version text not null references need_parameters (version),
      as_of date not null,
      run_id uuid not null,
      primary key (region_code, year, level)
    )`.execute(db);
  await sql`create index computed_needs_year on computed_needs (year, province_code)`.execute(db);

  await sql`
    create table retirement_outlook (
      region_code text not null,
      level text not null,
      province_code text not null,
      as_of date not null,
      active integer not null,
      retiring_1 integer not null,
      retiring_3 integer not null,
      retiring_5 integer not null,
      primary key (region_code, level)
    )`.execute(db);

  // The one-round-trip staging function, now with the workload rows.
  await sql`drop function pksync_stage_snapshot(uuid, text, bigint, text, jsonb, jsonb, jsonb, jsonb, jsonb)`.execute(
    db,
  );
  await sql`
    create function pksync_stage_snapshot(
      p_run uuid, p_source text, p_fetch bigint, p_hash text,
      p_officers jsonb, p_formations jsonb, p_findings jsonb, p_rejected jsonb, p_stats jsonb, p_workloads jsonb
    ) returns void language plpgsql as $fn$
    begin
      perform pg_advisory_xact_lock(hashtext('pksync.stage:' || p_run || ':' || p_source));
      if not exists (select 1 from runs where id = p_run) then
        raise exception 'run % does not exist', p_run using errcode = 'PK001';
      end if;
      if not exists (select 1 from sources where id = p_source) then
        raise exception 'source "%" does not exist', p_source using errcode = 'PK002';
      end if;
      delete from staged_officers where run_id = p_run and source_id = p_source;
      delete from staged_formations where run_id = p_run and source_id = p_source;
      delete from staged_findings where run_id = p_run and source_id = p_source;
      delete from staged_workloads where run_id = p_run and source_id = p_source;
      delete from rejected_records where run_id = p_run and source_id = p_source;
      insert into staged_officers (run_id, source_id, nip, name, name_normalised, gender, birth_date, level,
          grade, unit, region_code, tmt_jabatan, status, active, email, phone, source_updated_at, position)
        select p_run, p_source, e->>0, e->>1, e->>2, e->>3, (e->>4)::date, e->>5, e->>6, e->>7, e->>8,
          (e->>9)::date, e->>10, (e->>11)::boolean, e->>12, e->>13, (e->>14)::timestamptz, (e->>15)::integer
        from jsonb_array_elements(p_officers) e;
      insert into staged_formations (run_id, source_id, region_code, year, level, need, approved, position)
        select p_run, p_source, e->>0, (e->>1)::integer, e->>2, (e->>3)::integer, (e->>4)::integer,
          (e->>5)::integer
        from jsonb_array_elements(p_formations) e;
      insert into staged_workloads (run_id, source_id, region_code, year, activity, volume, districts, complexity,
          position)
        select p_run, p_source, e->>0, (e->>1)::integer, e->>2, (e->>3)::integer, (e->>4)::integer, e->>5,
          (e->>6)::integer
        from jsonb_array_elements(p_workloads) e;
      insert into staged_findings (run_id, source_id, code, severity, row, nip, details)
        select p_run, p_source, e->>0, e->>1, (e->>2)::integer, e->>3, (e->>4)::jsonb
        from jsonb_array_elements(p_findings) e;
      insert into rejected_records (run_id, source_id, row, nip, codes, fields, raw)
        select p_run, p_source, (e->>0)::integer, e->>1, (e->>2)::text[], (e->>3)::text[], (e->>4)::jsonb
        from jsonb_array_elements(p_rejected) e;
      insert into staged_snapshots
          (run_id, source_id, fetch_id, content_hash, officer_count, formation_count, finding_count,
           rejected_count, workload_count, stats)
        values (p_run, p_source, p_fetch, p_hash, jsonb_array_length(p_officers), jsonb_array_length(p_formations),
          jsonb_array_length(p_findings), jsonb_array_length(p_rejected), jsonb_array_length(p_workloads), p_stats)
        on conflict (run_id, source_id) do update set
          fetch_id = excluded.fetch_id, content_hash = excluded.content_hash,
          officer_count = excluded.officer_count, formation_count = excluded.formation_count,
          finding_count = excluded.finding_count, rejected_count = excluded.rejected_count,
          workload_count = excluded.workload_count,
          stats = excluded.stats, staged_at = clock_timestamp(), reconciled_at = null, discarded_at = null;
    end
    $fn$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function pksync_stage_snapshot(uuid, text, bigint, text, jsonb, jsonb, jsonb, jsonb, jsonb, jsonb)`.execute(
    db,
  );
  for (const t of ['retirement_outlook', 'computed_needs', 'workloads', 'staged_workloads', 'need_parameters']) {
    await sql`drop table if exists ${sql.table(t)}`.execute(db);
  }
  await sql`alter table staged_snapshots drop column if exists workload_count`.execute(db);
  await sql`alter table sources drop column if exists workloads_url`.execute(db);
  await createStageFunctionOf0009(db);
}

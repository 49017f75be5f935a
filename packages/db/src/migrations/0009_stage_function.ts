import { sql, type Kysely } from 'kysely';

// Frozen in time: never import application code here.
//
// Stages one source's snapshot for a run in one round trip (stageSnapshot's path for the common
// small snapshot: ~550 of them a night, a few dozen rows each). Each table's rows arrive as one JSON
// array of rows, each row an array of its column values as COPY would take them (text or null), in
// the order of the column lists below. Being a plpgsql function, every statement takes a fresh snapshot
// after the advisory lock is granted, so two stagings of the same (run, source) racing each other
// (a stalled job and its retry) end with exactly one of them staged.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function pksync_stage_snapshot(
      p_run uuid, p_source text, p_fetch bigint, p_hash text,
      p_officers jsonb, p_formations jsonb, p_findings jsonb, p_rejected jsonb, p_stats jsonb
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
      insert into staged_findings (run_id, source_id, code, severity, row, nip, details)
        select p_run, p_source, e->>0, e->>1, (e->>2)::integer, e->>3, (e->>4)::jsonb
        from jsonb_array_elements(p_findings) e;
      insert into rejected_records (run_id, source_id, row, nip, codes, fields, raw)
        select p_run, p_source, (e->>0)::integer, e->>1, (e->>2)::text[], (e->>3)::text[], (e->>4)::jsonb
        from jsonb_array_elements(p_rejected) e;
      insert into staged_snapshots
          (run_id, source_id, fetch_id, content_hash, officer_count, formation_count, finding_count,
           rejected_count, stats)
        values (p_run, p_source, p_fetch, p_hash, jsonb_array_length(p_officers), jsonb_array_length(p_formations),
          jsonb_array_length(p_findings), jsonb_array_length(p_rejected), p_stats)
        on conflict (run_id, source_id) do update set
          fetch_id = excluded.fetch_id, content_hash = excluded.content_hash,
          officer_count = excluded.officer_count, formation_count = excluded.formation_count,
          finding_count = excluded.finding_count, rejected_count = excluded.rejected_count,
          stats = excluded.stats, staged_at = clock_timestamp(), reconciled_at = null, discarded_at = null;
    end
    $fn$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function pksync_stage_snapshot(uuid, text, bigint, text, jsonb, jsonb, jsonb, jsonb, jsonb)`.execute(
    db,
  );
}

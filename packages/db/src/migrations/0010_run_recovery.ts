import { sql, type Kysely } from 'kysely';

// Frozen in time: never import application code here.
//
// Runs that survive the loss of their jobs or of their staged rows (docs/architecture.md § When
// things fail):
// - `runs.generation`: the flow a run's current jobs belong to. Resuming a run bumps it and
//   enqueues a fresh flow whose job ids carry it, so jobs of an older flow (still in Redis, or
//   already completed there) neither block nor race the new one.
// - `runs.resumes`, `resumed_at`, `resumed_by`: how often, when and by whom it was resumed
//   (bounded: a run that keeps losing its jobs is failed in the end).
// - status `cancelled`: an operator ended the run (`pksync runs cancel`, `POST /runs/{id}/cancel`).
// - `staging_sentinel`: one row in an UNLOGGED table. PostgreSQL empties every UNLOGGED table when
//   it recovers from a crash, so the row missing means the staged rows may be gone too.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table runs drop constraint if exists runs_status_check`.execute(db);
  await sql`alter table runs add constraint runs_status_check
    check (status in ('queued', 'running', 'completed', 'failed', 'cancelled'))`.execute(db);
  await sql`alter table runs
    add column generation integer not null default 0,
    add column resumes integer not null default 0,
    add column resumed_at timestamptz,
    add column resumed_by text`.execute(db);
  await sql`create index runs_active_idx on runs (created_at) where status in ('queued', 'running')`.execute(db);
  await sql`create unlogged table staging_sentinel (
      id integer primary key check (id = 1),
      written_at timestamptz not null default now()
    )`.execute(db);
  await sql`insert into staging_sentinel (id) values (1)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table staging_sentinel`.execute(db);
  await sql`drop index runs_active_idx`.execute(db);
  await sql`update runs set status = 'failed' where status = 'cancelled'`.execute(db);
  await sql`alter table runs drop column generation, drop column resumes, drop column resumed_at,
    drop column resumed_by`.execute(db);
  await sql`alter table runs drop constraint runs_status_check`.execute(db);
  await sql`alter table runs add constraint runs_status_check
    check (status in ('queued', 'running', 'completed', 'failed'))`.execute(db);
}

import { sql, type Kysely } from 'kysely';

// Frozen in time: never import application code here.
//
// One paging convention for every list route of the API (limit, an opaque cursor, keyset
// underneath; services/api/README.md § Paging):
// - `paging_keys`: the key that seals the API's cursors (AES-256-GCM), one row, written by the
//   first API replica that needs it and read by all. A cursor may carry a NIP (the diff of a
//   version is keyed by it), so it must be unreadable as well as unforgeable; the key lives here
//   so every replica shares it without another setting. Deleting the row voids open cursors
//   (their next request is a 400), nothing else.
// - indexes for the keyset orders under the routes' filters on the large tables: findings and
//   the audit log newest first (id descending) by province, region, status or actor; a version's
//   diff by NIP within its region or change (province already has
//   publication_changes_province, the whole diff its primary key (version, nip)).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table paging_keys (
      id smallint primary key check (id = 1),
      key bytea not null check (octet_length(key) = 32),
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index findings_province_id on findings (province_code, id)`.execute(db);
  await sql`create index findings_region_id on findings (region_code, id)`.execute(db);
  await sql`create index findings_status_id on findings (status, id)`.execute(db);
  await sql`create index audit_log_province_id on audit_log (province_code, id)`.execute(db);
  await sql`create index audit_log_actor_id on audit_log (actor, id)`.execute(db);
  await sql`create index publication_changes_region on publication_changes (version, region_code, nip)`.execute(db);
  await sql`create index publication_changes_change on publication_changes (version, change, nip)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const index of [
    'publication_changes_change',
    'publication_changes_region',
    'audit_log_actor_id',
    'audit_log_province_id',
    'findings_status_id',
    'findings_region_id',
    'findings_province_id',
  ]) {
    await sql`drop index if exists ${sql.ref(index)}`.execute(db);
  }
  await sql`drop table if exists paging_keys`.execute(db);
}

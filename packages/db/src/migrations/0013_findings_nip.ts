import { sql, type Kysely } from 'kysely';

// Frozen in time: never import application code here.
//
// Issue 16, a scoped run costs its scope: a region's re-sync resolves the unresolved findings of
// the officers it touched (R10 `code|…|nip`, R11, R17) through this index, instead of scanning
// every unresolved finding of the register. Partial: resolved findings (the history) are never
// looked up by NIP here. Built inside the migration's transaction, which blocks writes to
// findings while it runs: on a large register run it outside a sync.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index findings_unresolved_nip on findings (nip) where status <> 'resolved' and nip is not null`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists findings_unresolved_nip`.execute(db);
}

import type { Kysely } from 'kysely';

// Frozen in time: never import application code here.
//
// HTTP validators (ETag / Last-Modified per downloaded file) so an unchanged agency file is not
// even downloaded again: each fetch keeps what the agency sent, and a source remembers the
// validators of the snapshot it last reconciled (set together with last_content_hash).

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('source_fetches').addColumn('validators', 'jsonb').execute();
  await db.schema.alterTable('sources').addColumn('last_validators', 'jsonb').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sources').dropColumn('last_validators').execute();
  await db.schema.alterTable('source_fetches').dropColumn('validators').execute();
}

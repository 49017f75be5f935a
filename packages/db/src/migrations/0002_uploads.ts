import { sql, type Kysely } from 'kysely';

// Frozen in time: never import application code here.
//
// Operator uploads of `upload` sources (exchange-format-v1.md § upload): one row per file with its
// hash, size, uploader and time; the bytes in 1 MiB chunks so a 50 MB file is written and read as
// a stream, never as one value in memory.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('uploads')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('source_id', 'text', (c) => c.notNull().references('sources.id').onDelete('cascade'))
    .addColumn('filename', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text')
    // sha256 of the bytes, hex; filled when the last chunk is written.
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('uploaded_by', 'text', (c) => c.notNull())
    .addColumn('uploaded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('note', 'text')
    .execute();
  await db.schema.createIndex('uploads_source_idx').on('uploads').columns(['source_id', 'id']).execute();

  await db.schema
    .createTable('upload_chunks')
    .addColumn('upload_id', 'bigint', (c) => c.notNull().references('uploads.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('data', 'bytea', (c) => c.notNull())
    .addPrimaryKeyConstraint('upload_chunks_pk', ['upload_id', 'seq'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('upload_chunks').ifExists().execute();
  await db.schema.dropTable('uploads').ifExists().execute();
}

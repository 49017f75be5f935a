import { sql, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';

/** Below this many new rows, a table's indexes are always updated row by row. */
export const BULK_LOAD_ROWS = 100_000;

/**
 * A publication that writes most of a table (the first load of a million officers) is faster
 * when the table's secondary indexes are built once afterwards than updated row by row (the
 * trigram name index most of all). When `rows` is at least `minRows` ({@link BULK_LOAD_ROWS}) and at least
 * the rows the table already holds, its indexes (with the primary key or unique constraint an
 * index backs, unless a foreign key depends on it) are dropped here and the statements that
 * create them returned, to be run after the insert — in the same transaction, so a failure rolls
 * the drop back too. Readers of the table wait for the publication meanwhile.
 */
export async function bulkLoadIndexes(
  trx: Transaction<Database>,
  table: string,
  rows: number,
  minRows: number,
): Promise<string[]> {
  if (rows < minRows) return [];
  const held = Number(
    (
      await sql<{
        n: number;
      }>`select greatest(reltuples, 0)::float8 as n from pg_class where oid = ${table}::regclass`.execute(trx)
    ).rows[0]?.n ?? 0,
  );
  if (rows < held) return [];
  // Plain indexes, and the primary key / unique constraints no foreign key depends on (dropped
  // with their constraint, added back afterwards, which checks them over every row again).
  const indexes = (
    await sql<{ name: string; drop: string; create: string }>`
      select i.indexrelid::regclass::text as name,
             case when c.oid is null then format('drop index %s', i.indexrelid::regclass)
                  else format('alter table %s drop constraint %I', i.indrelid::regclass, c.conname) end as drop,
             case when c.oid is null then pg_get_indexdef(i.indexrelid)
                  else format('alter table %s add constraint %I %s', i.indrelid::regclass, c.conname,
                              pg_get_constraintdef(c.oid)) end as create
      from pg_index i
      left join pg_constraint c on c.conindid = i.indexrelid and c.conrelid = i.indrelid
      where i.indrelid = ${table}::regclass
        and (c.oid is null
             or (c.contype in ('p', 'u')
                 and not exists (select 1 from pg_constraint f where f.contype = 'f' and f.conindid = i.indexrelid)))
      order by i.indexrelid`.execute(trx)
  ).rows;
  if (!indexes.length) return [];
  await sql`set local maintenance_work_mem = '1GB'`.execute(trx);
  for (const ix of indexes) await sql.raw(ix.drop).execute(trx);
  return indexes.map((ix) => ix.create);
}

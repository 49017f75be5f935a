import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { Migrator, sql, type Migration, type MigrationProvider, type MigrationResult, type Transaction } from 'kysely';
import { grades, levels, regions } from '@pksync/reference';
import type { Db } from './db.ts';
import { loadShippedNeedParameters } from './repositories/need-parameters.repository.ts';
import type { Database } from './schema.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/**
 * Every `NNNN_name.ts` file in `migrations/`, in name order; `NNNN_name.js` in the production build
 * (scripts/build.ts compiles each migration to its own file there). The name without its extension
 * is the migration's name, so a database migrated by either keeps the same history.
 */
class FolderMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{4}_[\w-]+\.(ts|js)$/.test(f)).sort();
    const out: Record<string, Migration> = {};
    for (const f of files) {
      out[f.replace(/\.(ts|js)$/, '')] = (await import(pathToFileURL(path.join(MIGRATIONS_DIR, f)).href)) as Migration;
    }
    return out;
  }
}

export interface MigrateReport {
  migrations: { name: string; status: MigrationResult['status'] }[];
  reference: { regions: number; levels: number; grades: number; changed: number };
  /** Shipped need parameter sets added by this call (needs-planning-v1.md). */
  needParameters: { added: string[] };
}

/**
 * Brings the schema to the latest migration, then upserts the reference data (regions, levels,
 * grades) from `@pksync/reference` and adds the shipped need parameter sets it does not hold. Idempotent: a second call applies nothing and changes nothing.
 * Throws when a migration fails (the failing one is rolled back by Kysely).
 */
export async function migrateToLatest(db: Db): Promise<MigrateReport> {
  // Several migrations were written in parallel; a database migrated before a lower-numbered one
  // landed must still take it.
  const migrator = new Migrator({ db, provider: new FolderMigrationProvider(), allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  const migrations = (results ?? []).map((r) => ({ name: r.migrationName, status: r.status }));
  if (error) {
    const failed = migrations.find((m) => m.status === 'Error')?.name ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  const reference = await seedReference(db);
  const needParameters = await loadShippedNeedParameters(db);
  return { migrations, reference, needParameters };
}

type ReferenceTable = 'regions' | 'levels' | 'grades';

/**
 * Inserts `rows` keyed by `code`; an existing row is updated only when one of its other columns
 * differs, so the returned count is the rows really inserted or changed.
 */
async function upsertByCode(trx: Transaction<Database>, table: ReferenceTable, rows: Record<string, unknown>[]) {
  if (rows.length === 0) return 0;
  const columns = Object.keys(rows[0]!).filter((c) => c !== 'code');
  const list = (prefix: string) => sql.join(columns.map((c) => sql.ref(`${prefix}.${c}`)));
  let changed = 0;
  for (let i = 0; i < rows.length; i += 500) {
    const res = await trx
      .insertInto(table)
      .values(rows.slice(i, i + 500) as never)
      .onConflict((oc) =>
        oc
          .column('code')
          .doUpdateSet(Object.fromEntries(columns.map((c) => [c, sql.ref(`excluded.${c}`)])) as never)
          .where(sql<boolean>`(${list(table)}) is distinct from (${list('excluded')})`),
      )
      .executeTakeFirst();
    changed += Number(res.numInsertedOrUpdatedRows ?? 0);
  }
  return changed;
}

/** Upserts the vendored reference data; returns how many rows were inserted or changed. */
async function seedReference(db: Db): Promise<MigrateReport['reference']> {
  return db.transaction().execute(async (trx) => {
    // Provinces first so every parent exists.
    const regionRows = [...regions]
      .sort((a, b) => a.code.length - b.code.length || a.code.localeCompare(b.code))
      .map((r) => ({ code: r.code, name: r.name, level: r.level, parent_code: r.parentCode, kind: r.kind }));
    const levelRows = levels.map((l, i) => ({
      code: l.code,
      name: l.name,
      category: l.category,
      retirement_age: l.retirementAge,
      rank: i,
    }));
    const gradeRows = grades.map((g) => ({
      code: g.code,
      pangkat: g.pangkat,
      group: g.group,
      level_code: g.levelCode,
      rank: g.rank,
    }));
    let changed = 0;
    changed += await upsertByCode(trx, 'regions', regionRows);
    changed += await upsertByCode(trx, 'levels', levelRows);
    changed += await upsertByCode(trx, 'grades', gradeRows);
    return { regions: regions.length, levels: levels.length, grades: grades.length, changed };
  });
}

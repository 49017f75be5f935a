import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { Migrator, sql, type Migration, type MigrationProvider, type MigrationResult } from 'kysely';
import { grades, levels, regions } from '@pksync/reference';
import type { Db } from './db.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Every `NNNN_name.ts` file in `migrations/`, in name order. */
class FolderMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{4}_[\w-]+\.ts$/.test(f)).sort();
    const out: Record<string, Migration> = {};
    for (const f of files) {
      out[f.replace(/\.ts$/, '')] = (await import(pathToFileURL(path.join(MIGRATIONS_DIR, f)).href)) as Migration;
    }
    return out;
  }
}

export interface MigrateReport {
  migrations: { name: string; status: MigrationResult['status'] }[];
  reference: { regions: number; levels: number; grades: number; changed: number };
}

/**
 * Brings the schema to the latest migration, then upserts the reference data (regions, levels,
 * grades) from `@pksync/reference`. Idempotent: a second call applies nothing and changes nothing.
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
  return { migrations, reference };
}

/** Upserts the vendored reference data; returns how many rows were inserted or changed. */
export async function seedReference(db: Db): Promise<MigrateReport['reference']> {
  return db.transaction().execute(async (trx) => {
    let changed = 0;
    // Provinces first so every parent exists.
    const regionRows = [...regions]
      .sort((a, b) => a.code.length - b.code.length || a.code.localeCompare(b.code))
      .map((r) => ({ code: r.code, name: r.name, level: r.level, parent_code: r.parentCode, kind: r.kind }));
    for (let i = 0; i < regionRows.length; i += 500) {
      const res = await trx
        .insertInto('regions')
        .values(regionRows.slice(i, i + 500))
        .onConflict((oc) =>
          oc
            .column('code')
            .doUpdateSet((eb) => ({
              name: eb.ref('excluded.name'),
              level: eb.ref('excluded.level'),
              parent_code: eb.ref('excluded.parent_code'),
              kind: eb.ref('excluded.kind'),
            }))
            .where(
              sql<boolean>`(regions.name, regions.level, regions.parent_code, regions.kind) is distinct from (excluded.name, excluded.level, excluded.parent_code, excluded.kind)`,
            ),
        )
        .executeTakeFirst();
      changed += Number(res.numInsertedOrUpdatedRows ?? 0);
    }
    const levelRes = await trx
      .insertInto('levels')
      .values(
        levels.map((l, i) => ({
          code: l.code,
          name: l.name,
          category: l.category,
          retirement_age: l.retirementAge,
          rank: i,
        })),
      )
      .onConflict((oc) =>
        oc
          .column('code')
          .doUpdateSet((eb) => ({
            name: eb.ref('excluded.name'),
            category: eb.ref('excluded.category'),
            retirement_age: eb.ref('excluded.retirement_age'),
            rank: eb.ref('excluded.rank'),
          }))
          .where(
            sql<boolean>`(levels.name, levels.category, levels.retirement_age, levels.rank) is distinct from (excluded.name, excluded.category, excluded.retirement_age, excluded.rank)`,
          ),
      )
      .executeTakeFirst();
    changed += Number(levelRes.numInsertedOrUpdatedRows ?? 0);
    const gradeRes = await trx
      .insertInto('grades')
      .values(
        grades.map((g) => ({
          code: g.code,
          pangkat: g.pangkat,
          group: g.group,
          level_code: g.levelCode,
          rank: g.rank,
        })),
      )
      .onConflict((oc) =>
        oc
          .column('code')
          .doUpdateSet((eb) => ({
            pangkat: eb.ref('excluded.pangkat'),
            group: eb.ref('excluded.group'),
            level_code: eb.ref('excluded.level_code'),
            rank: eb.ref('excluded.rank'),
          }))
          .where(
            sql<boolean>`(grades.pangkat, grades.group, grades.level_code, grades.rank) is distinct from (excluded.pangkat, excluded.group, excluded.level_code, excluded.rank)`,
          ),
      )
      .executeTakeFirst();
    changed += Number(gradeRes.numInsertedOrUpdatedRows ?? 0);
    return { regions: regions.length, levels: levels.length, grades: grades.length, changed };
  });
}

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import pg from 'pg';
import { createDb, migrateToLatest } from '@pksync/db';

const dbMigrations = fileURLToPath(new URL('../../db/src/migrations/', import.meta.url));
const referenceData = fileURLToPath(new URL('../../reference/data/', import.meta.url));

/** A hash of everything that shapes a migrated database: migration files and reference data. */
export function schemaHash(): string {
  const h = createHash('sha256');
  for (const dir of [dbMigrations, referenceData]) {
    for (const f of readdirSync(dir).sort()) {
      if (f.endsWith('.test.ts')) continue;
      h.update(f);
      h.update(readFileSync(path.join(dir, f)));
    }
  }
  return h.digest('hex').slice(0, 12);
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Ensures a migrated template database for the current schema exists and returns its name.
 * Concurrent test runs (several vitest processes) serialise on an advisory lock. Templates of
 * older schemas are left in place: a concurrent run of another checkout may still copy from one.
 */
export async function ensureTemplate(adminUrl: string): Promise<string> {
  const name = `pksync_tpl_${schemaHash()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => {}); // a dropped connection: its query rejects (no listener would end the process)
  await admin.connect();
  try {
    await admin.query('select pg_advisory_lock(727001)');
    const exists = await admin.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) {
      const building = `${name}_building`;
      await admin.query(`drop database if exists ${building} with (force)`);
      await admin.query(`create database ${building}`);
      const db = createDb(withDatabase(adminUrl, building), { max: 2, applicationName: 'pksync-template' });
      try {
        await migrateToLatest(db);
      } finally {
        await db.destroy();
      }
      await admin.query(`alter database ${building} rename to ${name}`);
      await admin.query(`alter database ${name} with is_template true`);
    }
    return name;
  } finally {
    await admin.query('select pg_advisory_unlock(727001)').catch(() => {});
    await admin.end();
  }
}

let counter = 0;

/** Creates a fresh database from the template; returns its URL. */
export async function createDatabaseFromTemplate(
  adminUrl: string,
  template: string,
): Promise<{ name: string; url: string }> {
  const name = `pksync_t_${process.pid}_${Date.now().toString(36)}_${(counter++).toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => {}); // a dropped connection: its query rejects (no listener would end the process)
  await admin.connect();
  try {
    // CREATE DATABASE … TEMPLATE fails while another session copies the same template: retry.
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`create database ${name} template ${template}`);
        break;
      } catch (e) {
        if (attempt >= 50 || !/being accessed by other users/.test(String(e))) throw e;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 150));
      }
    }
  } finally {
    await admin.end();
  }
  return { name, url: withDatabase(adminUrl, name) };
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => {}); // a dropped connection: its query rejects (no listener would end the process)
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}

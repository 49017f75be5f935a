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
    for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.endsWith('.test.ts'))
      .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
      .sort()) {
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

/** Whether a process with this pid is alive on this machine. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Creates this test run's migrated template database and returns its name
 * (`pksync_tpl_<schema hash>_<pid>`): one per run, dropped by {@link dropTemplate} when the run
 * ends, so a run leaves no database behind and concurrent runs never share one. Templates left by
 * runs that died (their process is gone), and those of the older naming without a pid, are
 * dropped first.
 */
export async function ensureTemplate(adminUrl: string): Promise<string> {
  const name = `pksync_tpl_${schemaHash()}_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => {}); // a dropped connection: its query rejects (no listener would end the process)
  await admin.connect();
  try {
    const left = await admin.query<{ datname: string }>(
      "select datname from pg_database where datname like 'pksync\\_tpl\\_%'",
    );
    for (const { datname } of left.rows) {
      const pid = Number(/_(\d+)(?:_building)?$/.exec(datname)?.[1] ?? NaN);
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) continue;
      await dropTemplateNamed(admin, datname);
    }
    const building = `${name}_building`;
    await admin.query(`create database ${building}`);
    const db = createDb(withDatabase(adminUrl, building), { max: 2, applicationName: 'pksync-template' });
    try {
      await migrateToLatest(db);
    } finally {
      await db.destroy();
    }
    await admin.query(`alter database ${building} rename to ${name}`);
    await admin.query(`alter database ${name} with is_template true`);
    return name;
  } finally {
    await admin.end();
  }
}

async function dropTemplateNamed(admin: pg.Client, name: string): Promise<void> {
  await admin.query(`alter database ${name} with is_template false`).catch(() => {});
  await admin.query(`drop database if exists ${name} with (force)`);
}

/** Drops the run's template made by {@link ensureTemplate} (the run is over). */
export async function dropTemplate(adminUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => {});
  await admin.connect();
  try {
    await dropTemplateNamed(admin, name);
  } finally {
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

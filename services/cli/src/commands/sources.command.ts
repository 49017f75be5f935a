import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '@pksync/config';
import { parseSourcesFile, SourcesFileError } from '@pksync/connectors';
import {
  createDb,
  importSources,
  listSources,
  TokenCryptoError,
  type Db,
  type ImportReport,
  type SourceView,
} from '@pksync/db';

/** Exit codes of `pksync sources import`. */
export const SOURCES_EXIT = { ok: 0, invalid: 1, failed: 2 } as const;

export interface SourcesImportOutcome {
  exitCode: number;
  output: string;
  report: ImportReport | null;
}

/** Reads, validates and upserts a sources file. Never prints a token. */
export async function runSourcesImport(
  db: Db,
  filePath: string,
  tokenKey: Buffer | undefined,
  opts: { json?: boolean; dryRun?: boolean } = {},
): Promise<SourcesImportOutcome> {
  let text: string;
  try {
    text = await readFile(filePath, 'utf8');
  } catch (e) {
    return { exitCode: SOURCES_EXIT.invalid, output: `cannot read ${filePath}: ${(e as Error).message}`, report: null };
  }
  const ext = path.extname(filePath).toLowerCase();
  const format = ext === '.csv' ? 'csv' : ext === '.json' ? 'json' : /^\s*[[{]/.test(text) ? 'json' : 'csv';
  let entries;
  try {
    entries = parseSourcesFile(text, format);
  } catch (e) {
    if (e instanceof SourcesFileError) return { exitCode: SOURCES_EXIT.invalid, output: e.message, report: null };
    throw e;
  }
  if (opts.dryRun) {
    return {
      exitCode: SOURCES_EXIT.ok,
      output: `${entries.length} sources valid (dry run: nothing written)`,
      report: null,
    };
  }
  let report: ImportReport;
  try {
    report = await importSources(db, entries, tokenKey);
  } catch (e) {
    if (e instanceof TokenCryptoError) return { exitCode: SOURCES_EXIT.failed, output: e.message, report: null };
    throw e;
  }
  if (opts.json) return { exitCode: SOURCES_EXIT.ok, output: JSON.stringify(report, null, 2), report };
  const lines = [
    ...report.created.map((id) => `+ ${id}`),
    ...report.updated.map((u) => `~ ${u.id} (${u.fields.join(', ')})`),
    `${entries.length} sources: ${report.created.length} created, ${report.updated.length} updated, ${report.unchanged.length} unchanged`,
  ];
  return { exitCode: SOURCES_EXIT.ok, output: lines.join('\n'), report };
}

/**
 * A source as `pksync sources list --json` prints it: the registry's fields (not its staleness or
 * last fetch), named as in the sources file (`regionCode` → `region_code`); never the token.
 */
function sourceListJson({ stale: _stale, lastFetch: _lastFetch, ...fields }: SourceView): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(fields).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]),
  );
}

/** `pksync sources import <file.json|csv>` and `pksync sources list`. */
export function register(program: Command): void {
  const sources = program.command('sources').description('source registry (one source per agency feed)');
  sources
    .command('import')
    .argument('<file>', 'sources file: JSON array or CSV (register-api-v1.md § Sources file)')
    .option('--json', 'print the change report as JSON')
    .option('--dry-run', 'validate only')
    .description('upsert source definitions and report what changed (tokens are encrypted, never printed)')
    .action(async (file: string, opts: { json?: boolean; dryRun?: boolean }) => {
      const config = loadConfig();
      const db = createDb(config.databaseUrl, { max: 2, applicationName: 'pksync-cli' });
      try {
        const outcome = await runSourcesImport(db, file, config.tokenKey, opts);
        (outcome.exitCode === 0 ? console.log : console.error)(outcome.output);
        process.exitCode = outcome.exitCode;
      } finally {
        await db.destroy();
      }
    });
  sources
    .command('list')
    .option('--province <code>', 'only this province (e.g. 16)')
    .option('--json', 'print JSON')
    .description('list sources (never the token: only whether one is set)')
    .action(async (opts: { province?: string; json?: boolean }) => {
      const config = loadConfig();
      const db = createDb(config.databaseUrl, { max: 2, applicationName: 'pksync-cli' });
      try {
        const rows = await listSources(db, { provinceCode: opts.province || undefined });
        if (opts.json) console.log(JSON.stringify(rows.map(sourceListJson), null, 2));
        else {
          for (const s of rows) {
            const flags = [s.enabled ? '' : 'disabled', s.hasToken ? 'token' : ''].filter(Boolean).join(',');
            console.log(`${s.id}\t${s.transport}\t${s.regionCode}\t${s.agency}${flags ? `\t[${flags}]` : ''}`);
          }
          console.log(`${rows.length} sources`);
        }
      } finally {
        await db.destroy();
      }
    });
}

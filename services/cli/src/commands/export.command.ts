import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { loadConfig } from '@pksync/config';
import { createDb, VersionNotFoundError } from '@pksync/db';
import { openExport, type ExportFormat } from '@pksync/api';
import { normaliseRegionCode, regionByCode } from '@pksync/reference';

/**
 * `pksync export --format csv|json|xlsx [--province 16] [--region 16.71] [--version N] [--out FILE]`:
 * the register as a file, streamed (the same writer as `GET /export`, with full records: the CLI
 * runs with database access, as an admin). Without `--out` the file goes to stdout.
 */
export function register(program: Command): void {
  program
    .command('export')
    .description('export the register as CSV (UTF-8 with BOM), JSON or XLSX, streamed')
    .requiredOption('--format <format>', 'csv, json or xlsx')
    .option('--province <code>', 'only this province, e.g. 16')
    .option('--region <code>', 'only this regency/city, e.g. 16.71')
    .option('--version <n>', 'a published version (default: the latest)')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (o: { format: string; province?: string; region?: string; version?: string; out?: string }) => {
      if (!['csv', 'json', 'xlsx'].includes(o.format))
        throw new Error(`--format must be csv, json or xlsx, got "${o.format}"`);
      if (o.format === 'xlsx' && !o.out && process.stdout.isTTY)
        throw new Error('--format xlsx needs --out FILE (binary output)');
      const province = o.province === undefined ? undefined : normaliseRegionCode(o.province);
      if (o.province !== undefined && (!province || regionByCode(province)?.level !== 'province'))
        throw new Error(`--province must be a province code such as 16, got "${o.province}"`);
      const region = o.region === undefined ? undefined : normaliseRegionCode(o.region);
      if (o.region !== undefined && (!region || !regionByCode(region)))
        throw new Error(`--region is not a known region code: "${o.region}"`);
      const version = o.version === undefined ? undefined : Number(o.version);
      if (version !== undefined && (!Number.isInteger(version) || version < 1))
        throw new Error(`--version must be a whole number ≥ 1, got "${o.version}"`);
      const config = loadConfig();
      const db = createDb(config.databaseUrl, { max: 2, applicationName: 'pksync-cli' });
      const started = Date.now();
      try {
        const file = await openExport(db, {
          format: o.format as ExportFormat,
          filter: { provinceCode: province ?? undefined, regionCode: region ?? undefined },
          version,
          caller: { role: 'admin', keyId: 0, name: 'cli', provinceCode: null },
        });
        await pipeline(file.stream, o.out ? createWriteStream(o.out) : process.stdout);
        const s = (Date.now() - started) / 1000;
        console.error(
          `Exported ${file.rows()} officers of version ${file.version} as ${o.format}${o.out ? ` to ${o.out}` : ''} in ${s.toFixed(1)} s.`,
        );
      } catch (e) {
        if (e instanceof VersionNotFoundError) throw new Error(`version ${e.version} has not been published`);
        throw e;
      } finally {
        await db.destroy();
      }
    });
}

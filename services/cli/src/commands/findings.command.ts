import type { Command } from 'commander';
import { loadConfig } from '@pksync/config';
import { FINDING_CODES } from '@pksync/core';
import { acknowledgeFindingById, createDb, listFindingsForCli, type Db, type Finding } from '@pksync/db';
import { normaliseRegionCode, regionByCode } from '@pksync/reference';

export interface FindingsOptions {
  province?: string;
  region?: string;
  rule?: string;
  status?: string;
  open?: boolean;
  limit?: string;
  json?: boolean;
}

export interface CommandOutcome {
  exitCode: number;
  output: string;
}

const STATUSES = ['open', 'acknowledged', 'resolved'] as const;
const asDate = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));

/** One line per finding: id, status, severity, code, region, source, row, NIP, message, first seen. */
export function formatFindingLine(f: Finding): string {
  return [
    `#${f.id}`,
    f.status.padEnd(12),
    f.severity.padEnd(7),
    f.code.padEnd(24),
    (f.region_code ?? f.province_code).padEnd(5),
    f.source_id ?? '',
    f.row !== null ? `row ${f.row}` : '',
    f.nip ? `nip ${f.nip}` : '',
    f.message,
    `since ${asDate(f.first_seen_at).toISOString().slice(0, 10)}`,
    f.ack_note ? `ack: ${f.ack_note}` : '',
  ]
    .filter(Boolean)
    .join('  ');
}

/** `pksync findings [--province P] [--open]`: validates the filters, then lists. */
export async function runFindings(db: Db, o: FindingsOptions): Promise<CommandOutcome> {
  let province: string | undefined;
  if (o.province !== undefined) {
    const r = regionByCode(o.province.trim());
    if (!r || r.level !== 'province')
      return { exitCode: 1, output: `--province: "${o.province}" is not a province code (e.g. 16)` };
    province = r.code;
  }
  let region: string | undefined;
  if (o.region !== undefined) {
    const code = normaliseRegionCode(o.region);
    if (!code || !regionByCode(code))
      return { exitCode: 1, output: `--region: "${o.region}" is not a region code (e.g. 16.71)` };
    region = code;
  }
  if (o.rule !== undefined && !(FINDING_CODES as string[]).includes(o.rule)) {
    return { exitCode: 1, output: `--rule: "${o.rule}" is not a finding code (${FINDING_CODES.join(', ')})` };
  }
  if (o.status !== undefined && !(STATUSES as readonly string[]).includes(o.status)) {
    return { exitCode: 1, output: `--status must be open, acknowledged or resolved, got "${o.status}"` };
  }
  const limit = Number(o.limit ?? '1000');
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) {
    return { exitCode: 1, output: `--limit must be a whole number from 1 to 100000, got "${o.limit}"` };
  }
  const rows = await listFindingsForCli(db, {
    province,
    region,
    rule: o.rule,
    status: o.status as (typeof STATUSES)[number] | undefined,
    // --open: what still needs action (open or acknowledged, not resolved).
    unresolved: o.open === true,
    limit,
  });
  if (o.json) return { exitCode: 0, output: JSON.stringify(rows, null, 2) };
  if (rows.length === 0) return { exitCode: 0, output: 'no findings' };
  const counts = new Map<string, number>();
  for (const f of rows) counts.set(f.status, (counts.get(f.status) ?? 0) + 1);
  const summary = [...counts.entries()].map(([s, n]) => `${n} ${s}`).join(', ');
  return { exitCode: 0, output: [...rows.map(formatFindingLine), `${rows.length} findings (${summary})`].join('\n') };
}

/** `pksync findings ack <id> --note …`: acknowledges an open finding for its province. */
export async function runFindingsAck(
  db: Db,
  id: string,
  o: { note?: string; by?: string },
  now = new Date(),
): Promise<CommandOutcome> {
  const n = Number(id.replace(/^#/, ''));
  if (!Number.isSafeInteger(n) || n < 1) return { exitCode: 1, output: `"${id}" is not a finding id` };
  const note = o.note?.trim() || null;
  if (note && note.length > 2000) return { exitCode: 1, output: '--note is longer than 2000 characters' };
  const outcome = await acknowledgeFindingById(db, { id: n, by: o.by ?? 'cli', note, now });
  switch (outcome) {
    case 'acknowledged':
      return { exitCode: 0, output: `#${n} acknowledged` };
    case 'not_found':
      return { exitCode: 3, output: `no finding #${n}` };
    case 'already_resolved':
      return { exitCode: 1, output: `#${n} is already resolved` };
    case 'already_acknowledged':
      return { exitCode: 0, output: `#${n} was already acknowledged` };
  }
}

/** `pksync findings [--province P] [--open]` and `pksync findings ack <id> --note …`. */
export function register(program: Command): void {
  const findings = program
    .command('findings')
    .description('data-quality findings (R15): list them, or acknowledge one')
    .option('--province <code>', 'only this province (e.g. 16)')
    .option('--region <code>', 'only this region (e.g. 16.71)')
    .option('--rule <code>', 'only this finding code (e.g. record_rejected)')
    .option('--status <status>', 'open, acknowledged or resolved')
    .option('--open', 'only findings not resolved (open or acknowledged)')
    .option('--limit <n>', 'at most this many', '1000')
    .option('--json', 'print JSON')
    .action(async (o: FindingsOptions) => {
      const config = loadConfig();
      const db = createDb(config.databaseUrl, { max: 2, applicationName: 'pksync-cli' });
      try {
        const out = await runFindings(db, o);
        (out.exitCode === 0 ? console.log : console.error)(out.output);
        process.exitCode = out.exitCode;
      } finally {
        await db.destroy();
      }
    });
  findings
    .command('ack')
    .argument('<id>', 'finding id')
    .option('--note <text>', 'what the province is doing about it')
    .option('--by <who>', 'who acknowledges', 'cli')
    .description('acknowledge an open finding (it is then no longer reminded)')
    .action(async (id: string, o: { note?: string; by?: string }) => {
      const config = loadConfig();
      const db = createDb(config.databaseUrl, { max: 2, applicationName: 'pksync-cli' });
      try {
        const out = await runFindingsAck(db, id, o);
        (out.exitCode === 0 ? console.log : console.error)(out.output);
        process.exitCode = out.exitCode;
      } finally {
        await db.destroy();
      }
    });
}

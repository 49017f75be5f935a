import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { loadConfig } from '@pksync/config';
import { createDb, createKey, KeyError, listKeys, revokeKey, type ApiKeyInfo } from '@pksync/db';

/** `cli:<os user>`: who changed a key, for the audit log. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

async function withDb<T>(fn: (db: ReturnType<typeof createDb>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = createDb(config.databaseUrl, { max: 2, applicationName: 'pksync-cli' });
  try {
    return await fn(db);
  } catch (e) {
    // A refused key operation is the operator's mistake: say what, no stack.
    if (e instanceof KeyError) throw new Error(e.message);
    throw e;
  } finally {
    await db.destroy();
  }
}

function line(k: ApiKeyInfo): string {
  const scope = k.role === 'province' ? `province ${k.provinceCode}` : 'admin';
  const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'live';
  const used = k.lastUsedAt ? `last used ${k.lastUsedAt.toISOString()}` : 'never used';
  return `${k.name.padEnd(24)} ${scope.padEnd(12)} ${state.padEnd(34)} created ${k.createdAt.toISOString()} by ${k.createdBy ?? '-'}  ${used}`;
}

/**
 * `pksync keys create|revoke|list`: API keys (register-api-v1.md § Roles). A key is printed once,
 * on stdout alone (so scripts can capture it); only its hash is stored. Every change is audited.
 */
export function register(program: Command): void {
  const keys = program.command('keys').description('API keys: create (printed once), revoke, list');

  keys
    .command('create')
    .description('create a key; prints it once on stdout')
    .requiredOption('--role <role>', 'admin or province')
    .option('--province <code>', 'the province of a province key, e.g. 16')
    .requiredOption('--name <name>', 'a unique name for the key, e.g. sumsel-operator')
    .option('--reason <text>', 'why (audit log)')
    .action(async (o: { role: string; province?: string; name: string; reason?: string }) => {
      if (o.role !== 'admin' && o.role !== 'province')
        throw new Error(`--role must be admin or province, got "${o.role}"`);
      if (o.role === 'province' && !o.province)
        throw new Error('--province is required for a province key (e.g. --province 16)');
      const created = await withDb((db) =>
        createKey(db, {
          name: o.name,
          role: o.role as 'admin' | 'province',
          provinceCode: o.province ?? null,
          actor: cliActor(),
          reason: o.reason ?? null,
        }),
      );
      console.error(
        `Created ${created.info.role} key "${created.info.name}"${created.info.provinceCode ? ` for province ${created.info.provinceCode}` : ''}. It is shown once: store it now.`,
      );
      console.log(created.key);
    });

  keys
    .command('revoke')
    .description('revoke the live key with this name')
    .argument('<name>', 'the key name')
    .option('--reason <text>', 'why (audit log)')
    .action(async (name: string, o: { reason?: string }) => {
      const info = await withDb((db) => revokeKey(db, { name, actor: cliActor(), reason: o.reason ?? null }));
      console.log(`Revoked key "${info.name}" (${info.role}${info.provinceCode ? ` ${info.provinceCode}` : ''}).`);
    });

  keys
    .command('list')
    .description('list keys (never the keys themselves)')
    .option('--all', 'include revoked keys')
    .option('--json', 'print JSON')
    .action(async (o: { all?: boolean; json?: boolean }) => {
      const list = await withDb((db) => listKeys(db, { includeRevoked: Boolean(o.all) }));
      if (o.json) console.log(JSON.stringify(list, null, 2));
      else if (list.length === 0) console.log('no keys (create one with: pksync keys create --role admin --name NAME)');
      else for (const k of list) console.log(line(k));
    });
}

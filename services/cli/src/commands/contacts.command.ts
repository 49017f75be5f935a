import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import {
  addContact,
  ContactValidationError,
  listContacts,
  listOutbox,
  removeContact,
  rotateContactSecret,
  setContactEnabled,
  type AlertContact,
  type Db,
  type OutboxSummaryRow,
} from '@pksync/db';
import { deliverDue, sendTestMessage } from '@pksync/notify';
import { withDb } from './with-db.ts';

/** Exit codes of `pksync contacts …`. */
export const CONTACTS_EXIT = { ok: 0, invalid: 1, notFound: 3 } as const;

export interface CommandOutcome {
  exitCode: number;
  output: string;
}

export interface ContactsAddOptions {
  province?: string;
  admin?: boolean;
  email?: string;
  webhook?: string;
  secret?: string;
  name?: string;
  by?: string;
}

/** One line per contact: id, audience, kind, address, name, state. Never a secret. */
export function formatContactLine(c: AlertContact): string {
  return [
    c.id,
    (c.isAdmin ? 'ministry' : `province ${c.provinceCode}`).padEnd(12),
    c.kind.padEnd(7),
    c.address,
    c.name ? `"${c.name}"` : '',
    c.enabled ? '' : '(disabled)',
  ]
    .filter(Boolean)
    .join('  ');
}

/**
 * `pksync contacts add`: validates and stores a contact. A webhook without `--secret` gets a
 * generated one, printed once (the receiver needs it to verify signatures).
 */
export async function runContactsAdd(
  db: Db,
  o: ContactsAddOptions,
  tokenKey: Buffer | undefined,
): Promise<CommandOutcome> {
  if (Boolean(o.email) === Boolean(o.webhook)) {
    return { exitCode: CONTACTS_EXIT.invalid, output: 'give exactly one of --email ADDRESS or --webhook URL' };
  }
  if (o.admin && o.province) {
    return { exitCode: CONTACTS_EXIT.invalid, output: '--admin (ministry) and --province exclude each other' };
  }
  const kind = o.email ? 'email' : 'webhook';
  const generated = kind === 'webhook' && !o.secret ? randomBytes(24).toString('base64url') : undefined;
  try {
    const c = await addContact(
      db,
      {
        provinceCode: o.province ?? null,
        admin: o.admin === true,
        kind,
        address: (o.email ?? o.webhook)!,
        name: o.name ?? null,
        secret: o.secret ?? generated ?? null,
        createdBy: o.by ?? 'cli',
      },
      tokenKey,
    );
    const lines = [`+ ${formatContactLine(c)}`];
    if (generated) {
      lines.push(
        `signing secret (shown once; the receiver verifies X-Pksync-Signature = sha256=HMAC-SHA256(secret, body)): ${generated}`,
      );
    }
    return { exitCode: CONTACTS_EXIT.ok, output: lines.join('\n') };
  } catch (e) {
    if (e instanceof ContactValidationError) {
      return { exitCode: CONTACTS_EXIT.invalid, output: `invalid ${e.field}: ${e.message}` };
    }
    throw e;
  }
}

function formatOutboxLine(r: OutboxSummaryRow): string {
  return [
    String(r.id).padStart(6),
    r.createdAt.toISOString().replace('T', ' ').slice(0, 19),
    r.kind.padEnd(15),
    (r.audience === 'ministry' ? 'ministry' : `province ${r.provinceCode}`).padEnd(12),
    r.channel.padEnd(7),
    r.status.padEnd(9),
    `attempts ${r.attempts}`,
    `findings ${r.findings}`,
    r.runId ? `run ${r.runId}` : '',
    r.status === 'pending' ? `next ${r.nextAttemptAt.toISOString()}` : '',
    r.lastError ? `error: ${r.lastError}` : '',
  ]
    .filter(Boolean)
    .join('  ');
}

function print(o: CommandOutcome): void {
  (o.exitCode === 0 ? console.log : console.error)(o.output);
  process.exitCode = o.exitCode;
}

/** `pksync contacts list|add|remove|enable|disable|outbox|deliver`: R15 alert contacts (admins). */
export function register(program: Command): void {
  const contacts = program
    .command('contacts')
    .description('alert contacts: e-mail addresses and webhooks per province, and the ministry (admin) contacts');

  contacts
    .command('list')
    .description('list contacts (never secrets)')
    .option('--province <code>', 'only this province')
    .option('--admin', 'only the ministry (admin) contacts')
    .option('--json', 'print JSON')
    .action(async (o: { province?: string; admin?: boolean; json?: boolean }) => {
      await withDb(async (db) => {
        const rows = await listContacts(db, { provinceCode: o.province, admin: o.admin ? true : undefined });
        if (o.json) console.log(JSON.stringify(rows, null, 2));
        else if (rows.length === 0)
          console.log('no contacts (add one with: pksync contacts add --province 16 --email …)');
        else for (const c of rows) console.log(formatContactLine(c));
      });
    });

  contacts
    .command('add')
    .description('add a contact: --province P or --admin, and --email ADDRESS or --webhook URL [--secret S]')
    .option('--province <code>', 'province code (e.g. 16)')
    .option('--admin', 'a ministry contact: gets escalations (30 days) and delivery failures')
    .option('--email <address>', 'e-mail address')
    .option('--webhook <url>', 'webhook URL (https)')
    .option('--secret <secret>', 'webhook signing secret, at least 16 characters (generated when omitted)')
    .option('--name <name>', 'a label, e.g. the office')
    .option('--by <who>', 'who adds it (audit)', 'cli')
    .action(async (o: ContactsAddOptions) => {
      await withDb(async (db, config) => print(await runContactsAdd(db, o, config.tokenKey)));
    });

  contacts
    .command('remove')
    .argument('<id>', 'contact id')
    .description('remove a contact (its pending deliveries are cancelled)')
    .action(async (id: string) => {
      await withDb(async (db) =>
        print(
          (await removeContact(db, id))
            ? { exitCode: 0, output: `- ${id}` }
            : { exitCode: CONTACTS_EXIT.notFound, output: `no contact ${id}` },
        ),
      );
    });

  for (const [name, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    contacts
      .command(name)
      .argument('<id>', 'contact id')
      .description(`${name} a contact`)
      .action(async (id: string) => {
        await withDb(async (db) =>
          print(
            (await setContactEnabled(db, id, enabled))
              ? { exitCode: 0, output: `${id} ${enabled ? 'enabled' : 'disabled'}` }
              : { exitCode: CONTACTS_EXIT.notFound, output: `no contact ${id}` },
          ),
        );
      });
  }

  contacts
    .command('rotate-secret')
    .argument('<id>', 'webhook contact id')
    .option('--secret <secret>', 'the new signing secret, at least 16 characters (generated when omitted)')
    .description('replace a webhook signing secret (the new one is printed once)')
    .action(async (id: string, o: { secret?: string }) => {
      await withDb(async (db, config) => {
        const secret = o.secret ?? randomBytes(24).toString('base64url');
        try {
          print(
            (await rotateContactSecret(db, id, secret, config.tokenKey))
              ? {
                  exitCode: 0,
                  output: o.secret ? `${id}: secret replaced` : `${id}: new signing secret (shown once): ${secret}`,
                }
              : { exitCode: CONTACTS_EXIT.notFound, output: `no webhook contact ${id}` },
          );
        } catch (e) {
          if (e instanceof ContactValidationError)
            print({ exitCode: CONTACTS_EXIT.invalid, output: `invalid ${e.field}: ${e.message}` });
          else throw e;
        }
      });
    });

  contacts
    .command('test')
    .argument('<id>', 'contact id')
    .description('send a test message to a contact now (checks the address, the receiver and its signature check)')
    .action(async (id: string) => {
      await withDb(async (db, config) => {
        try {
          const r = await sendTestMessage({ db, config }, id);
          print({ exitCode: 0, output: `test ${r.kind} sent to ${r.address}` });
        } catch (e) {
          print({
            exitCode: CONTACTS_EXIT.invalid,
            output: `test failed: ${e instanceof Error ? e.message : String(e)}`,
          });
        }
      });
    });

  contacts
    .command('outbox')
    .description('alert deliveries, newest first (status, attempts, next attempt, last error)')
    .option('--run <id>', 'only this run')
    .option('--province <code>', 'only this province')
    .option('--status <status>', 'pending, sent, dead or cancelled')
    .option('--last <n>', 'how many', '50')
    .option('--json', 'print JSON')
    .action(async (o: { run?: string; province?: string; status?: string; last: string; json?: boolean }) => {
      const last = Number(o.last);
      if (!Number.isInteger(last) || last < 1 || last > 10_000) {
        throw new Error(`--last must be a whole number from 1 to 10000, got "${o.last}"`);
      }
      if (o.status && !['pending', 'sent', 'dead', 'cancelled'].includes(o.status)) {
        throw new Error(`--status must be pending, sent, dead or cancelled, got "${o.status}"`);
      }
      await withDb(async (db) => {
        const rows = await listOutbox(db, {
          runId: o.run,
          provinceCode: o.province,
          status: o.status as OutboxSummaryRow['status'] | undefined,
          limit: last,
        });
        if (o.json) console.log(JSON.stringify(rows, null, 2));
        else if (rows.length === 0) console.log('the outbox is empty');
        else for (const r of rows) console.log(formatOutboxLine(r));
      });
    });

  contacts
    .command('deliver')
    .description('deliver due alert digests now (what the worker does every few seconds)')
    .action(async () => {
      await withDb(async (db, config) => {
        const s = await deliverDue({ db, config });
        console.log(
          `claimed ${s.counts.claimed}, sent ${s.counts.sent}, failed ${s.counts.failed}, cancelled ${s.counts.cancelled}, given up ${s.counts.dead}`,
        );
      });
    });
}

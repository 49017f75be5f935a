import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { useTestDatabase } from '@pksync/testing';
import { listSources, TOKEN_REDACT_PATHS, toSourceWithToken } from '@pksync/db';
import { start } from '@pksync/simulator';
import { runSourcesImport, SOURCES_EXIT } from '../src/commands/sources.command.ts';

const key = randomBytes(32);

async function file(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pksync-sources-'));
  const p = path.join(dir, name);
  await writeFile(p, text);
  return p;
}

describe('pksync sources import', () => {
  const t = useTestDatabase();

  it("imports the simulator's national sources file, then reports no change, and never prints a token", async () => {
    const sim = await start({ port: 0, seed: 9, regions: 'all' });
    const entries = sim.sourcesFile();
    await sim.close();
    const tokens = entries.flatMap((e) => (e.token ? [e.token] : []));
    expect(tokens.length).toBeGreaterThan(10);
    const p = await file('sources.json', JSON.stringify(entries));

    const first = await runSourcesImport(t.db, p, key);
    expect(first.exitCode).toBe(SOURCES_EXIT.ok);
    expect(first.report!.created).toHaveLength(552);
    expect(first.output).toMatch(/552 sources: 552 created, 0 updated, 0 unchanged$/);

    const second = await runSourcesImport(t.db, p, key, { json: true });
    expect(JSON.parse(second.output)).toMatchObject({ created: [], updated: [] });

    const changed = entries.map((e) => (e.token ? { ...e, token: `${e.token}-rotated` } : e));
    const third = await runSourcesImport(t.db, await file('s.json', JSON.stringify(changed)), key);
    expect(third.output).toContain(`~ ${changed.find((e) => e.token)!.id} (token)`);

    for (const out of [first.output, second.output, third.output]) {
      for (const tok of tokens) expect(out).not.toContain(tok);
    }
    const withToken = entries.find((e) => e.token)!;
    // As a fetch reads it: the stored row, its token decrypted.
    const row = await t.db.selectFrom('sources').selectAll().where('id', '=', withToken.id).executeTakeFirstOrThrow();
    expect(toSourceWithToken(row, key).token).toBe(`${withToken.token}-rotated`);
    const dump = JSON.stringify(await t.db.selectFrom('sources').selectAll().execute());
    for (const tok of tokens) expect(dump).not.toContain(tok);
  });

  it('reports every problem of a bad file and writes nothing', async () => {
    const p = await file(
      'bad.csv',
      'id,agency,region_code,transport,url,colour\nx-1,A,16.71,api,https://a.test/v1,red\n',
    );
    const r = await runSourcesImport(t.db, p, key);
    expect(r.exitCode).toBe(SOURCES_EXIT.invalid);
    expect(r.output).toContain('#1 (x-1): unknown key "colour"');
    expect(await listSources(t.db, { id: 'x-1' })).toEqual([]);
  });

  it('fails clearly when a token is given without TOKEN_ENCRYPTION_KEY', async () => {
    const p = await file(
      's.json',
      JSON.stringify([
        {
          id: 'y-1',
          agency: 'A',
          region_code: '16.71',
          transport: 'api',
          url: 'https://a.test/v1',
          token: 'zzz-secret',
        },
      ]),
    );
    const r = await runSourcesImport(t.db, p, undefined);
    expect(r.exitCode).toBe(SOURCES_EXIT.failed);
    expect(r.output).toMatch(/TOKEN_ENCRYPTION_KEY/);
    expect(r.output).not.toContain('zzz-secret');
  });

  it('pino with TOKEN_REDACT_PATHS keeps tokens out of log lines', () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        out += chunk.toString();
        cb();
      },
    });
    const log = pino({ redact: TOKEN_REDACT_PATHS }, sink);
    log.info(
      {
        token: 's-1',
        source: { id: 'x', token: 's-2', token_encrypted: 'v1:s-3' },
        headers: { authorization: 'Bearer s-4' },
      },
      'fetch',
    );
    expect(out).toContain('"fetch"');
    for (const s of ['s-1', 's-2', 's-3', 's-4']) expect(out).not.toContain(s);
  });
});

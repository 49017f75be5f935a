import { describe, expect, it, onTestFinished } from 'vitest';
import type { KyselyPlugin, QueryId } from 'kysely';
import { shippedNeedParameters } from '@pksync/reference';
import { createTestDatabase, useTestDatabase } from '@pksync/testing';
import type { Db } from '../src/db.ts';
import {
  addNeedParametersAudited,
  getNeeds,
  listNeedParameterVersions,
  NeedsQueryError,
  type NeedsRow,
} from '../src/repositories/needs.repository.ts';
import { NeedParametersError } from '../src/repositories/need-parameters.repository.ts';

const RUN = '00000000-0000-4000-8000-000000000001';
const PLACEHOLDER = '2023-placeholder-1';
const placeholderDoc = () => structuredClone(shippedNeedParameters()[0]!.document) as Record<string, unknown>;

/** A second version, in force from 2026, confirmed. */
const confirmedDoc = () => ({
  ...placeholderDoc(),
  version: '2026-uji-1',
  status: 'confirmed',
  valid_from: '2026-01-01',
  source: 'uji',
});

type Level = 'ahli_pertama' | 'ahli_muda' | 'ahli_madya' | 'ahli_utama';
const LEVELS: Level[] = ['ahli_pertama', 'ahli_muda', 'ahli_madya', 'ahli_utama'];

async function formation(db: Db, region: string, year: number, level: Level, approved: number, need: number) {
  await db
    .insertInto('formations')
    .values({
      source_id: `${region}-disnaker`,
      region_code: region,
      year,
      level,
      approved,
      need,
      valid_from: 1,
      valid_to: null,
    })
    .execute();
}

async function computed(db: Db, region: string, year: number, needs: number[], version: string) {
  await db
    .insertInto('computed_needs')
    .values(
      LEVELS.map((level, i) => ({
        region_code: region,
        year,
        level,
        province_code: region.slice(0, 2),
        need: needs[i]!,
        exact: needs[i]!,
        area_factor: 1,
        complexity_factor: 1,
        parameter_version: version,
        as_of: `${year}-11-30`,
        run_id: RUN,
      })),
    )
    .execute();
}

async function outlook(db: Db, region: string, level: Level, active: number, r: [number, number, number]) {
  await db
    .insertInto('retirement_outlook')
    .values({
      region_code: region,
      level,
      province_code: region.slice(0, 2),
      as_of: '2026-11-30',
      active,
      retiring_1: r[0],
      retiring_3: r[1],
      retiring_5: r[2],
    })
    .execute();
}

/**
 * Province 16: Palembang (16.71) with formations, computed needs (placeholder version) and
 * officers; OKI (16.02) and Ogan Ilir (16.10) computed with the confirmed 2026 version; 16.02 with
 * a formation and officers; a superseded and a 2025 formation row; one officer group in 31.71.
 */
async function seed(db: Db): Promise<void> {
  await addNeedParametersAudited(db, confirmedDoc(), { actor: 'test', actorRole: 'admin' });
  await db.insertInto('register_state').values({ evaluated_as_of: '2026-11-30' }).execute();
  await formation(db, '16.71', 2026, 'ahli_pertama', 4, 6);
  await formation(db, '16.71', 2026, 'ahli_muda', 2, 1);
  await formation(db, '16.02', 2026, 'ahli_pertama', 1, 1);
  await formation(db, '16.71', 2025, 'ahli_pertama', 9, 9);
  // A superseded row of the year: not shown.
  await db
    .insertInto('formations')
    .values({
      source_id: 'x',
      region_code: '16.02',
      year: 2026,
      level: 'ahli_muda',
      approved: 50,
      need: 50,
      valid_from: 1,
      valid_to: 2,
    })
    .execute();
  await computed(db, '16.71', 2026, [8, 1, 0, 0], PLACEHOLDER);
  await computed(db, '16.02', 2026, [0, 0, 0, 0], '2026-uji-1');
  await computed(db, '16.10', 2026, [1, 0, 0, 0], '2026-uji-1');
  await outlook(db, '16.71', 'ahli_pertama', 3, [0, 1, 2]);
  await outlook(db, '16.71', 'ahli_muda', 5, [1, 1, 1]);
  await outlook(db, '16.02', 'ahli_pertama', 2, [0, 0, 2]);
  await outlook(db, '31.71', 'ahli_muda', 1, [0, 0, 1]);
}

const level = (r: NeedsRow, l: Level) => r.levels.find((x) => x.level === l)!;
const nothing = {
  formasi: null,
  kebutuhanDeclared: null,
  kebutuhanComputed: null,
  terisi: 0,
  availableFormation: null,
  retiring: { 1: 0, 3: 0, 5: 0 },
  projectedShortfall: { 1: 0, 3: 0, 5: 0 },
};

describe('getNeeds', () => {
  const t = useTestDatabase();

  it('before any run: the nation’s 38 provinces, empty, the year of today, the placeholder in force', async () => {
    const r = await getNeeds(t.db, { today: '2027-03-04' });
    expect(r.year).toBe(2027);
    expect(r.asOf).toBeNull();
    expect(r.parameters).toMatchObject({ version: PLACEHOLDER, status: 'unconfirmed', validFrom: '2023-01-01' });
    expect(r.parameters!.source).toMatch(/KepMenPAN 75\/2004/);
    expect(r.scope).toEqual({ province: null, region: null });
    expect(r.data).toHaveLength(38);
    expect(r.data.map((p) => p.code)).toEqual([...r.data.map((p) => p.code!)].sort());
    expect(r.data.every((p) => p.kind === 'province' && /^\d{2}$/.test(p.code!))).toBe(true);
    expect(r.data.find((p) => p.code === '16')!.name).toBe('Sumatera Selatan');
    expect(r.total).toMatchObject({ kind: 'nation', code: null, name: 'Indonesia', parameterVersion: null });
    expect(r.total.levels.map((l) => l.level)).toEqual(LEVELS);
    for (const l of r.total.levels) expect(l).toEqual({ level: l.level, ...nothing });
    expect(r.total.allLevels).toEqual(nothing);
  });

  it('a province: its own office first, then every regency/city, empty ones included, with R17/R18 figures', async () => {
    await seed(t.db);
    const r = await getNeeds(t.db, { province: '16', today: '2027-03-04' });
    // The register's last as_of decides the year, not today.
    expect(r.year).toBe(2026);
    expect(r.asOf).toBe('2026-11-30');
    expect(r.scope).toEqual({ province: '16', region: null });
    expect(r.data).toHaveLength(18);
    expect(r.data[0]).toMatchObject({ kind: 'region', code: '16', name: 'Sumatera Selatan' });
    expect(r.data.slice(1).map((x) => x.code)).toEqual([...r.data.slice(1).map((x) => x.code!)].sort());
    expect(r.data.every((x) => x.kind === 'region')).toBe(true);

    const plg = r.data.find((x) => x.code === '16.71')!;
    expect(plg).toMatchObject({
      name: 'Kota Palembang',
      parameterVersion: PLACEHOLDER,
      parameterStatus: 'unconfirmed',
    });
    expect(level(plg, 'ahli_pertama')).toEqual({
      level: 'ahli_pertama',
      formasi: 4,
      kebutuhanDeclared: 6,
      kebutuhanComputed: 8,
      terisi: 3,
      availableFormation: 1,
      retiring: { 1: 0, 3: 1, 5: 2 },
      // The computed need (8) before the declared one: 8 − (3 − retiring).
      projectedShortfall: { 1: 5, 3: 6, 5: 7 },
    });
    expect(level(plg, 'ahli_muda')).toMatchObject({ formasi: 2, terisi: 5, availableFormation: 0 });
    expect(level(plg, 'ahli_muda').projectedShortfall).toEqual({ 1: 0, 3: 0, 5: 0 });
    expect(level(plg, 'ahli_madya')).toMatchObject({ formasi: null, kebutuhanComputed: 0, availableFormation: null });
    expect(plg.allLevels).toMatchObject({
      formasi: 6,
      kebutuhanDeclared: 7,
      kebutuhanComputed: 9,
      terisi: 8,
      availableFormation: 1,
      retiring: { 1: 1, 3: 2, 5: 3 },
      projectedShortfall: { 1: 5, 3: 6, 5: 7 },
    });

    const oki = r.data.find((x) => x.code === '16.02')!;
    // The superseded row (50) is not shown.
    expect(level(oki, 'ahli_muda').formasi).toBeNull();
    expect(level(oki, 'ahli_pertama')).toMatchObject({ formasi: 1, terisi: 2, availableFormation: 0 });
    expect(oki).toMatchObject({ parameterVersion: '2026-uji-1', parameterStatus: 'confirmed' });

    // A regency/city without any data is listed, all null/0.
    const empty = r.data.find((x) => x.code === '16.03')!;
    expect(empty).toMatchObject({ parameterVersion: null, parameterStatus: null, allLevels: nothing });

    // The province adds up each region's own figures: Palembang's free position is not cancelled
    // by OKI's excess (Σ formasi − Σ terisi = 5 − 5 = 0).
    expect(r.total).toMatchObject({ kind: 'province', code: '16', name: 'Sumatera Selatan' });
    expect(level(r.total, 'ahli_pertama')).toEqual({
      level: 'ahli_pertama',
      formasi: 5,
      kebutuhanDeclared: 7,
      kebutuhanComputed: 9,
      terisi: 5,
      availableFormation: 1,
      retiring: { 1: 0, 3: 1, 5: 4 },
      // Palembang 5/6/7, OKI max(0 − (2 − r), 0) = 0/0/0, Ogan Ilir 1 − 0 = 1.
      projectedShortfall: { 1: 6, 3: 7, 5: 8 },
    });
    // Eight computed rows of the confirmed version against four of the placeholder.
    expect(r.total).toMatchObject({ parameterVersion: '2026-uji-1', parameterStatus: 'confirmed' });
    expect(r.parameters).toEqual({
      version: '2026-uji-1',
      status: 'confirmed',
      validFrom: '2026-01-01',
      source: 'uji',
    });
    for (const l of LEVELS) {
      const sum = (pick: (x: NeedsRow) => number) => r.data.reduce((a, x) => a + pick(x), 0);
      expect(level(r.total, l).terisi).toBe(sum((x) => level(x, l).terisi));
      expect(level(r.total, l).projectedShortfall[5]).toBe(sum((x) => level(x, l).projectedShortfall[5]));
    }
  });

  it('the nation: one row per province, the same figures as the province’s own table', async () => {
    const nation = await getNeeds(t.db, {});
    const province = await getNeeds(t.db, { province: '16' });
    const p16 = nation.data.find((x) => x.code === '16')!;
    expect(p16).toEqual(province.total);
    expect(nation.data.find((x) => x.code === '31')!.allLevels).toMatchObject({ terisi: 1, formasi: null });
    expect(nation.total.allLevels.terisi).toBe(11);
    expect(nation.total.allLevels.retiring).toEqual({ 1: 1, 3: 2, 5: 6 });
    expect(nation.asOf).toBe('2026-11-30');
  });

  it('a region: itself, as the province lists it; province and region together when they agree', async () => {
    const province = await getNeeds(t.db, { province: '16' });
    const region = await getNeeds(t.db, { region: '16.71' });
    expect(region.data).toEqual([region.total]);
    expect(region.total).toEqual(province.data.find((x) => x.code === '16.71'));
    expect(region.scope).toEqual({ province: null, region: '16.71' });
    const both = await getNeeds(t.db, { province: '16', region: '16.71' });
    expect(both.total).toEqual(region.total);
    expect(both.scope).toEqual({ province: '16', region: '16.71' });
    // The province office's own figures (no regency/city added).
    const office = await getNeeds(t.db, { region: '16' });
    expect(office.total).toEqual(province.data[0]);
    expect(office.total.kind).toBe('region');
  });

  it('another year: that year’s formations, no computed need, the version in force on 1 January', async () => {
    const r = await getNeeds(t.db, { region: '16.71', year: 2025 });
    expect(r.year).toBe(2025);
    expect(level(r.total, 'ahli_pertama')).toMatchObject({
      formasi: 9,
      kebutuhanDeclared: 9,
      kebutuhanComputed: null,
      terisi: 3,
      availableFormation: 6,
      // The declared need, with no computed one: 9 − (3 − r).
      projectedShortfall: { 1: 6, 3: 7, 5: 8 },
    });
    expect(r.total.parameterVersion).toBeNull();
    expect(r.parameters).toMatchObject({ version: PLACEHOLDER, status: 'unconfirmed' });
    // 2026 with no computed need anywhere in the scope: the version in force on as_of.
    const none = await getNeeds(t.db, { region: '16.03' });
    expect(none.parameters).toMatchObject({ version: '2026-uji-1' });
  });

  it('refuses bad arguments with a typed error naming the parameter', async () => {
    const refused = async (q: Parameters<typeof getNeeds>[1]) => {
      const e = await getNeeds(t.db, q).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NeedsQueryError);
      const { field, reason, message } = e as NeedsQueryError;
      return { field, reason, message };
    };
    expect(await refused({ province: '16.71' })).toMatchObject({ field: 'province', reason: 'invalid' });
    expect(await refused({ province: '99' })).toMatchObject({ field: 'province', reason: 'unknown' });
    expect(await refused({ region: '16-71' })).toMatchObject({ field: 'region', reason: 'invalid' });
    expect(await refused({ region: '99.99' })).toMatchObject({ field: 'region', reason: 'unknown' });
    expect(await refused({ province: '31', region: '16.71' })).toEqual({
      field: 'region',
      reason: 'outside',
      message: 'wilayah 16.71 tidak berada di provinsi 31 (Daerah Khusus Ibukota Jakarta)',
    });
    for (const year of [1899, 10000, 2026.5, Number.NaN])
      expect(await refused({ year })).toMatchObject({ field: 'year', reason: 'invalid' });
  });

  it('reads one snapshot: a reconcile committing between its statements is not seen', async () => {
    const own = await createTestDatabase();
    onTestFinished(() => own.drop());
    await seed(own.db);
    const gate = deferred();
    const { plugin, reached } = holdAfter(/from formations/, gate.promise);
    const reading = getNeeds(own.db.withPlugin(plugin), { region: '16.71' });
    try {
      await Promise.race([reached, reading]);
      // A reconcile's writes, committed while the reader sits between two statements.
      await own.db.transaction().execute(async (trx) => {
        await trx.updateTable('computed_needs').set({ need: 100 }).where('region_code', '=', '16.71').execute();
        await trx.updateTable('retirement_outlook').set({ active: 100 }).where('region_code', '=', '16.71').execute();
      });
    } finally {
      gate.resolve();
    }
    const r = await reading;
    expect(level(r.total, 'ahli_pertama')).toMatchObject({ kebutuhanComputed: 8, terisi: 3 });
    const after = await getNeeds(own.db, { region: '16.71' });
    expect(level(after.total, 'ahli_pertama')).toMatchObject({ kebutuhanComputed: 100, terisi: 100 });
  });
});

describe('parameter set versions: listed with the one in force, added with an audit entry', () => {
  const t = useTestDatabase();
  const audits = () =>
    t.db.selectFrom('audit_log').selectAll().where('action', '=', 'needs.parameters.add').orderBy('id').execute();

  it('lists the shipped placeholder, in force', async () => {
    expect(await listNeedParameterVersions(t.db, '2026-06-01')).toEqual([
      {
        version: PLACEHOLDER,
        status: 'unconfirmed',
        validFrom: '2023-01-01',
        source: expect.stringMatching(/placeholders/),
        addedAt: expect.any(Date),
        addedBy: 'pksync migrate',
        inForceToday: true,
      },
    ]);
  });

  it('adds a version once (audited), accepts it again unchanged, refuses other contents and bad documents', async () => {
    const first = await addNeedParametersAudited(t.db, confirmedDoc(), {
      actor: 'cli:uji',
      actorRole: 'admin',
      reason: 'lampiran',
    });
    expect(first.added).toBe(true);
    expect(await audits()).toMatchObject([
      { actor: 'cli:uji', actor_role: 'admin', target: '2026-uji-1', reason: 'lampiran' },
    ]);
    const again = await addNeedParametersAudited(t.db, confirmedDoc(), { actor: 'cli:uji', actorRole: 'admin' });
    expect(again.added).toBe(false);
    expect(await audits()).toHaveLength(1);

    const other = await addNeedParametersAudited(
      t.db,
      { ...confirmedDoc(), source: 'lain' },
      { actor: 'cli:uji', actorRole: 'admin' },
    ).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(NeedParametersError);
    expect((other as NeedParametersError).reason).toBe('exists');

    const bad = await addNeedParametersAudited(
      t.db,
      { ...confirmedDoc(), version: 'uji-2', status: 'maybe', rounding: 'sideways' },
      { actor: 'cli:uji', actorRole: 'admin' },
    ).catch((e: unknown) => e);
    expect((bad as NeedParametersError).reason).toBe('invalid');
    expect((bad as NeedParametersError).errors).toEqual([
      expect.stringMatching(/^status: /),
      expect.stringMatching(/^rounding: /),
    ]);
    expect(await audits()).toHaveLength(1);

    const list = await listNeedParameterVersions(t.db, '2026-06-01');
    expect(list.map((v) => [v.version, v.inForceToday])).toEqual([
      [PLACEHOLDER, false],
      ['2026-uji-1', true],
    ]);
    // Before the new version's valid_from, the placeholder is in force.
    expect((await listNeedParameterVersions(t.db, '2025-12-31')).map((v) => v.inForceToday)).toEqual([true, false]);
  });
});

/** Holds the result of the first raw query matching `pattern` until `gate` settles. */
function holdAfter(pattern: RegExp, gate: Promise<void>): { plugin: KyselyPlugin; reached: Promise<void> } {
  const reached = deferred();
  const held = new WeakSet<QueryId>();
  let fired = false;
  const plugin: KyselyPlugin = {
    transformQuery({ node, queryId }) {
      if (!fired && node.kind === 'RawNode' && pattern.test(node.sqlFragments.join('?'))) {
        fired = true;
        held.add(queryId);
      }
      return node;
    },
    async transformResult({ result, queryId }) {
      if (held.has(queryId)) {
        reached.resolve();
        await gate;
      }
      return result;
    },
  };
  return { plugin, reached: reached.promise };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

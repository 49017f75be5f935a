import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KyselyPlugin, QueryId } from 'kysely';
import type { Formation, Officer } from '@pksync/core';
import { LEVEL_CODES, type LevelCode } from '@pksync/reference';
import { insertSource, numberedOfficer, snapshotOf, useTestDatabase } from '@pksync/testing';
import {
  completeRun,
  createDb,
  createRun,
  getRegionSummaries,
  listOfficers,
  reconcileRun,
  stageSnapshot,
  streamOfficers,
  type Db,
  type OfficerView,
} from '../src/index.ts';

// R14: "Readers see a whole version or the previous one, never a mix." Version 1 is a register of
// 30,000 officers; version 2 changes, removes and adds tens of thousands of them and changes the
// formations. While version 2 is being reconciled and published, readers go through the
// production reads (listOfficers page by page as GET /officers does, streamOfficers as the
// export does, getRegionSummaries as GET /regions does) on a pool of their own, again and again;
// every read must be exactly version 1 or exactly version 2 — its count and a checksum of its
// rows equal to one of the two computed here from what was staged. getRegionSummaries' officer
// counts and formations match the same version (the last test holds it between its statements
// while the publication commits: it reads in one snapshot).

const AS_OF = '2026-11-27';
const YEAR = 2026;
const REGIONS = ['16.01', '16.02', '16.71', '16.72', '16.73', '16.74'];
const PER_SOURCE = 5_000;
const GRADE: Record<LevelCode, string> = {
  ahli_pertama: 'III/a',
  ahli_muda: 'III/c',
  ahli_madya: 'IV/a',
  ahli_utama: 'IV/d',
};
const LEVELS = LEVEL_CODES;
const sourceOf = (region: string) => `${region}-disnaker`;

interface Version {
  officers: Map<string, Officer[]>; // by source
  formations: Map<string, Formation[]>;
}

function officerOf(region: string, n: number, o: Partial<Officer> = {}): Officer {
  const level = LEVELS[n % LEVELS.length]!;
  return numberedOfficer(n, {
    name: `Pejabat ${n}`,
    nameNormalised: `pejabat ${n}`,
    regionCode: region,
    level,
    grade: GRADE[level],
    unit: `Dinas Tenaga Kerja ${region}`,
    ...o,
  });
}

/** Version 1: `perSource` officers per region, formations for every level. */
function version1(perSource = PER_SOURCE): Version {
  const officers = new Map<string, Officer[]>();
  const formations = new Map<string, Formation[]>();
  REGIONS.forEach((region, r) => {
    officers.set(
      sourceOf(region),
      Array.from({ length: perSource }, (_, i) => officerOf(region, r * 100_000 + i)),
    );
    formations.set(
      sourceOf(region),
      LEVELS.map((level, k) => ({
        regionCode: region,
        year: YEAR,
        level,
        need: 900 + k,
        approved: 800 + k,
        position: 2,
      })),
    );
  });
  return { officers, formations };
}

/**
 * Version 2, per source: a fifth removed (under the R8 guard's half), two fifths changed (half of
 * them to another level, so the figures move), a fifth added; every formation changed.
 */
function version2(v1: Version): Version {
  const officers = new Map<string, Officer[]>();
  const formations = new Map<string, Formation[]>();
  REGIONS.forEach((region, r) => {
    const source = sourceOf(region);
    const next: Officer[] = [];
    const before = v1.officers.get(source)!;
    before.forEach((o, i) => {
      if (i % 5 === 0) return; // removed
      if (i % 5 === 1)
        next.push({ ...o, grade: o.grade === 'IV/d' ? 'IV/e' : o.grade === 'III/a' ? 'III/b' : o.grade });
      else if (i % 5 === 2)
        next.push({ ...o, level: 'ahli_muda' as LevelCode, grade: 'III/d', unit: `${o.unit} (mutasi)` });
      else next.push(o);
    });
    for (let i = 0; i < before.length / 5; i++) next.push(officerOf(region, r * 100_000 + before.length + i));
    officers.set(
      source,
      next.map((o, i) => ({ ...o, position: i + 2 })),
    );
    formations.set(
      source,
      v1.formations.get(source)!.map((f) => ({ ...f, need: f.need + 10, approved: f.approved - 10 })),
    );
  });
  return { officers, formations };
}

/** What a whole-register read of a version is: its row count and a checksum of its rows. */
function digest(rows: Iterable<Pick<OfficerView, 'nip' | 'sourceId' | 'regionCode' | 'level' | 'grade' | 'unit'>>) {
  const lines: string[] = [];
  for (const o of rows) lines.push(`${o.nip}|${o.sourceId}|${o.regionCode}|${o.level}|${o.grade}|${o.unit}`);
  lines.sort();
  return { count: lines.length, sha256: createHash('sha256').update(lines.join('\n')).digest('hex') };
}

function expectedDigest(v: Version) {
  return digest([...v.officers].flatMap(([sourceId, os]) => os.map((o) => ({ ...o, sourceId }))));
}

type Figures = { officers: string; formations: string };

/**
 * The figures GET /regions shows for the regions staged here: the officer counts (active by
 * level, terisi) and the formation (formasi, kebutuhan), each as one comparable string.
 */
function figuresOf(summaries: Awaited<ReturnType<typeof getRegionSummaries>>): Figures {
  const of = (f: (s: (typeof summaries)[number], l: LevelCode) => string) =>
    REGIONS.map((code) =>
      LEVELS.map(
        (l) =>
          `${code}:${l}:${f(
            summaries.find((x) => x.code === code)!,
            l,
          )}`,
      ).join(','),
    ).join(';');
  return {
    officers: of((s, l) => `${s.activeByLevel[l]}:${s.formationByLevel[l].terisi}`),
    formations: of((s, l) => `${s.formationByLevel[l].formasi}:${s.formationByLevel[l].kebutuhan}`),
  };
}

function expectedFigures(v: Version): Figures {
  const of = (f: (code: string, l: LevelCode) => string) =>
    REGIONS.map((code) => LEVELS.map((l) => `${code}:${l}:${f(code, l)}`).join(',')).join(';');
  const active = (code: string, l: LevelCode) => v.officers.get(sourceOf(code))!.filter((o) => o.level === l).length;
  const formation = (code: string, l: LevelCode) => v.formations.get(sourceOf(code))!.find((x) => x.level === l)!;
  return {
    officers: of((code, l) => `${active(code, l)}:${active(code, l)}`),
    formations: of((code, l) => `${formation(code, l).approved}:${formation(code, l).need}`),
  };
}

/** One run over province 16: every source staged and its fetch succeeded, as the fetch jobs leave it. */
async function stageVersion(db: Db, v: Version): Promise<string> {
  const { run } = await createRun(db, {
    scope: { kind: 'province', value: '16' },
    trigger: 'manual',
    requestedBy: 'test',
    asOf: AS_OF,
  });
  const fetches = await db
    .selectFrom('source_fetches')
    .select(['id', 'source_id'])
    .where('run_id', '=', run.id)
    .execute();
  expect(fetches).toHaveLength(REGIONS.length);
  for (const f of fetches) {
    const result = snapshotOf(v.officers.get(f.source_id)!, { formations: v.formations.get(f.source_id)! });
    await stageSnapshot(db, { runId: run.id, sourceId: f.source_id, fetchId: f.id, result, contentHash: run.id });
    await db
      .updateTable('source_fetches')
      .set({ status: 'succeeded', content_hash: run.id })
      .where('id', '=', f.id)
      .execute();
  }
  return run.id;
}

/** Reconciles and completes the run as the reconcile job does; resolves with the version published. */
async function publish(db: Db, runId: string): Promise<number> {
  const res = await reconcileRun(db, { runId, asOf: AS_OF });
  await completeRun(db, runId, res.findings);
  const pub = await db
    .selectFrom('publications')
    .select('version')
    .where('run_id', '=', runId)
    .executeTakeFirstOrThrow();
  return pub.version;
}

/** The whole register through listOfficers, following its cursor (afterId + version) as GET /officers' clients do. */
async function listAll(db: Db, opts: { limit: number; afterFirstPage?: () => Promise<unknown> }) {
  const first = await listOfficers(db, {}, { limit: opts.limit });
  await opts.afterFirstPage?.();
  const rows = [...first.officers];
  let next = first.nextAfterId;
  while (next !== null) {
    const page = await listOfficers(db, {}, { limit: opts.limit, afterId: next, version: first.version });
    expect(page.version).toBe(first.version);
    rows.push(...page.officers);
    next = page.nextAfterId;
  }
  return { version: first.version, ...digest(rows) };
}

/** The whole register through streamOfficers (the export). */
async function exportAll(db: Db, opts: { batchSize: number; afterFirstBatch?: () => Promise<unknown> }) {
  let version = 0;
  const rows: OfficerView[] = [];
  let batches = 0;
  for await (const batch of streamOfficers(db, {}, { batchSize: opts.batchSize, onVersion: (v) => (version = v) })) {
    rows.push(...batch);
    if (++batches === 1) await opts.afterFirstBatch?.();
  }
  return { version, ...digest(rows) };
}

/**
 * A Kysely plugin that holds the result of the first raw statement matching `pattern` until `gate`
 * resolves: the caller's next statement then runs after whatever happened meanwhile.
 */
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

describe('R14: readers during a real publication see version n or n+1, never a mix', () => {
  const t = useTestDatabase();
  let readers: Db;
  beforeAll(() => {
    // The readers' own pool, as the API has its own.
    readers = createDb(t.url, { max: 6, applicationName: 'pksync-test-readers' });
  });
  afterAll(async () => {
    await readers?.destroy();
  });

  it('listOfficers, streamOfficers and getRegionSummaries, read again and again while version 2 is published', async () => {
    const { db } = t;
    for (const region of REGIONS) await insertSource(db, { id: sourceOf(region), regionCode: region });
    const v1 = version1();
    const v2 = version2(v1);
    const expected = new Map([
      [1, { ...expectedDigest(v1), figures: expectedFigures(v1) }],
      [2, { ...expectedDigest(v2), figures: expectedFigures(v2) }],
    ]);
    // The change is large: a version 2 that differed from version 1 in a few rows would prove little.
    expect(expected.get(1)!.count).toBe(REGIONS.length * PER_SOURCE);
    expect(expected.get(2)!.sha256).not.toBe(expected.get(1)!.sha256);
    expect(expected.get(2)!.figures.officers).not.toBe(expected.get(1)!.figures.officers);
    expect(expected.get(2)!.figures.formations).not.toBe(expected.get(1)!.figures.formations);

    expect(await publish(db, await stageVersion(db, v1))).toBe(1);
    expect(await listAll(readers, { limit: 1000 })).toEqual({ version: 1, ...expectedDigest(v1) });
    expect(figuresOf(await getRegionSummaries(readers, { year: YEAR }))).toEqual(expected.get(1)!.figures);

    const run2 = await stageVersion(db, v2);

    const seen = { list: [] as number[], export: [] as number[], summaries: [] as number[] };
    const during = { list: 0, export: 0, summaries: 0 };
    /** The version a whole-register read is: its label, and its rows exactly that version's. */
    const versionOf = (r: { version: number; count: number; sha256: string }) => {
      expect([1, 2], `read of version ${r.version}`).toContain(r.version);
      const want = expected.get(r.version)!;
      expect({ count: r.count, sha256: r.sha256 }, `a read labelled version ${r.version}`).toEqual({
        count: want.count,
        sha256: want.sha256,
      });
      return r.version;
    };

    // Straddling on purpose: a listing and an export begun on version 1 and finished after version 2
    // is published must stay version 1 to their last row.
    const publicationDone = deferred();
    const listBegun = deferred();
    const exportBegun = deferred();
    const straddlingList = listAll(readers, {
      limit: 1000,
      afterFirstPage: () => (listBegun.resolve(), publicationDone.promise),
    });
    const straddlingExport = exportAll(readers, {
      batchSize: 2000,
      afterFirstBatch: () => (exportBegun.resolve(), publicationDone.promise),
    });
    try {
      await Promise.all([listBegun.promise, exportBegun.promise]);

      let publishing = true;
      const publication = publish(db, run2).finally(() => {
        publishing = false;
      });
      const loop = async (kind: keyof typeof seen, read: () => Promise<number>) => {
        // Until the publication is done, then once more: that read must see version 2.
        for (let last = false; !last;) {
          last = !publishing;
          const version = await read();
          seen[kind].push(version);
          if (publishing) during[kind]++;
        }
      };
      await Promise.all([
        publication,
        loop('list', async () => versionOf(await listAll(readers, { limit: 2500 }))),
        loop('export', async () => versionOf(await exportAll(readers, { batchSize: 5000 }))),
        loop('summaries', async () => {
          // Each of its statements reads one version. That they read the same one is the test below.
          const figures = figuresOf(await getRegionSummaries(readers, { year: YEAR }));
          const officers = [...expected].find(([, e]) => e.figures.officers === figures.officers)?.[0];
          const formations = [...expected].find(([, e]) => e.figures.formations === figures.formations)?.[0];
          expect(officers, 'getRegionSummaries counted officers of neither version').toBeDefined();
          expect(formations, 'getRegionSummaries read formations of neither version').toBeDefined();
          return Math.min(officers!, formations!);
        }),
      ]);
      expect(await publication).toBe(2);
    } finally {
      publicationDone.resolve();
    }

    expect(versionOf(await straddlingList)).toBe(1);
    expect(versionOf(await straddlingExport)).toBe(1);
    // Each reader read during the publication (the premise), and saw version 2 once it was done.
    expect(during.list).toBeGreaterThan(0);
    expect(during.export).toBeGreaterThan(0);
    expect(during.summaries).toBeGreaterThan(0);
    for (const kind of ['list', 'export', 'summaries'] as const) expect(seen[kind].at(-1)).toBe(2);
    // Versions only move forward for a reader.
    for (const kind of ['list', 'export', 'summaries'] as const) {
      expect(seen[kind]).toEqual([...seen[kind]].sort((a, b) => a - b));
    }
  }, 180_000);
});

describe('R14: a getRegionSummaries whose statements straddle a publication', () => {
  const t = useTestDatabase();

  // Known bug, kept visible: getRegionSummaries reads the latest version, the officer counts and the
  // formations in separate statements, not in one snapshot (streamOfficers and copyOfficersCsv open a
  // repeatable-read transaction for this). A publication that commits between the counts and the
  // formations gives officers of version n with the formation of version n+1 — which the loop above
  // hits now and then, and this test every time, by holding the reader between the two statements.
  // When getRegionSummaries reads one snapshot this test passes: make it an `it`.
  it('shows one version: its figures are all version 1 or all version 2', async () => {
    const { db } = t;
    for (const region of REGIONS) await insertSource(db, { id: sourceOf(region), regionCode: region });
    const v1 = version1(50);
    const v2 = version2(v1);
    expect(await publish(db, await stageVersion(db, v1))).toBe(1);
    const run2 = await stageVersion(db, v2);

    const gate = deferred();
    const { plugin, reached } = holdAfter(/count\(\*\)::int as n from officer_records/, gate.promise);
    const summaries = getRegionSummaries(db.withPlugin(plugin), { year: YEAR });
    try {
      await Promise.race([reached, summaries]); // the officers are counted: version 1
      expect(await publish(db, run2)).toBe(2);
    } finally {
      gate.resolve();
    }
    const figures = figuresOf(await summaries);
    const versionOf = (part: keyof Figures) =>
      [expectedFigures(v1), expectedFigures(v2)].findIndex((e) => e[part] === figures[part]) + 1;
    // Begun on version 1, so all of it version 1 (today: formations of version 2).
    expect({ officers: versionOf('officers'), formations: versionOf('formations') }).toEqual({
      officers: 1,
      formations: 1,
    });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import type { Db } from '@pksync/db';
import { createKeys, createResponseChecker, startTestApi, type Keys, type TestApi } from './helpers.ts';

/**
 * The one paging convention, route by route (services/api/README.md § Paging): seed N items (N
 * random, several pages), walk every page with random limits — every item exactly once, in the
 * list's order; walk again while items are added between page requests — none of the items that
 * were there before is skipped or repeated, and what is picked up sits in order. Filters are
 * drawn too: a cursor walks the list of the filters it was made with.
 */

type Filter = Record<string, string>;

/** One list route under test: its path, a model of its items, and how to add to it. */
interface ListRoute<Item> {
  name: string;
  /** The route's path (schema lookup), and the URL of one walk (its filters). */
  doc: string;
  url(filter: Filter): string;
  filters: Filter[];
  /** Empties what the list reads. */
  reset(db: Db): Promise<void>;
  /** Adds `n` items and returns them (the model), drawn from `seed`. */
  add(db: Db, n: number, seed: number): Promise<Item[]>;
  /** Whether `item` passes `filter`. */
  passes(item: Item, filter: Filter): boolean;
  /** The list's order: negative when `a` comes first. */
  order(a: Item, b: Item): number;
  /** The item's identity, and the same read from the JSON of a page. */
  key(item: Item): string;
  keyOf(json: Record<string, unknown>): string;
}

/** A small deterministic generator, so one fast-check seed replays the same data. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}

const desc = (a: number, b: number) => b - a;
let serial = 0;

async function anchorRun(db: Db): Promise<string> {
  const run = await db
    .insertInto('runs')
    .values({
      scope_kind: 'national',
      scope_value: null,
      scope_key: 'national',
      trigger: 'schedule',
      requested_by: null,
      reason: null,
      as_of: '2026-11-26',
      status: 'completed',
      schedule_slot: null,
      version_published: null,
      error: null,
      started_at: null,
      finished_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return run.id;
}

interface FindingItem {
  id: number;
  province: string;
}
const findings: ListRoute<FindingItem> = {
  name: 'GET /findings',
  doc: '/api/v1/findings',
  url: (f) => `/api/v1/findings?${new URLSearchParams(f)}`,
  filters: [{}, { province: '16' }, { province: '31', status: 'open' }],
  reset: async (db) => void (await db.deleteFrom('findings').execute()),
  add: async (db, n, seed) => {
    const r = rng(seed);
    const rows = Array.from({ length: n }, () => {
      const province = r(2) ? '16' : '31';
      return {
        code: 'record_rejected',
        severity: 'error' as const,
        fingerprint: `fp-${++serial}`,
        province_code: province,
        region_code: `${province}.71`,
        source_id: `${province}.71-disnaker`,
        nip: null,
        row: r(500),
        message: 'Baris ditolak',
        first_run_id: null,
        last_run_id: null,
        acknowledged_at: null,
        acknowledged_by: null,
        ack_note: null,
        resolved_at: null,
        resolved_run_id: null,
      };
    });
    const ids = await db.insertInto('findings').values(rows).returning(['id', 'province_code']).execute();
    return ids.map((x) => ({ id: Number(x.id), province: x.province_code }));
  },
  passes: (item, f) => !f.province || item.province === f.province,
  order: (a, b) => desc(a.id, b.id),
  key: (item) => String(item.id),
  keyOf: (j) => String(j.id),
};

interface AuditItem {
  id: number;
  actor: string;
}
const audit: ListRoute<AuditItem> = {
  name: 'GET /audit',
  doc: '/api/v1/audit',
  url: (f) => `/api/v1/audit?${new URLSearchParams(f)}`,
  filters: [{}, { actor: 'key:a' }],
  reset: async (db) => void (await db.deleteFrom('audit_log').execute()),
  add: async (db, n, seed) => {
    const r = rng(seed);
    const rows = Array.from({ length: n }, () => ({
      actor: r(2) ? 'key:a' : 'key:b',
      actor_role: 'admin',
      action: 'sync.trigger',
      target: null,
      province_code: null,
      reason: 'uji',
      details: '{}',
    }));
    const ids = await db.insertInto('audit_log').values(rows).returning(['id', 'actor']).execute();
    return ids.map((x) => ({ id: Number(x.id), actor: x.actor }));
  },
  passes: (item, f) => !f.actor || item.actor === f.actor,
  order: (a, b) => desc(a.id, b.id),
  key: (item) => String(item.id),
  keyOf: (j) => String(j.id),
};

interface DeliveryItem {
  id: number;
  province: string;
}
const deliveries: ListRoute<DeliveryItem> = {
  name: 'GET /contacts/deliveries',
  doc: '/api/v1/contacts/deliveries',
  url: (f) => `/api/v1/contacts/deliveries?${new URLSearchParams(f)}`,
  filters: [{}, { province: '16' }],
  reset: async (db) => void (await db.deleteFrom('alert_outbox').execute()),
  add: async (db, n, seed) => {
    const r = rng(seed);
    const rows = Array.from({ length: n }, () => ({
      idempotency_key: `digest-${++serial}`,
      kind: 'digest' as const,
      run_id: null,
      audience: 'province' as const,
      province_code: r(2) ? '16' : '31',
      contact_id: null,
      channel: 'email' as const,
      payload: '{}',
    }));
    const ids = await db.insertInto('alert_outbox').values(rows).returning(['id', 'province_code']).execute();
    return ids.map((x) => ({ id: Number(x.id), province: x.province_code! }));
  },
  passes: (item, f) => !f.province || item.province === f.province,
  order: (a, b) => desc(a.id, b.id),
  key: (item) => String(item.id),
  keyOf: (j) => String(j.id),
};

interface RunItem {
  id: string;
  /** created_at in microseconds since the epoch. */
  at: bigint;
  status: string;
}
// Few distinct instants, some a microsecond apart within one millisecond: ties and near-ties, which
// a key cut to the millisecond (a JavaScript Date) would skip or repeat.
const RUN_BASE = Date.UTC(2026, 10, 26, 18) * 1000;
const RUN_OFFSETS_US = [0, 1, 2, 999, 1000, 1001, 5_000_000];
const runs: ListRoute<RunItem> = {
  name: 'GET /runs',
  doc: '/api/v1/runs',
  url: (f) => `/api/v1/runs?${new URLSearchParams(f)}`,
  filters: [{}, { status: 'failed' }],
  reset: async (db) => {
    await db.deleteFrom('publications').execute();
    await db.deleteFrom('runs').execute();
  },
  add: async (db, n, seed) => {
    const r = rng(seed);
    const out: RunItem[] = [];
    const rows = Array.from({ length: n }, () => {
      const us = BigInt(RUN_BASE + RUN_OFFSETS_US[r(RUN_OFFSETS_US.length)]!);
      const status = r(2) ? 'failed' : 'completed';
      return { us, status };
    });
    const ids = await db
      .insertInto('runs')
      .values(
        rows.map((x) => ({
          scope_kind: 'national' as const,
          scope_value: null,
          scope_key: 'national',
          trigger: 'schedule' as const,
          requested_by: null,
          reason: null,
          as_of: '2026-11-26',
          status: x.status as 'failed' | 'completed',
          schedule_slot: null,
          version_published: null,
          error: null,
          // ISO 8601 to the microsecond: PostgreSQL keeps all of it.
          created_at: new Date(Number(x.us / 1000n))
            .toISOString()
            .replace('Z', `${String(x.us % 1000n).padStart(3, '0')}Z`),
          started_at: null,
          finished_at: null,
        })),
      )
      .returning(['id'])
      .execute();
    ids.forEach((x, i) => out.push({ id: x.id, at: rows[i]!.us, status: rows[i]!.status }));
    return out;
  },
  passes: (item, f) => !f.status || item.status === f.status,
  order: (a, b) => (a.at !== b.at ? (a.at > b.at ? -1 : 1) : a.id > b.id ? -1 : a.id < b.id ? 1 : 0),
  key: (item) => item.id,
  keyOf: (j) => String(j.id),
};

interface PublicationItem {
  version: number;
}
const usedVersions = new Set<number>();
const publications: ListRoute<PublicationItem> = {
  name: 'GET /publications',
  doc: '/api/v1/publications',
  url: () => '/api/v1/publications?',
  filters: [{}],
  reset: async (db) => {
    await db.deleteFrom('publications').execute();
    usedVersions.clear();
  },
  add: async (db, n, seed) => {
    const r = rng(seed);
    const runId = await anchorRun(db);
    const versions: number[] = [];
    // Versions with gaps, so one added meanwhile may fall anywhere in the order.
    while (versions.length < n) {
      const v = 1 + r(100_000);
      if (!usedVersions.has(v)) {
        usedVersions.add(v);
        versions.push(v);
      }
    }
    await db
      .insertInto('publications')
      .values(versions.map((version) => ({ version, run_id: runId, as_of: '2026-11-26' })))
      .execute();
    return versions.map((version) => ({ version }));
  },
  passes: () => true,
  order: (a, b) => desc(a.version, b.version),
  key: (item) => String(item.version),
  keyOf: (j) => String(j.version),
};

interface ChangeItem {
  nip: string;
  change: string;
  province: string;
}
const DIFF_VERSION = 7;
const usedNips = new Set<string>();
const nipFrom = (r: (n: number) => number) => {
  for (;;) {
    const nip = Array.from({ length: 18 }, () => r(10)).join('');
    if (!usedNips.has(nip)) {
      usedNips.add(nip);
      return nip;
    }
  }
};
const diff: ListRoute<ChangeItem> = {
  name: 'GET /publications/{version}/diff',
  doc: '/api/v1/publications/{version}/diff',
  url: (f) => `/api/v1/publications/${DIFF_VERSION}/diff?${new URLSearchParams(f)}`,
  filters: [{}, { change: 'added' }, { province: '16' }],
  reset: async (db) => {
    await db.deleteFrom('publication_changes').execute();
    await db.deleteFrom('publications').execute();
    await db
      .insertInto('publications')
      .values({ version: DIFF_VERSION, run_id: await anchorRun(db), as_of: '2026-11-26' })
      .execute();
    usedNips.clear();
  },
  add: async (db, n, seed) => {
    const r = rng(seed);
    const CHANGES = ['added', 'removed', 'changed'] as const;
    const rows = Array.from({ length: n }, () => {
      const province = r(2) ? '16' : '31';
      return {
        version: DIFF_VERSION,
        nip: nipFrom(r),
        change: CHANGES[r(3)]!,
        region_code: `${province}.71`,
        province_code: province,
        source_id: `${province}.71-disnaker`,
        reason: 'new',
      };
    });
    await db.insertInto('publication_changes').values(rows).execute();
    return rows.map((x) => ({ nip: x.nip, change: x.change, province: x.province_code }));
  },
  passes: (item, f) => (!f.change || item.change === f.change) && (!f.province || item.province === f.province),
  order: (a, b) => (a.nip < b.nip ? -1 : a.nip > b.nip ? 1 : 0),
  key: (item) => item.nip,
  keyOf: (j) => String(j.nip),
};

interface OfficerItem {
  id: number;
  nip: string;
  region: string;
}
let officerVersion = 1;
const officerRow = (nip: string, region: string, validFrom: number) => ({
  nip,
  source_id: `${region}-disnaker`,
  region_code: region,
  province_code: region.slice(0, 2),
  name: `Pejabat ${nip.slice(-4)}`,
  name_normalised: `pejabat ${nip.slice(-4)}`,
  gender: 'L' as const,
  birth_date: '1985-03-12',
  level: 'ahli_muda',
  grade: 'III/c',
  unit: 'Disnaker',
  tmt_jabatan: '2020-01-01',
  status: 'aktif',
  active: true,
  email: null,
  phone: null,
  source_updated_at: null,
  valid_from: validFrom,
  valid_to: null,
});
const officers: ListRoute<OfficerItem> = {
  name: 'GET /officers',
  doc: '/api/v1/officers',
  url: (f) => `/api/v1/officers?${new URLSearchParams(f)}`,
  filters: [{}, { region: '16.71' }],
  reset: async (db) => {
    await db.deleteFrom('officer_records').execute();
    await db.deleteFrom('publications').execute();
    officerVersion = 1;
    await db
      .insertInto('publications')
      .values({ version: officerVersion, run_id: await anchorRun(db), as_of: '2026-11-26' })
      .execute();
    usedNips.clear();
  },
  add: async (db, n, seed) => {
    const r = rng(seed);
    const rows = Array.from({ length: n }, () => officerRow(nipFrom(r), r(2) ? '16.71' : '31.71', officerVersion));
    const ids = await db.insertInto('officer_records').values(rows).returning(['id', 'nip', 'region_code']).execute();
    return ids.map((x) => ({ id: Number(x.id), nip: x.nip, region: x.region_code }));
  },
  passes: (item, f) => !f.region || item.region === f.region,
  order: (a, b) => a.id - b.id,
  key: (item) => item.nip,
  keyOf: (j) => String(j.nip),
};

/**
 * A new version published between two page reads: one current officer leaves (R14: a walk that
 * began at the version before still lists them) and one joins (not in that version).
 */
async function publishMeanwhile(db: Db): Promise<void> {
  const run = await db.selectFrom('runs').select('id').executeTakeFirstOrThrow();
  const next = officerVersion + 1;
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('publications').values({ version: next, run_id: run.id, as_of: '2026-11-27' }).execute();
    const leaving = await trx
      .selectFrom('officer_records')
      .select('id')
      .where('valid_to', 'is', null)
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    if (leaving)
      await trx.updateTable('officer_records').set({ valid_to: next }).where('id', '=', leaving.id).execute();
    await trx
      .insertInto('officer_records')
      .values(officerRow(nipFrom(rng(next)), '16.71', next))
      .execute();
  });
  officerVersion = next;
}

const ROUTES = [findings, audit, deliveries, runs, publications, diff, officers] as ListRoute<unknown>[];

describe('every list route pages by cursor: each item exactly once, in order, while items are added', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let api: TestApi;
  let keys: Keys;
  let check: ReturnType<typeof createResponseChecker>;

  beforeAll(async () => {
    keys = await createKeys(t.db);
    api = await startTestApi(t.db, r.url, r.prefix);
    check = createResponseChecker(
      (await (await fetch(`${api.url}/api/v1/openapi.json`)).json()) as Parameters<typeof createResponseChecker>[0],
    );
  });
  afterAll(async () => {
    await api?.close();
  });

  const get = async (path: string, key = keys.admin) => {
    const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  /**
   * Walks every page of `url` with the limits in turn; `between(i)` runs before page i (i ≥ 1).
   * Returns the keys in the order the pages gave them.
   */
  async function walk<Item>(
    route: ListRoute<Item>,
    url: string,
    limits: number[],
    between?: (i: number) => Promise<void>,
  ): Promise<string[]> {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; ; i++) {
      if (i > 0 && between) await between(i);
      const limit = limits[i % limits.length]!;
      const res = await get(`${url}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      check('GET', route.doc, 200, res.body);
      const data = res.body.data as Record<string, unknown>[];
      cursor = res.body.next_cursor as string | null;
      // A page that says there is another is full; the last may be full or short.
      if (cursor !== null) expect(data).toHaveLength(limit);
      else expect(data.length).toBeLessThanOrEqual(limit);
      for (const k of data.map((j) => route.keyOf(j))) {
        // An item twice is a failure at once (a cursor that does not move would walk forever).
        expect(seen, `${k} on page ${i} again`).not.toContain(k);
        seen.push(k);
      }
      if (cursor === null) return seen;
    }
  }

  for (const route of ROUTES) {
    it(`${route.name}: a walk gives every item once, in order; items added meanwhile shift none`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 40, max: 120 }),
          fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 5 }),
          fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 5 }),
          fc.constantFrom(...route.filters),
          fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          async (n, limits, inserts, filter, seed) => {
            await route.reset(t.db);
            const model = await route.add(t.db, n, seed);
            const expected = model
              .filter((x) => route.passes(x, filter))
              .sort((a, b) => route.order(a, b))
              .map((x) => route.key(x));
            // Several pages at the largest limit drawn.
            expect(model.length).toBeGreaterThan(3 * Math.max(...limits));

            // Nothing changes meanwhile: the pages are the list, exactly.
            expect(await walk(route, route.url(filter), limits)).toEqual(expected);

            // Items added between page reads (and, for the register, a version published).
            const added = new Map<string, unknown>();
            const seen = await walk(route, route.url(filter), limits, async (i) => {
              const k = inserts[i % inserts.length]!;
              if (k > 0) for (const x of await route.add(t.db, k, seed + i)) added.set(route.key(x), x);
              if (route === officers && i % 3 === 1) await publishMeanwhile(t.db);
            });
            const before = new Set(expected);
            expect(
              seen.filter((k) => before.has(k)),
              'every item that was there, once, in order',
            ).toEqual(expected);
            // What was picked up passes the filters and sits in the list's order.
            const all = new Map<string, unknown>([...model.map((x) => [route.key(x), x] as const), ...added]);
            const items = seen.map((k) => all.get(k));
            expect(items.every((x) => x !== undefined && route.passes(x, filter))).toBe(true);
            for (let i = 1; i < items.length; i++) expect(route.order(items[i - 1], items[i])).toBeLessThan(0);
          },
        ),
        { numRuns: 12 },
      );
    });
  }

  /** A real cursor of `route`'s list (its first page with limit 1). */
  async function cursorOf(route: ListRoute<unknown>, filter: Filter = {}): Promise<string> {
    const res = await get(`${route.url(filter)}&limit=1`);
    expect(res.status).toBe(200);
    return res.body.next_cursor as string;
  }

  describe('cursors that are not this list’s next page: 400 naming querystring.cursor, never a 500', () => {
    beforeAll(async () => {
      // A few items in every list at once (the resets above empty shared tables), so the first
      // page of each, with limit 1, has a next_cursor.
      await runs.reset(t.db);
      for (const route of [findings, audit, deliveries]) {
        await route.reset(t.db);
        await route.add(t.db, 12, 42);
      }
      await runs.add(t.db, 12, 42);
      await officers.reset(t.db);
      await officers.add(t.db, 12, 42);
      await t.db.deleteFrom('publication_changes').execute();
      await t.db
        .insertInto('publications')
        .values({ version: DIFF_VERSION, run_id: await anchorRun(t.db), as_of: '2026-11-26' })
        .execute();
      await diff.add(t.db, 12, 42);
      usedVersions.clear();
      usedVersions.add(1).add(DIFF_VERSION);
      await publications.add(t.db, 12, 42);
    });

    const expect400 = async (url: string, key?: string) => {
      const res = await get(url, key);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body).toEqual({
        error: { code: 'invalid_request', message: expect.stringMatching(/^querystring\.cursor: /) },
      });
    };

    for (const route of ROUTES) {
      it(`${route.name}: malformed, truncated or altered cursors`, async () => {
        const good = await cursorOf(route);
        await fc.assert(
          fc.asyncProperty(
            fc.oneof(
              fc.string({ maxLength: 1100 }),
              fc
                .base64String({ maxLength: 400 })
                .map((s) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=/g, '')),
              fc.integer({ min: 0, max: good.length - 1 }).map((n) => good.slice(0, n)),
              fc
                .tuple(fc.integer({ min: 0, max: good.length - 1 }), fc.constantFrom(...'AQgw_-9z'))
                .map(([i, c]) => `${good.slice(0, i)}${c}${good.slice(i + 1)}`)
                // The last character of base64url may carry bits that decode to nothing: an
                // alteration there can leave the bytes, and so the cursor, as they were.
                .filter((s) => !Buffer.from(s, 'base64url').equals(Buffer.from(good, 'base64url'))),
            ),
            async (bad) => {
              await expect400(`${route.url({})}&cursor=${encodeURIComponent(bad)}`);
            },
          ),
          { numRuns: 40 },
        );
      });
    }

    it('a cursor of one list is refused by another', async () => {
      await expect400(`${audit.url({})}&cursor=${await cursorOf(findings)}`);
      await expect400(`${runs.url({})}&cursor=${await cursorOf(deliveries)}`);
      await expect400(`${findings.url({})}&cursor=${await cursorOf(officers)}`);
    });

    it('a cursor is valid only with the filters it was made with', async () => {
      const c = await cursorOf(findings, { province: '16' });
      expect((await get(`${findings.url({ province: '16' })}&cursor=${c}`)).status).toBe(200);
      await expect400(`${findings.url({ province: '31' })}&cursor=${c}`);
      await expect400(`${findings.url({})}&cursor=${c}`);
      await expect400(`${findings.url({ province: '16', status: 'open' })}&cursor=${c}`);
      // Filters are bound as the route applies them: a province key's own province is its filter,
      // so an admin's unfiltered cursor is not a province key's next page.
      await expect400(`${findings.url({})}&cursor=${await cursorOf(findings)}`, keys.own);
      const own = await get(`${findings.url({})}&limit=1`, keys.own);
      expect((await get(`${findings.url({ province: '16' })}&cursor=${String(own.body.next_cursor)}`)).status).toBe(
        200,
      );
      // The diff binds its version too.
      const d = await cursorOf(diff);
      await expect400(`/api/v1/publications/${DIFF_VERSION}/diff?change=removed&cursor=${d}`);
    });

    it('a cursor gives no NIP away, though the diff is keyed by it', async () => {
      const page = await get(`${diff.url({})}&limit=1`);
      const nip = String((page.body.data as { nip: string }[])[0]!.nip);
      const cursor = String(page.body.next_cursor);
      expect(Buffer.from(cursor, 'base64url').toString('latin1')).not.toContain(nip);
      // The public sees the diff without NIPs, and pages it all the same.
      const pub = await fetch(`${api.url}${diff.url({})}&limit=1&cursor=${cursor}`);
      expect(pub.status).toBe(200);
      expect(JSON.stringify(await pub.json())).not.toMatch(/"nip"/);
    });
  });
});

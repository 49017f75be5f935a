import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shippedNeedParameters } from '@pksync/reference';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import type { Db } from '@pksync/db';
import { createKeys, createResponseChecker, seedRegister, startTestApi, type Keys, type TestApi } from './helpers.ts';

const RUN = '00000000-0000-4000-8000-000000000001';
const LEVELS = ['ahli_pertama', 'ahli_muda', 'ahli_madya', 'ahli_utama'] as const;
const placeholder = () => structuredClone(shippedNeedParameters()[0]!.document) as Record<string, unknown>;
const newVersion = (o: Record<string, unknown> = {}) => ({
  ...placeholder(),
  version: '2026-uji-1',
  status: 'confirmed',
  valid_from: '2024-01-01',
  source: 'Lampiran Permenaker 10/2023 (uji)',
  ...o,
});

interface Level {
  level: string;
  formasi: number | null;
  kebutuhan_declared: number | null;
  kebutuhan_computed: number | null;
  terisi: number;
  available_formation: number | null;
  retiring: Record<string, number>;
  projected_shortfall: Record<string, number>;
}
interface Row {
  kind: string;
  code: string | null;
  name: string;
  parameter_version: string | null;
  parameter_status: string | null;
  levels: Level[];
  all_levels: Omit<Level, 'level'>;
}
interface Needs {
  year: number;
  as_of: string | null;
  parameters: { version: string; status: string; valid_from: string; source: string } | null;
  scope: { province: string | null; region: string | null };
  total: Row;
  data: Row[];
}

/**
 * Needs figures beside seedRegister's register: 16.71 with formations (seedRegister's ahli_muda
 * 3/4, and ahli_pertama 0/0 here), computed needs and an outlook; 16.02 with a free ahli_pertama
 * formation and nobody in it.
 */
async function seedNeeds(db: Db): Promise<void> {
  await db.insertInto('register_state').values({ evaluated_as_of: '2026-11-26' }).execute();
  await db
    .insertInto('formations')
    .values(
      [
        { source_id: '16.71-disnaker', region_code: '16.71', year: 2026, level: 'ahli_pertama', need: 0, approved: 0 },
        { source_id: '16.02-disnaker', region_code: '16.02', year: 2026, level: 'ahli_pertama', need: 1, approved: 2 },
      ].map((f) => ({ ...f, valid_from: 1, valid_to: null })),
    )
    .execute();
  await db
    .insertInto('computed_needs')
    .values(
      LEVELS.map((level, i) => ({
        region_code: '16.71',
        year: 2026,
        level,
        province_code: '16',
        need: [2, 5, 0, 0][i]!,
        exact: [2, 5, 0, 0][i]!,
        area_factor: 1,
        complexity_factor: 1,
        parameter_version: '2023-placeholder-1',
        as_of: '2026-11-26',
        run_id: RUN,
      })),
    )
    .execute();
  await db
    .insertInto('retirement_outlook')
    .values(
      [
        { region_code: '16.71', level: 'ahli_pertama', active: 1, retiring_1: 0, retiring_3: 0, retiring_5: 1 },
        { region_code: '16.71', level: 'ahli_muda', active: 1, retiring_1: 0, retiring_3: 1, retiring_5: 1 },
        { region_code: '31.71', level: 'ahli_muda', active: 1, retiring_1: 0, retiring_3: 0, retiring_5: 0 },
      ].map((o) => ({ ...o, province_code: o.region_code.slice(0, 2), as_of: '2026-11-26' })),
    )
    .execute();
}

describe('GET /needs, the parameter set versions, and available formation on GET /regions', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let api: TestApi;
  let keys: Keys;
  let check: ReturnType<typeof createResponseChecker>;

  beforeAll(async () => {
    await seedRegister(t.db);
    await seedNeeds(t.db);
    keys = await createKeys(t.db);
    api = await startTestApi(t.db, r.url, r.prefix);
    check = createResponseChecker(
      (await (await fetch(`${api.url}/api/v1/openapi.json`)).json()) as Parameters<typeof createResponseChecker>[0],
    );
  });
  afterAll(async () => {
    await api?.close();
  });

  const call = async (method: string, path: string, init: { key?: string; body?: string; type?: string } = {}) => {
    const headers: Record<string, string> = {};
    if (init.key) headers.authorization = `Bearer ${init.key}`;
    if (init.body !== undefined) headers['content-type'] = init.type ?? 'application/json';
    const res = await fetch(`${api.url}/api/v1${path}`, { method, headers, body: init.body });
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text) as unknown };
  };
  const audits = () =>
    t.db.selectFrom('audit_log').selectAll().where('action', '=', 'needs.parameters.add').orderBy('id').execute();
  const level = (row: Row, l: string) => row.levels.find((x) => x.level === l)!;

  it('GET /needs?province=16: public, every regency/city, the contract’s figures in snake_case', async () => {
    const res = await call('GET', '/needs?province=16');
    expect(res.status, res.text).toBe(200);
    check('GET', '/api/v1/needs', 200, res.body);
    const b = res.body as Needs;
    expect(b).toMatchObject({
      year: 2026,
      as_of: '2026-11-26',
      parameters: { version: '2023-placeholder-1', status: 'unconfirmed', valid_from: '2023-01-01' },
      scope: { province: '16', region: null },
    });
    expect(b.data.map((x) => x.code)).toEqual([
      '16',
      ...Array.from({ length: 17 }, (_, i) => b.data[i + 1]!.code).sort(),
    ]);
    const plg = b.data.find((x) => x.code === '16.71')!;
    expect(plg).toMatchObject({
      kind: 'region',
      name: 'Kota Palembang',
      parameter_version: '2023-placeholder-1',
      parameter_status: 'unconfirmed',
    });
    expect(level(plg, 'ahli_muda')).toEqual({
      level: 'ahli_muda',
      formasi: 3,
      kebutuhan_declared: 4,
      kebutuhan_computed: 5,
      terisi: 1,
      available_formation: 2,
      retiring: { '1': 0, '3': 1, '5': 1 },
      projected_shortfall: { '1': 4, '3': 5, '5': 5 },
    });
    // Each region's own available formation: Palembang 0 (0 approved, 1 filled) + OKI 2.
    expect(level(b.total, 'ahli_pertama')).toMatchObject({ formasi: 2, terisi: 1, available_formation: 2 });
    expect(b.total.all_levels).toMatchObject({ formasi: 5, terisi: 2, available_formation: 4 });
    expect(b.data.find((x) => x.code === '16.03')!.all_levels).toMatchObject({ formasi: null, terisi: 0 });
  });

  it('GET /needs: the nation by province, a region alone, a year without data', async () => {
    const nation = await call('GET', '/needs');
    expect(nation.status).toBe(200);
    check('GET', '/api/v1/needs', 200, nation.body);
    const n = nation.body as Needs;
    expect(n.data).toHaveLength(38);
    expect(n.total).toMatchObject({ kind: 'nation', code: null, name: 'Indonesia' });
    expect(n.total.all_levels.terisi).toBe(3);

    const region = (await call('GET', '/needs?region=16.71&province=16')).body as Needs;
    expect(region.data).toEqual([region.total]);
    expect(region.scope).toEqual({ province: '16', region: '16.71' });

    const y = await call('GET', '/needs?region=16.71&year=2031');
    expect(y.status).toBe(200);
    expect(level((y.body as Needs).total, 'ahli_muda')).toMatchObject({
      formasi: null,
      kebutuhan_computed: null,
      terisi: 1,
    });
  });

  it('GET /needs refuses bad parameters naming them: 400, or 404 for a code nobody has', async () => {
    const cases: [string, number, RegExp][] = [
      ['/needs?province=16.71', 400, /^querystring\.province: /],
      ['/needs?region=16-71', 400, /^querystring\.region: /],
      ['/needs?year=1899', 400, /^querystring\.year: /],
      ['/needs?year=20x6', 400, /^querystring\.year: /],
      ['/needs?province=31&region=16.71', 400, /^querystring\.region: wilayah 16\.71 tidak berada di provinsi 31/],
      ['/needs?province=99', 404, /^querystring\.province: provinsi 99 tidak ditemukan/],
      ['/needs?region=99.99', 404, /^querystring\.region: wilayah 99\.99 tidak ditemukan/],
    ];
    for (const [path, status, message] of cases) {
      const res = await call('GET', path);
      expect(res.status, `${path}: ${res.text}`).toBe(status);
      expect(res.body).toEqual({ error: { code: expect.any(String), message: expect.stringMatching(message) } });
    }
    // A wrong key is refused on public routes too.
    expect((await call('GET', '/needs', { key: keys.wrong })).status).toBe(401);
  });

  it('GET /regions shows available formation per level and in total', async () => {
    const res = await call('GET', '/regions/16');
    expect(res.status, res.text).toBe(200);
    check('GET', '/api/v1/regions/{code}', 200, res.body);
    const p = res.body as {
      formation: Record<string, { available_formation: number } | null>;
      available_formation: number;
      regencies: { code: string; formation: Record<string, unknown>; available_formation: number }[];
    };
    const plg = p.regencies.find((x) => x.code === '16.71')!;
    expect(plg.formation.ahli_muda).toEqual({ approved: 3, need: 4, filled: 1, shortfall: 3, available_formation: 2 });
    expect(plg.formation.ahli_pertama).toMatchObject({ approved: 0, filled: 1, available_formation: 0 });
    expect(plg.available_formation).toBe(2);
    // The province: each region's own added up (0 + 2), not max(2 − 1, 0).
    expect(p.formation.ahli_pertama).toMatchObject({ approved: 2, filled: 1, available_formation: 2 });
    expect(p.available_formation).toBe(4);
  });

  it('a csv source carries its workloads_url (PUT and GET /sources); other transports are refused', async () => {
    const body = (o: Record<string, unknown>) =>
      JSON.stringify({ agency: 'Dinas Tenaga Kerja Kab. OKI', region_code: '16.02', transport: 'csv', ...o });
    const url = 'http://127.0.0.1:9/pejabat.csv';
    const put = await call('PUT', '/sources/16.02-disnaker', {
      key: keys.admin,
      body: body({ url, workloads_url: 'http://127.0.0.1:9/beban_kerja.csv' }),
    });
    expect(put.status, put.text).toBe(200);
    check('PUT', '/api/v1/sources/{id}', 200, put.body);
    expect(put.body).toMatchObject({ workloads_url: 'http://127.0.0.1:9/beban_kerja.csv', formations_url: null });
    const list = await call('GET', '/sources?region=16.02', { key: keys.own });
    check('GET', '/api/v1/sources', 200, list.body);
    expect((list.body as { data: { workloads_url: string | null }[] }).data[0]!.workloads_url).toBe(
      'http://127.0.0.1:9/beban_kerja.csv',
    );
    const refused = await call('PUT', '/sources/16.02-disnaker', {
      key: keys.admin,
      body: body({ transport: 'api', url, workloads_url: 'http://127.0.0.1:9/beban_kerja.csv' }),
    });
    expect(refused.status).toBe(400);
    expect((refused.body as { error: { message: string } }).error.message).toMatch(/^body\.workloads_url: /);
  });

  it('GET /needs/parameters lists the versions; /{version} gives the whole document', async () => {
    const list = await call('GET', '/needs/parameters');
    expect(list.status).toBe(200);
    check('GET', '/api/v1/needs/parameters', 200, list.body);
    expect(list.body).toEqual({
      data: [
        {
          version: '2023-placeholder-1',
          status: 'unconfirmed',
          valid_from: '2023-01-01',
          source: expect.stringMatching(/placeholders/),
          added_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
          in_force_today: true,
        },
      ],
    });
    const one = await call('GET', '/needs/parameters/2023-placeholder-1');
    expect(one.status).toBe(200);
    check('GET', '/api/v1/needs/parameters/{version}', 200, one.body);
    expect(one.body).toMatchObject({ version: '2023-placeholder-1', in_force_today: true, document: placeholder() });
    const unknown = await call('GET', '/needs/parameters/2099-tidak-ada');
    expect(unknown.status).toBe(404);
    expect((unknown.body as { error: { message: string } }).error.message).toMatch(/2099-tidak-ada/);
    expect((await call('GET', '/needs/parameters/_x%20y')).status).toBe(400);
  });

  it('POST /needs/parameters: admin only; 201 added and audited, 200 the same again, 409 other contents', async () => {
    const body = JSON.stringify(newVersion());
    expect((await call('POST', '/needs/parameters', { body })).status).toBe(401);
    expect((await call('POST', '/needs/parameters', { body, key: keys.own })).status).toBe(403);
    expect(await audits()).toEqual([]);

    const added = await call('POST', '/needs/parameters', { body, key: keys.admin });
    expect(added.status, added.text).toBe(201);
    check('POST', '/api/v1/needs/parameters', 201, added.body);
    expect(added.body).toMatchObject({
      added: true,
      version: '2026-uji-1',
      status: 'confirmed',
      valid_from: '2024-01-01',
      in_force_today: true,
      document: newVersion(),
    });
    expect(await audits()).toMatchObject([{ actor: 'key:admin-test', actor_role: 'admin', target: '2026-uji-1' }]);

    const again = await call('POST', '/needs/parameters', { body, key: keys.admin });
    expect(again.status, again.text).toBe(200);
    check('POST', '/api/v1/needs/parameters', 200, again.body);
    expect(again.body).toMatchObject({ added: false, version: '2026-uji-1' });
    expect(await audits()).toHaveLength(1);

    const other = await call('POST', '/needs/parameters', {
      body: JSON.stringify(newVersion({ effective_minutes_per_year: 72000 })),
      key: keys.admin,
    });
    expect(other.status, other.text).toBe(409);
    expect(other.body).toEqual({
      error: { code: 'conflict', message: expect.stringMatching(/2026-uji-1.*versi baru/) },
    });
    expect(await audits()).toHaveLength(1);

    const listed = (await call('GET', '/needs/parameters')).body as {
      data: { version: string; in_force_today: boolean }[];
    };
    expect(listed.data.map((v) => [v.version, v.in_force_today])).toEqual([
      ['2023-placeholder-1', false],
      ['2026-uji-1', true],
    ]);
  });

  it('POST /needs/parameters: 400 naming every problem of a bad document', async () => {
    const doc = newVersion({ version: 'uji-2', status: 'mungkin', rounding: 'ke_samping' }) as Record<string, unknown>;
    (doc.activities as Record<string, { shares: Record<string, number> }>).pendaftaran_pencari_kerja!.shares = {
      ahli_pertama: 0.5,
    };
    delete doc.source;
    const res = await call('POST', '/needs/parameters', { body: JSON.stringify(doc), key: keys.admin });
    expect(res.status, res.text).toBe(400);
    const message = (res.body as { error: { code: string; message: string } }).error.message;
    expect(message).toMatch(/^body: dokumen parameter ditolak \(4 masalah\)/);
    for (const field of ['status', 'source', 'rounding', 'activities.pendaftaran_pencari_kerja.shares'])
      expect(message).toContain(`${field}: `);
    expect(await t.db.selectFrom('need_parameters').select('version').where('version', '=', 'uji-2').execute()).toEqual(
      [],
    );
  });

  it('POST /needs/parameters: hostile bodies get 400 (413 beyond the size limit), never 500', async () => {
    const deep = `{"version":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const manyActivities = newVersion({
      version: 'uji-banyak',
      activities: Object.fromEntries(
        Array.from({ length: 3000 }, (_, i) => [`k${i}`, { name: 'x', minutes: -1, shares: {} }]),
      ),
    });
    const cases: [string, string, string, number][] = [
      ['an array', '[1,2,3]', 'application/json', 400],
      ['a string', '"parameter"', 'application/json', 400],
      ['null', 'null', 'application/json', 400],
      ['not JSON', '{"version": ', 'application/json', 400],
      [
        'wrong types everywhere',
        JSON.stringify({ ...newVersion(), effective_minutes_per_year: '75000', activities: [] }),
        'application/json',
        400,
      ],
      ['deeply nested JSON', deep, 'application/json', 400],
      ['a prototype-poisoning key', '{"__proto__": {"admin": true}, "version": "x"}', 'application/json', 400],
      ['thousands of bad activities', JSON.stringify(manyActivities), 'application/json', 400],
      [
        'a body beyond the limit',
        JSON.stringify({ ...newVersion(), notes: 'x'.repeat(300 * 1024) }),
        'application/json',
        413,
      ],
      ['a form instead of JSON', 'version=x', 'application/x-www-form-urlencoded', 415],
    ];
    for (const [what, body, type, status] of cases) {
      const res = await call('POST', '/needs/parameters', { body, type, key: keys.admin });
      expect(res.status, `${what}: ${res.text.slice(0, 300)}`).toBe(status);
      expect(res.body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
      expect(res.text).not.toMatch(/node_modules|\.ts:\d+|\bat \w+ \(/);
    }
    // The many problems of a hostile document are named up to a bound, with how many there are.
    const many = await call('POST', '/needs/parameters', { body: JSON.stringify(manyActivities), key: keys.admin });
    const message = (many.body as { error: { message: string } }).error.message;
    expect(message).toMatch(/\(\d{4,} masalah\)/);
    expect(message).toMatch(/… dan \d+ masalah lain$/);
    expect(message.length).toBeLessThan(20_000);
    expect(await audits()).toHaveLength(1);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shippedNeedParameters } from '@pksync/reference';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import {
  createKeys,
  createResponseChecker,
  NIP_16,
  NIP_31,
  seedRegister,
  startTestApi,
  type Keys,
  type TestApi,
} from './helpers.ts';

type Who = 'public' | 'wrong' | 'revoked' | 'other' | 'own' | 'admin';
// Mutating cases rely on this order (e.g. an acknowledgement by "own" before "admin" tries again).
const WHO: Who[] = ['public', 'wrong', 'revoked', 'other', 'own', 'admin'];

const CSV_16_71 = [
  'NIP,Nama,Jenis Kelamin,Tanggal Lahir,Jenjang,Golongan,Unit Kerja,Kode Wilayah,TMT Jabatan,Status',
  '198503122010011003,Budi Santoso,L,1985-03-12,Ahli Muda,III/c,Disnaker Palembang,16.71,2020-01-01,aktif',
  '199001012015032004,Siti Aminah,P,1990-01-01,Ahli Pertama,III/a,Disnaker Palembang,16.71,2021-01-01,aktif',
].join('\r\n');

function form(text: string, name = 'pejabat.csv', type = 'text/csv'): FormData {
  const fd = new FormData();
  fd.append('file', new Blob([text], { type }), name);
  return fd;
}

interface Case {
  name: string;
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  /** The OpenAPI path template; absent for non-API routes (dashboard). */
  doc?: string;
  body?: () => FormData | Record<string, unknown>;
  expect: Record<Who, number>;
  /** Extra checks per caller on the parsed body. */
  check?: (who: Who, body: unknown, res: Response, text: string) => void;
}

const KEYED = { public: 401, wrong: 401, revoked: 401 } as const;
const open = (s = 200) => ({ public: s, wrong: 401, revoked: 401, other: s, own: s, admin: s });
const none = (s = 200) => ({ public: s, wrong: s, revoked: s, other: s, own: s, admin: s });

function personal(o: Record<string, unknown>): string[] {
  return ['nip', 'birth_date', 'email', 'phone'].filter((k) => k in o);
}

describe('access matrix: every route × {public, wrong key, revoked key, other province, own province, admin}', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let api: TestApi;
  let keys: Keys;
  let seeded: Awaited<ReturnType<typeof seedRegister>>;
  let check: ReturnType<typeof createResponseChecker>;
  const syncRuns: Partial<Record<Who, string>> = {};
  const uploadRuns: Partial<Record<Who, string>> = {};

  beforeAll(async () => {
    seeded = await seedRegister(t.db);
    keys = await createKeys(t.db);
    api = await startTestApi(t.db, r.url, r.prefix);
    const doc = (await (await fetch(`${api.url}/api/v1/openapi.json`)).json()) as Parameters<
      typeof createResponseChecker
    >[0];
    check = createResponseChecker(doc);
  });
  afterAll(async () => {
    await api?.close();
  });

  const cases = (): Case[] => [
    { name: 'healthz', method: 'GET', path: '/api/v1/healthz', doc: '/api/v1/healthz', expect: none() },
    { name: 'readyz', method: 'GET', path: '/api/v1/readyz', doc: '/api/v1/readyz', expect: none() },
    {
      name: 'metrics',
      method: 'GET',
      path: '/api/v1/metrics',
      expect: none(),
      check: (_w, _b, _res, text) => {
        // Current state only (the pipeline's own figures are the workers'): queue depth, register version.
        expect(text).toMatch(/^pksync_queue_jobs\{queue="fetch",state="waiting",service="api"\} \d+$/m);
        expect(text).toMatch(/^pksync_register_version\{service="api"\} \d+$/m);
        expect(text).toMatch(/^process_cpu_seconds_total\{service="api"\} /m);
      },
    },
    { name: 'openapi', method: 'GET', path: '/api/v1/openapi.json', expect: none() },
    {
      name: 'me',
      method: 'GET',
      path: '/api/v1/me',
      doc: '/api/v1/me',
      expect: { ...KEYED, other: 200, own: 200, admin: 200 },
      check: (who, b) => {
        if (who === 'own') expect(b).toEqual({ role: 'province', province: '16', name: 'sumsel' });
        if (who === 'admin') expect(b).toMatchObject({ role: 'admin', province: null });
      },
    },
    {
      name: 'regions',
      method: 'GET',
      path: '/api/v1/regions',
      doc: '/api/v1/regions',
      expect: open(),
      check: (who, b) => {
        const list = (b as { data: { code: string; open_findings: number | null; coverage: unknown }[] }).data;
        expect(list.length).toBeGreaterThan(500);
        const p16 = list.find((x) => x.code === '16')!;
        expect(p16.coverage).toEqual({ covered: 1, total: 17 });
        // Findings counts only for callers who may see the province's findings.
        expect(p16.open_findings === null).toBe(who === 'public' || who === 'other');
      },
    },
    {
      name: 'region detail',
      method: 'GET',
      path: '/api/v1/regions/16',
      doc: '/api/v1/regions/{code}',
      expect: open(),
      check: (_w, b) => {
        const d = b as {
          regencies: { code: string; officers: Record<string, number>; formation: Record<string, unknown> }[];
        };
        expect(d.regencies).toHaveLength(17);
        const plg = d.regencies.find((x) => x.code === '16.71')!;
        expect(plg.officers).toMatchObject({ ahli_muda: 1, ahli_pertama: 1 });
        expect(plg.formation.ahli_muda).toEqual({
          approved: 3,
          need: 4,
          filled: 1,
          shortfall: 3,
          available_formation: 2,
        });
      },
    },
    {
      name: 'needs of province 16',
      method: 'GET',
      path: '/api/v1/needs?province=16',
      doc: '/api/v1/needs',
      expect: open(),
      check: (_w, b) => {
        const n = b as { data: { code: string }[]; total: { all_levels: { formasi: number | null } } };
        expect(n.data).toHaveLength(18);
        expect(n.total.all_levels.formasi).toBe(3);
      },
    },
    {
      name: 'needs parameter versions',
      method: 'GET',
      path: '/api/v1/needs/parameters',
      doc: '/api/v1/needs/parameters',
      expect: open(),
    },
    {
      name: 'one needs parameter version',
      method: 'GET',
      path: '/api/v1/needs/parameters/2023-placeholder-1',
      doc: '/api/v1/needs/parameters/{version}',
      expect: open(),
    },
    {
      name: 'add a needs parameter version',
      method: 'POST',
      path: '/api/v1/needs/parameters',
      doc: '/api/v1/needs/parameters',
      body: () => ({
        ...(shippedNeedParameters()[0]!.document as Record<string, unknown>),
        version: '2026-matriks-1',
        valid_from: '2026-01-01',
      }),
      expect: { ...KEYED, other: 403, own: 403, admin: 201 },
    },
    {
      name: 'officers of province 16',
      method: 'GET',
      path: '/api/v1/officers?province=16',
      doc: '/api/v1/officers',
      expect: open(),
      check: (who, b) => {
        const list = (b as { data: Record<string, unknown>[] }).data;
        expect(list).toHaveLength(2);
        for (const o of list) {
          expect(personal(o)).toEqual(who === 'own' || who === 'admin' ? ['nip', 'birth_date', 'email', 'phone'] : []);
        }
      },
    },
    {
      name: 'officers, all provinces',
      method: 'GET',
      path: '/api/v1/officers',
      doc: '/api/v1/officers',
      expect: open(),
      check: (who, b) => {
        const list = (b as { data: { province_code: string; nip?: string }[] }).data;
        expect(list).toHaveLength(3);
        for (const o of list) {
          const mine =
            who === 'admin' ||
            (who === 'own' && o.province_code === '16') ||
            (who === 'other' && o.province_code === '31');
          expect('nip' in o).toBe(mine);
        }
      },
    },
    {
      name: 'officer history',
      method: 'GET',
      path: `/api/v1/officers/${NIP_16}`,
      doc: '/api/v1/officers/{nip}',
      expect: { ...KEYED, other: 403, own: 200, admin: 200 },
      check: (who, b) => {
        if (who === 'own' || who === 'admin') {
          const h = b as {
            current: { nip: string; grade: string; email: string };
            records: { grade: string }[];
            assignments: unknown[];
            changes: { version: number }[];
          };
          expect(h.current).toMatchObject({ nip: NIP_16, grade: 'III/d', email: 'budi@example.go.id' });
          expect(h.records.map((r) => r.grade)).toEqual(['III/c', 'III/d']);
          // Same agency, region and unit across both versions: one assignment.
          expect(h.assignments).toHaveLength(1);
          expect(h.changes.map((c) => c.version)).toEqual([1, 2]);
        }
      },
    },
    {
      // The same 403 for a NIP that exists nowhere: a province key cannot probe other provinces.
      name: 'officer that does not exist',
      method: 'GET',
      path: '/api/v1/officers/199901012020011001',
      doc: '/api/v1/officers/{nip}',
      expect: { ...KEYED, other: 403, own: 403, admin: 404 },
    },
    {
      name: 'officer of province 31',
      method: 'GET',
      path: `/api/v1/officers/${NIP_31}`,
      doc: '/api/v1/officers/{nip}',
      expect: { ...KEYED, other: 200, own: 403, admin: 200 },
    },
    {
      name: 'publications',
      method: 'GET',
      path: '/api/v1/publications',
      doc: '/api/v1/publications',
      expect: open(),
      check: (_w, b) => expect((b as { data: { version: number }[] }).data.map((p) => p.version)).toEqual([2, 1]),
    },
    {
      name: 'publication',
      method: 'GET',
      path: '/api/v1/publications/2',
      doc: '/api/v1/publications/{version}',
      expect: open(),
    },
    {
      name: 'publication diff',
      method: 'GET',
      path: '/api/v1/publications/1/diff',
      doc: '/api/v1/publications/{version}/diff',
      expect: open(),
      check: (who, b) => {
        const list = (b as { data: { region_code: string; nip?: string }[] }).data;
        expect(list).toHaveLength(2);
        for (const c of list) {
          const mine =
            who === 'admin' ||
            (who === 'own' && c.region_code.startsWith('16')) ||
            (who === 'other' && c.region_code.startsWith('31'));
          expect('nip' in c).toBe(mine);
        }
      },
    },
    {
      name: 'export csv of province 16',
      method: 'GET',
      path: '/api/v1/export?format=csv&province=16',
      expect: open(),
      check: (who, _b, res, text) => {
        expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
        expect(text.charCodeAt(0)).toBe(0xfeff);
        const [header, ...rows] = text.slice(1).trim().split('\n');
        expect(header!.split(',').includes('nip')).toBe(who !== 'public');
        expect(rows).toHaveLength(2);
        expect(text.includes(NIP_16)).toBe(who === 'own' || who === 'admin');
        expect(text.includes('budi@example.go.id')).toBe(who === 'own' || who === 'admin');
        // R: formula prefixes neutralised.
        expect(text).toContain(`"'=HYPERLINK(""http://evil"")"`);
      },
    },
    {
      name: 'export json, all provinces',
      method: 'GET',
      path: '/api/v1/export?format=json',
      expect: open(),
      check: (who, b) => {
        const rows = (b as { version: number; data: Record<string, unknown>[] }).data;
        expect(rows).toHaveLength(3);
        for (const o of rows) {
          const mine =
            who === 'admin' ||
            (who === 'own' && o.kode_provinsi === '16') ||
            (who === 'other' && o.kode_provinsi === '31');
          if (who === 'public') expect(Object.keys(o)).not.toContain('nip');
          else expect(o.nip === null).toBe(!mine);
          expect(o.email === undefined || o.email === null).toBe(!mine || o.nama === 'Siti Aminah');
        }
        // JSON carries the data as stored: no neutralisation.
        expect(rows.map((o) => o.unit_kerja)).toContain('=HYPERLINK("http://evil")');
      },
    },
    {
      name: 'sync of region 16.71',
      method: 'POST',
      path: '/api/v1/sync',
      doc: '/api/v1/sync',
      body: () => ({ scope: { region: '16.71' }, reason: 'data baru dari dinas' }),
      expect: { ...KEYED, other: 403, own: 202, admin: 202 },
      check: (who, b) => {
        if (who === 'own' || who === 'admin') syncRuns[who] = (b as { run_id: string }).run_id;
        if (who === 'admin') expect(syncRuns.admin).toBe(syncRuns.own); // same scope queued: same run
      },
    },
    {
      name: 'national sync',
      method: 'POST',
      path: '/api/v1/sync',
      doc: '/api/v1/sync',
      body: () => ({ scope: 'national', reason: 'uji' }),
      expect: { ...KEYED, other: 403, own: 403, admin: 202 },
    },
    {
      name: 'runs',
      method: 'GET',
      path: '/api/v1/runs',
      doc: '/api/v1/runs',
      expect: { ...KEYED, other: 200, own: 200, admin: 200 },
      check: (who, b) => {
        const ids = (b as { data: { id: string }[] }).data.map((x) => x.id);
        expect(ids.includes(syncRuns.own!)).toBe(who !== 'other');
        const next = (b as { schedule: { next_at: string } }).schedule.next_at;
        // 01:00 Asia/Jakarta is 18:00 UTC, within a day from now.
        expect(next).toMatch(/T18:00:00\.000Z$/);
        expect(Date.parse(next) - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
      },
    },
    {
      name: 'run detail',
      method: 'GET',
      path: '/api/v1/runs/RUN',
      doc: '/api/v1/runs/{id}',
      expect: { ...KEYED, other: 200, own: 200, admin: 200 },
      check: (who, b) => {
        const run = b as { sources: { source_id: string }[] };
        // A national run: each province sees only its own sources' progress.
        const ids = run.sources.map((s) => s.source_id);
        if (who === 'own') expect(ids).toEqual(['16.71-disnaker']);
        if (who === 'other') expect(ids).toEqual(['31.71-disnaker']);
        if (who === 'admin') expect(ids).toEqual(['16.71-disnaker', '31.71-disnaker']);
      },
    },
    {
      name: 'findings',
      method: 'GET',
      path: '/api/v1/findings',
      doc: '/api/v1/findings',
      expect: { ...KEYED, other: 200, own: 200, admin: 200 },
      check: (who, b) => {
        const provinces = new Set((b as { data: { province_code: string }[] }).data.map((f) => f.province_code));
        expect([...provinces].sort()).toEqual(who === 'admin' ? ['16', '31'] : who === 'own' ? ['16'] : ['31']);
      },
    },
    {
      name: 'findings of another province',
      method: 'GET',
      path: '/api/v1/findings?province=16',
      doc: '/api/v1/findings',
      expect: { ...KEYED, other: 403, own: 200, admin: 200 },
    },
    {
      name: 'acknowledge a finding of 16',
      method: 'POST',
      path: '/api/v1/findings/OWN/ack',
      doc: '/api/v1/findings/{id}/ack',
      body: () => ({ note: 'sedang diperbaiki' }),
      expect: { ...KEYED, other: 403, own: 200, admin: 409 },
      check: (who, b) => {
        if (who === 'own')
          expect(b).toMatchObject({
            status: 'acknowledged',
            acknowledged_by: 'key:sumsel',
            ack_note: 'sedang diperbaiki',
          });
      },
    },
    {
      name: 'sources',
      method: 'GET',
      path: '/api/v1/sources',
      doc: '/api/v1/sources',
      expect: { ...KEYED, other: 200, own: 200, admin: 200 },
      check: (who, b, _res, text) => {
        const ids = (b as { data: { id: string }[] }).data.map((s) => s.id);
        expect(ids).toEqual(
          who === 'admin'
            ? ['16.02-disnaker', '16.71-disnaker', '31.71-disnaker']
            : who === 'own'
              ? ['16.02-disnaker', '16.71-disnaker']
              : ['31.71-disnaker'],
        );
        expect(text).not.toMatch(/token_encrypted|x:y:z/);
      },
    },
    {
      name: 'update a source',
      method: 'PUT',
      path: '/api/v1/sources/16.02-disnaker',
      doc: '/api/v1/sources/{id}',
      body: () => ({
        agency: 'Dinas Tenaga Kerja Kab. OKI',
        region_code: '16.02',
        transport: 'csv',
        url: 'http://127.0.0.1:9/baru.csv',
        reason: 'url baru',
      }),
      expect: { ...KEYED, other: 403, own: 403, admin: 200 },
    },
    {
      name: 'upload a file',
      method: 'POST',
      path: '/api/v1/sources/16.71-disnaker/uploads',
      doc: '/api/v1/sources/{id}/uploads',
      body: () => form(CSV_16_71),
      expect: { ...KEYED, other: 403, own: 202, admin: 202 },
      check: (who, b) => {
        if (who === 'own' || who === 'admin') uploadRuns[who] = (b as { run_id: string }).run_id;
        if (who === 'admin') expect(uploadRuns.admin).toBe(uploadRuns.own);
      },
    },
    {
      name: 'confirm a held removal',
      method: 'POST',
      path: '/api/v1/sources/16.71-disnaker/confirm-removal',
      doc: '/api/v1/sources/{id}/confirm-removal',
      body: () => ({ reason: 'dinas memastikan 3 pejabat pensiun' }),
      expect: { ...KEYED, other: 403, own: 403, admin: 202 },
      check: (who, b) => {
        if (who === 'admin') expect(b).toMatchObject({ confirmed: true, officers: 3 });
      },
    },
    {
      name: 'held removals',
      method: 'GET',
      path: '/api/v1/held-removals',
      doc: '/api/v1/held-removals',
      expect: { ...KEYED, other: 200, own: 200, admin: 200 },
    },
    {
      name: 'check a file',
      method: 'POST',
      path: '/api/v1/check?region=16.71&as_of=2026-11-27',
      doc: '/api/v1/check',
      body: () => form(CSV_16_71),
      expect: { ...KEYED, other: 403, own: 200, admin: 200 },
      check: (who, b) => {
        if (who === 'own') expect(b).toMatchObject({ format: 'csv', region: '16.71', accepted: 2, rejected: [] });
      },
    },
    {
      name: 'audit log',
      method: 'GET',
      path: '/api/v1/audit',
      doc: '/api/v1/audit',
      expect: { ...KEYED, other: 403, own: 403, admin: 200 },
    },
    {
      name: 'queue dashboard',
      method: 'GET',
      path: '/admin/queues',
      expect: { ...KEYED, other: 403, own: 403, admin: 200 },
    },
  ];

  it('answers every route with the expected status and view for each caller', async () => {
    const failures: string[] = [];
    for (const c of cases()) {
      for (const who of WHO) {
        const path = c.path.replace('RUN', seeded.runId).replace('OWN', String(seeded.findings.own));
        const headers: Record<string, string> = {};
        if (who !== 'public') headers.authorization = `Bearer ${keys[who]}`;
        const payload = c.body?.();
        let body: BodyInit | undefined;
        if (payload instanceof FormData) body = payload;
        else if (payload) {
          body = JSON.stringify(payload);
          headers['content-type'] = 'application/json';
        }
        const res = await fetch(`${api.url}${path}`, { method: c.method, headers, body });
        // Bytes, not res.text(): the decoder would drop the CSV's BOM.
        const text = Buffer.from(await res.arrayBuffer()).toString('utf8');
        const json = res.headers.get('content-type')?.includes('application/json')
          ? (JSON.parse(text) as unknown)
          : undefined;
        const label = `${c.name} [${who}] ${c.method} ${path}`;
        try {
          expect(res.status, `${label}: ${text.slice(0, 300)}`).toBe(c.expect[who]);
          if (res.status >= 400 && json !== undefined) {
            expect(json).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
            expect(text).not.toMatch(/at .*\.ts:\d+|stack|node_modules/);
          }
          if (c.doc && json !== undefined) check(c.method, c.doc, res.status, json);
          if (res.status < 400) c.check?.(who, json, res, text);
        } catch (e) {
          failures.push(`${label}: ${(e as Error).message.split('\n').slice(0, 4).join(' | ')}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('writes every trigger, upload, confirmation and acknowledgement to the audit log', async () => {
    const res = await fetch(`${api.url}/api/v1/audit?limit=100`, {
      headers: { authorization: `Bearer ${keys.admin}` },
    });
    const { data } = (await res.json()) as { data: { action: string; actor: string; reason: string | null }[] };
    const actions = new Set(data.map((d) => d.action));
    for (const a of [
      'sync.trigger',
      'source.upload',
      'removal.confirm',
      'finding.ack',
      'source.update',
      'key.create',
      'key.revoke',
      'needs.parameters.add',
    ]) {
      expect(actions, a).toContain(a);
    }
    expect(data.find((d) => d.action === 'finding.ack')).toMatchObject({
      actor: 'key:sumsel',
      reason: 'sedang diperbaiki',
    });
  });
});

import type { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { createKey, revokeKey, type Db } from '@pksync/db';
import { createQueueClient, producerConnection, waitReady, type QueueClient } from '@pksync/queue';
import { buildApp, type ApiContext } from '../src/index.ts';

/** A running API on a real loopback port, over a test database and Redis prefix. */
export interface TestApi {
  app: FastifyInstance;
  url: string;
  queues: QueueClient;
  redis: Redis;
  close(): Promise<void>;
}

export async function startTestApi(
  db: Db,
  redisUrl: string,
  prefix: string,
  overrides: Partial<ApiContext> = {},
): Promise<TestApi> {
  // As the API service starts (start.ts): ready before the first request, else the rate limiter's
  // first command fails (no offline queue) and is skipped, and that request goes uncounted.
  const redis = producerConnection(redisUrl);
  await waitReady(redis);
  const queues = createQueueClient({ redisUrl, prefix });
  const ctx: ApiContext = {
    db,
    redis,
    queues,
    tokenKey: Buffer.alloc(32, 7),
    limits: { maxUploadBytes: 2 * 1024 * 1024, maxSnapshotRows: 10_000, maxSnapshotBytes: 2 * 1024 * 1024 },
    schedule: { cron: '0 1 * * *', timezone: 'Asia/Jakarta' },
    rateLimit: { max: 1000, timeWindowMs: 60_000, namespace: `${prefix}:ratelimit:` },
    ...overrides,
  };
  const app = await buildApp(ctx, { logger: Boolean(process.env.API_TEST_LOG), webRoot: null });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    queues,
    redis,
    close: async () => {
      await app.close();
      await queues.close();
      redis.disconnect();
    },
  };
}

export interface Keys {
  admin: string;
  own: string;
  other: string;
  revoked: string;
  wrong: string;
}

/** Keys for the matrix: admin, province 16 ("own"), province 31 ("other"), a revoked one and a made-up one. */
export async function createKeys(db: Db): Promise<Keys> {
  const admin = (await createKey(db, { name: 'admin-test', role: 'admin', actor: 'test' })).key;
  const own = (await createKey(db, { name: 'sumsel', role: 'province', provinceCode: '16', actor: 'test' })).key;
  const other = (await createKey(db, { name: 'dki', role: 'province', provinceCode: '31', actor: 'test' })).key;
  const revoked = (await createKey(db, { name: 'old', role: 'admin', actor: 'test' })).key;
  await revokeKey(db, { name: 'old', actor: 'test' });
  // Well-formed but never issued: same shape as a real key.
  const wrong = `pks_${'0'.repeat(16)}_${'A'.repeat(43)}`;
  return { admin, own, other, revoked, wrong };
}

export const NIP_16 = '198503122010011003';
export const NIP_16_B = '199001012015032004';
export const NIP_31 = '198701012012011001';

/**
 * Seeds a small register: sources in 16.71 (upload), 16.02 (csv) and 31.71 (api, with a token),
 * two published versions, officers with personal data in both provinces, findings, a held removal.
 */
export async function seedRegister(
  db: Db,
): Promise<{ runId: string; findings: { own: number; own2: number; other: number } }> {
  await db
    .insertInto('sources')
    .values([
      src('16.71-disnaker', 'Dinas Tenaga Kerja Kota Palembang', '16.71', 'upload', null),
      src('16.02-disnaker', 'Dinas Tenaga Kerja Kab. OKI', '16.02', 'csv', 'http://127.0.0.1:9/pejabat.csv'),
      {
        ...src('31.71-disnaker', 'Dinas Tenaga Kerja Jakarta Pusat', '31.71', 'api', 'http://127.0.0.1:9/v1'),
        token_encrypted: 'x:y:z',
      },
    ])
    .execute();
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
      version_published: 2,
      error: null,
      started_at: new Date('2026-11-26T18:00:00Z'),
      finished_at: new Date('2026-11-26T18:05:00Z'),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('source_fetches')
    .values([
      {
        run_id: run.id,
        source_id: '16.71-disnaker',
        status: 'succeeded',
        counts: JSON.stringify({ rows: 3, accepted: 2, rejected: 1 }),
      },
      {
        run_id: run.id,
        source_id: '31.71-disnaker',
        status: 'failed',
        error_code: 'timeout',
        error_message: 'no answer',
      },
    ])
    .execute();
  await db
    .insertInto('publications')
    .values([
      { version: 1, run_id: run.id, as_of: '2026-11-25', counts: JSON.stringify({ added: 2 }) },
      { version: 2, run_id: run.id, as_of: '2026-11-26', counts: JSON.stringify({ added: 1, changed: 1 }) },
    ])
    .execute();
  const base = {
    gender: 'L' as const,
    birth_date: '1985-03-12',
    level: 'ahli_muda',
    grade: 'III/c',
    tmt_jabatan: '2020-01-01',
    status: 'aktif',
    active: true,
    source_updated_at: null,
  };
  await db
    .insertInto('officer_records')
    .values([
      {
        ...base,
        nip: NIP_16,
        source_id: '16.71-disnaker',
        region_code: '16.71',
        province_code: '16',
        name: 'Dr. Budi Santoso, S.E.',
        name_normalised: 'budi santoso',
        unit: 'Disnaker Palembang',
        email: 'budi@example.go.id',
        phone: '+6281234567',
        valid_from: 1,
        valid_to: 2,
      },
      {
        ...base,
        nip: NIP_16,
        source_id: '16.71-disnaker',
        region_code: '16.71',
        province_code: '16',
        name: 'Dr. Budi Santoso, S.E.',
        name_normalised: 'budi santoso',
        grade: 'III/d',
        unit: 'Disnaker Palembang',
        email: 'budi@example.go.id',
        phone: '+6281234567',
        valid_from: 2,
        valid_to: null,
      },
      {
        ...base,
        nip: NIP_16_B,
        gender: 'P',
        birth_date: '1990-01-01',
        source_id: '16.71-disnaker',
        region_code: '16.71',
        province_code: '16',
        name: 'Siti Aminah',
        name_normalised: 'siti aminah',
        level: 'ahli_pertama',
        grade: 'III/a',
        unit: '=HYPERLINK("http://evil")',
        email: null,
        phone: null,
        valid_from: 2,
        valid_to: null,
      },
      {
        ...base,
        nip: NIP_31,
        birth_date: '1987-01-01',
        source_id: '31.71-disnaker',
        region_code: '31.71',
        province_code: '31',
        name: 'Andi Wijaya',
        name_normalised: 'andi wijaya',
        unit: 'Sudin Nakertrans Jakpus',
        email: 'andi@example.go.id',
        phone: '0812000000',
        valid_from: 1,
        valid_to: null,
      },
    ])
    .execute();
  await db
    .insertInto('publication_changes')
    .values([
      {
        version: 1,
        nip: NIP_16,
        change: 'added',
        region_code: '16.71',
        province_code: '16',
        source_id: '16.71-disnaker',
        reason: 'new',
      },
      {
        version: 1,
        nip: NIP_31,
        change: 'added',
        region_code: '31.71',
        province_code: '31',
        source_id: '31.71-disnaker',
        reason: 'new',
      },
      {
        version: 2,
        nip: NIP_16,
        change: 'changed',
        fields: ['grade'],
        region_code: '16.71',
        province_code: '16',
        source_id: '16.71-disnaker',
        reason: 'updated',
      },
      {
        version: 2,
        nip: NIP_16_B,
        change: 'added',
        region_code: '16.71',
        province_code: '16',
        source_id: '16.71-disnaker',
        reason: 'new',
      },
    ])
    .execute();
  await db
    .insertInto('formations')
    .values({
      source_id: '16.71-disnaker',
      region_code: '16.71',
      year: 2026,
      level: 'ahli_muda',
      need: 4,
      approved: 3,
      valid_from: 1,
      valid_to: null,
    })
    .execute();
  const finding = (fingerprint: string, province: string, region: string, code = 'record_rejected') => ({
    code,
    severity: 'error' as const,
    fingerprint,
    province_code: province,
    region_code: region,
    source_id: `${region}-disnaker`,
    nip: null,
    row: 3,
    message: 'Baris 3 ditolak',
    first_run_id: run.id,
    last_run_id: run.id,
    acknowledged_at: null,
    acknowledged_by: null,
    ack_note: null,
    resolved_at: null,
    resolved_run_id: null,
  });
  const f = await db
    .insertInto('findings')
    .values([
      finding('fp-own', '16', '16.71'),
      finding('fp-own2', '16', '16.71', 'source_failed'),
      finding('fp-other', '31', '31.71'),
    ])
    .returning('id')
    .execute();
  await db
    .insertInto('held_removals')
    .values({
      source_id: '16.71-disnaker',
      run_id: run.id,
      nips: [NIP_16, NIP_16_B, '199501012020121001'],
      active_before: 4,
    })
    .execute();
  return { runId: run.id, findings: { own: Number(f[0]!.id), own2: Number(f[1]!.id), other: Number(f[2]!.id) } };
}

function src(
  id: string,
  agency: string,
  region: string,
  transport: 'api' | 'csv' | 'xlsx' | 'upload',
  url: string | null,
) {
  return {
    id,
    agency,
    region_code: region,
    transport,
    url,
    formations_url: null,
    token_encrypted: null,
    timeout_s: null,
    max_bytes: null,
    max_rows: null,
    last_success_at: new Date('2026-11-26T18:01:00Z'),
    last_content_hash: null,
  };
}

/**
 * Checks a JSON response against the OpenAPI document's schema for that operation and status
 * (OpenAPI 3.1 schemas are JSON Schema 2020-12). Throws with the validator's errors.
 */
export function createResponseChecker(doc: {
  paths: Record<
    string,
    Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>
  >;
  components?: { schemas?: Record<string, unknown> };
}) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ $id: 'openapi', components: doc.components ?? {} });
  const cache = new Map<string, ReturnType<typeof ajv.compile>>();
  return (method: string, path: string, status: number, body: unknown): void => {
    const op = doc.paths[path]?.[method.toLowerCase()];
    if (!op) throw new Error(`no operation ${method} ${path} in the OpenAPI document`);
    const resp = op.responses?.[String(status)];
    if (!resp) throw new Error(`${method} ${path}: status ${status} is not documented`);
    const schema = resp.content?.['application/json']?.schema;
    if (!schema) return;
    const key = `${method} ${path} ${status}`;
    let validate = cache.get(key);
    if (!validate) {
      // Refs are `#/components/schemas/X`: resolve them against the document's components.
      const rebased = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/'));
      validate = ajv.compile(rebased);
      cache.set(key, validate);
    }
    if (!validate(body)) {
      throw new Error(
        `${key}: response does not match its schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`,
      );
    }
  };
}

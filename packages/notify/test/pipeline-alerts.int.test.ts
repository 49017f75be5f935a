import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createSnapshotNormaliser, type RawRecord } from '@pksync/core';
import { createTestDatabase, insertSource } from '@pksync/testing';
import { addContact, reconcileRun, stageSnapshot, type Db } from '@pksync/db';
import { deliverDue, writeDigestOutbox, type NotifyConfig } from '../src/index.ts';
import { startAlertReceivers, type SmtpSink, type WebhookReceiver } from './support/index.ts';

// R15 through the real pipeline: stageSnapshot + reconcileRun raise and resolve the
// findings, and writeDigestOutbox runs in the reconciliation transaction after it.

const AS_OF = '2026-11-27';
const key = randomBytes(32);

function officerRow(region: string, nip: string, name: string, extra: Partial<Record<string, string>> = {}): RawRecord {
  return {
    nip,
    nama: name,
    jenis_kelamin: nip[14] === '2' ? 'P' : 'L',
    tanggal_lahir: `${nip.slice(0, 4)}-${nip.slice(4, 6)}-${nip.slice(6, 8)}`,
    jenjang: 'Ahli Pertama',
    golongan: 'III/a',
    unit_kerja: 'Dinas Tenaga Kerja',
    kode_wilayah: region,
    tmt_jabatan: '2020-01-01',
    status: 'aktif',
    ...extra,
  };
}

const formationRow = (region: string): RawRecord => ({
  kode_wilayah: region,
  tahun: '2026',
  jenjang: 'Ahli Pertama',
  formasi: '10',
  kebutuhan: '10',
});

/** Source id → its officer rows and whether it sends a formation. */
type World = Record<string, { region: string; officers: RawRecord[]; formation: boolean }>;

async function sync(db: Db, world: World, now: Date): Promise<{ runId: string; opened: number; resolved: number }> {
  const run = await db
    .insertInto('runs')
    .values({
      scope_kind: 'national',
      scope_value: null,
      scope_key: `national-${now.getTime()}`,
      trigger: 'manual',
      as_of: AS_OF,
      status: 'running',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  for (const [sourceId, s] of Object.entries(world)) {
    const n = createSnapshotNormaliser({ sourceRegion: s.region, asOf: AS_OF });
    s.officers.forEach((o, i) => n.addOfficer(o, i + 2));
    if (s.formation) n.addFormation(formationRow(s.region), 2);
    // R16: every region sends its workload (else workload_missing); 50,000 × 15 min ÷ 75,000 = the declared 10.
    n.addWorkload({ kode_wilayah: s.region, tahun: '2026', kegiatan: 'pendaftaran_pencari_kerja', volume: '50000' }, 3);
    const fetch = await db
      .insertInto('source_fetches')
      .values({ run_id: run.id, source_id: sourceId, status: 'succeeded', attempts: 1 })
      .returning('id')
      .executeTakeFirstOrThrow();
    await stageSnapshot(db, {
      runId: run.id,
      sourceId,
      fetchId: fetch.id,
      result: n.finish(),
      contentHash: `${now.getTime()}`,
    });
  }
  let opened = 0;
  let resolved = 0;
  // As the worker's reconcile job does: reconcile, then the outbox, in one transaction.
  await db.transaction().execute(async (trx) => {
    const r = await reconcileRun(trx, { runId: run.id, asOf: AS_OF });
    opened = r.findings.opened;
    resolved = r.findings.resolved;
    await writeDigestOutbox(trx, {
      runId: run.id,
      openedFindingIds: r.findings.openedIds,
      resolvedFindingIds: r.findings.resolvedIds,
      now,
    });
  });
  await db.updateTable('runs').set({ status: 'completed' }).where('id', '=', run.id).execute();
  return { runId: run.id, opened, resolved };
}

/** The world of the first run: seeded defects in provinces 16 and 31, clean data in 32. */
const defectiveWorld = (): World => ({
  '16.71-disnaker': {
    region: '16.71',
    formation: true,
    officers: [
      officerRow('16.71', '198503122010011003', 'Budi Santoso'),
      // R1: a NIP with 17 digits → rejected, record_rejected for province 16.
      officerRow('16.71', '19900101201503200', 'Siti <b>Aminah</b>'),
    ],
  },
  // R12: active officers and no formation → formation_missing for province 16.
  '16.02-disnaker': {
    region: '16.02',
    formation: false,
    officers: [officerRow('16.02', '198701012012011001', 'Andi')],
  },
  // Province 31: a gender that contradicts the NIP → gender_mismatch.
  '31.71-disnaker': {
    region: '31.71',
    formation: true,
    officers: [officerRow('31.71', '198801012013011002', 'Rudi', { jenis_kelamin: 'P' })],
  },
  // Province 32: clean data; it has a contact and must get nothing.
  '32.73-disnaker': {
    region: '32.73',
    formation: true,
    officers: [officerRow('32.73', '198901012014011004', 'Dewi')],
  },
});

describe('R15 digests from a real reconciliation run', () => {
  let smtp: SmtpSink;
  let hook: WebhookReceiver;
  let config: NotifyConfig;

  beforeAll(async () => {
    ({ smtp, hook, config } = await startAlertReceivers(key));
  });
  afterAll(async () => {
    await smtp?.close();
    await hook?.close();
  });

  /** A database of the test's own with the world's sources and the provinces' contacts; nothing received yet. */
  const setUp = async (world: World): Promise<Db> => {
    const own = await createTestDatabase();
    onTestFinished(() => own.drop());
    for (const [id, s] of Object.entries(world)) await insertSource(own.db, { id: id, regionCode: s.region });
    await addContact(own.db, { provinceCode: '16', kind: 'email', address: 'data@sumsel.go.id' }, key);
    await addContact(
      own.db,
      { provinceCode: '16', kind: 'webhook', address: hook.url, secret: 'a-long-enough-secret' },
      key,
    );
    await addContact(own.db, { provinceCode: '31', kind: 'email', address: 'data@jakarta.go.id' }, key);
    await addContact(own.db, { provinceCode: '32', kind: 'email', address: 'data@jabarprov.go.id' }, key);
    smtp.messages.length = 0;
    hook.requests.length = 0;
    return own.db;
  };

  const recipients = () => smtp.messages.map((m) => (Array.isArray(m.to) ? m.to[0] : m.to)?.text).sort();

  it('a national run with seeded defects: one digest per affected province with exactly its findings, none elsewhere', async () => {
    const world = defectiveWorld();
    const db = await setUp(world);
    const now = new Date('2026-11-27T02:00:00Z');
    const run = await sync(db, world, now);
    expect(run.opened).toBeGreaterThanOrEqual(3);
    await deliverDue({ db, config, now: () => now });
    expect(recipients()).toEqual(['data@jakarta.go.id', 'data@sumsel.go.id']);
    const findings = await db.selectFrom('findings').select(['id', 'code', 'province_code']).execute();
    const byProvince = (p: string) => findings.filter((f) => f.province_code === p);
    expect(
      byProvince('16')
        .map((f) => f.code)
        .sort(),
    ).toEqual(['formation_missing', 'record_rejected']);
    expect(byProvince('31').map((f) => f.code)).toEqual(['gender_mismatch']);
    expect(byProvince('32')).toEqual([]);
    for (const [address, province] of [
      ['data@sumsel.go.id', '16'],
      ['data@jakarta.go.id', '31'],
    ] as const) {
      const mail = smtp.messages.find((m) => (Array.isArray(m.to) ? m.to[0] : m.to)?.text === address)!;
      const listed = [...mail.text!.matchAll(/\] #(\d+)[ :]/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
      expect(listed).toEqual(
        byProvince(province)
          .map((f) => Number(f.id))
          .sort((a, b) => a - b),
      );
    }
    const sumsel = smtp.messages.find((m) => (Array.isArray(m.to) ? m.to[0] : m.to)?.text === 'data@sumsel.go.id')!;
    expect(sumsel.text).toContain('Kabupaten Ogan Komering Ilir (16.02)');
    expect(sumsel.text).toContain('formation_missing (R12)');
    expect(hook.requests).toHaveLength(1);
    expect(JSON.parse(hook.requests[0]!.body)).toMatchObject({ province_code: '16', run_id: run.runId });
  });

  it('the next run no longer finding a defect resolves it and tells the province once', async () => {
    const world = defectiveWorld();
    const db = await setUp(world);
    // The first run raises the defects and delivers their digests.
    const first = new Date('2026-11-27T02:00:00Z');
    expect((await sync(db, world, first)).opened).toBeGreaterThanOrEqual(3);
    await deliverDue({ db, config, now: () => first });
    expect(recipients()).toEqual(['data@jakarta.go.id', 'data@sumsel.go.id']);
    smtp.messages.length = 0;
    hook.requests.length = 0;
    // Province 16 fixes the rejected row (drops it) and sends its formation.
    world['16.71-disnaker']!.officers.pop();
    world['16.02-disnaker']!.formation = true;
    const now = new Date('2026-11-28T02:00:00Z');
    const run = await sync(db, world, now);
    expect(run.resolved).toBe(2);
    await deliverDue({ db, config, now: () => now });
    expect(recipients()).toEqual(['data@sumsel.go.id']);
    expect(smtp.messages[0]!.subject).toContain('2 selesai');
    const resolved = await db
      .selectFrom('findings')
      .select(['status', 'resolved_run_id'])
      .where('province_code', '=', '16')
      .execute();
    expect(resolved).toEqual([
      { status: 'resolved', resolved_run_id: run.runId },
      { status: 'resolved', resolved_run_id: run.runId },
    ]);
    // Province 31's finding stays open: no reminder a day later.
    expect(smtp.messages[0]!.text).not.toContain('Pengingat');
  });
});

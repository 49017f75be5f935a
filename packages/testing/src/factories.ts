import type { Officer, SnapshotResult } from '@pksync/core';
import type { Db, NewSource } from '@pksync/db';

/**
 * Inserts a source row for a test: an `upload` source of `regionCode` unless told otherwise.
 *
 * @example await insertSource(t.db, { id: '16.71-disnaker', regionCode: '16.71' });
 */
export async function insertSource(
  db: Db,
  s: { id: string; regionCode: string; agency?: string } & Partial<Omit<NewSource, 'id' | 'region_code' | 'agency'>>,
): Promise<void> {
  const { id, regionCode, agency, ...rest } = s;
  await db
    .insertInto('sources')
    .values({
      id,
      agency: agency ?? `Dinas ${id}`,
      region_code: regionCode,
      transport: 'upload',
      url: null,
      formations_url: null,
      token_encrypted: null,
      timeout_s: null,
      max_bytes: null,
      max_rows: null,
      last_success_at: null,
      last_content_hash: null,
      ...rest,
    })
    .execute();
}

/** A snapshot of already-normalised officers, as `stageSnapshot` takes it (no rejections, no findings). */
export function snapshotOf(accepted: Officer[], extra: Partial<SnapshotResult> = {}): SnapshotResult {
  return {
    accepted,
    formations: [],
    workloads: [],
    rejected: [],
    findings: [],
    stats: {
      rows: accepted.length,
      accepted: accepted.length,
      rejected: 0,
      duplicates: 0,
      unknownFields: 0,
      unknownFieldNames: [],
      officerRows: accepted.length,
      formationRows: 0,
      workloadRows: 0,
      warningsByCode: {},
      rejectedByCode: {},
    },
    ...extra,
  };
}

/**
 * The `i`-th of a set of already-normalised officers (distinct NIPs and names, Palembang, active
 * Ahli Pertama), as the normaliser would hand it to `stageSnapshot`.
 *
 * @example snapshotOf(Array.from({ length: 40 }, (_, i) => numberedOfficer(i)))
 */
export function numberedOfficer(i: number, o: Partial<Officer> = {}): Officer {
  return {
    nip: String(198503122010011000n + BigInt(i)),
    name: `Budi Santoso ${i}`,
    nameNormalised: `budi santoso ${i}`,
    gender: 'L',
    birthDate: '1985-03-12',
    level: 'ahli_pertama' as Officer['level'],
    grade: 'III/a',
    unit: 'Dinas Tenaga Kerja',
    regionCode: '16.71',
    tmtJabatan: '2020-01-01',
    status: 'aktif',
    email: null,
    phone: null,
    updatedAt: null,
    position: i + 2,
    ...o,
  };
}

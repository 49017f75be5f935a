import { sql, type Transaction } from 'kysely';
import type { Database } from '../../schema.ts';
import { desc, finding } from './codes.ts';

/**
 * R10 findings for the NIPs the run touched: losers still listing an officer, equal-tmt conflicts.
 * Production; the oracle is resolveAssignment (@pksync/core), pinned by register.int.test.ts.
 */
export async function bufferAssignmentFindings(trx: Transaction<Database>): Promise<void> {
  // Only NIPs with more than one candidate (\`contested\`) can raise R10 findings; most runs have none.
  const multi = await sql<{ n: number }>`select count(*)::int as n from contested`.execute(trx);
  if (!multi.rows[0]?.n) return;
  const t = finding('transferred_officer_still_listed');
  const c = finding('conflicting_assignment');
  await sql`
    insert into finding_buffer (fingerprint, code, severity, province_code, region_code, source_id, nip, message, details)
    select ${t.code}::text || '|' || l.source_id || '|' || l.nip, ${t.code}::text, ${t.severity}::text, left(l.region_code, 2),
           l.region_code, l.source_id, l.nip,
           format('%s: %s (NIP %s) tercatat di wilayah %s (sumber %s) dengan TMT Jabatan %s, lebih baru dari TMT %s di sumber ini',
                  ${desc('transferred_officer_still_listed')}::text, w.name, w.nip, w.region_code, w.source_id,
                  w.tmt_jabatan, l.tmt_jabatan),
           jsonb_build_object('registeredSource', w.source_id, 'registeredRegion', w.region_code,
                              'registeredTmt', w.tmt_jabatan, 'listedTmt', l.tmt_jabatan)
    from contenders l join win w on w.nip = l.nip
    where l.active and w.active and l.source_id <> w.source_id and l.tmt_jabatan < w.tmt_jabatan`.execute(trx);
  // Both provinces get a conflict; one finding per province and NIP.
  await sql`
    insert into finding_buffer (fingerprint, code, severity, province_code, region_code, source_id, nip, message, details)
    select ${c.code}::text || '|' || side.province || '|' || l.nip, ${c.code}::text, ${c.severity}::text, side.province,
           side.region, side.source, l.nip,
           format('%s: %s (NIP %s) dilaporkan aktif oleh sumber %s (%s) dan %s (%s) dengan TMT Jabatan %s; yang tercatat: %s',
                  ${desc('conflicting_assignment')}::text, w.name, w.nip, w.source_id, w.region_code, l.source_id,
                  l.region_code, w.tmt_jabatan, w.source_id),
           jsonb_build_object('registeredSource', w.source_id, 'registeredRegion', w.region_code,
                              'otherSource', l.source_id, 'otherRegion', l.region_code, 'tmtJabatan', w.tmt_jabatan)
    from contenders l join win w on w.nip = l.nip
    cross join lateral (values (left(l.region_code, 2), l.region_code, l.source_id),
                               (left(w.region_code, 2), w.region_code, w.source_id)) as side(province, region, source)
    where l.active and w.active and l.source_id <> w.source_id and l.tmt_jabatan = w.tmt_jabatan`.execute(trx);
}

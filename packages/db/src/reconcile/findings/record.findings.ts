import { sql, type Transaction } from 'kysely';
import type { Database } from '../../schema.ts';
import { desc, finding } from './codes.ts';

/** R2/R3/R7 record findings and the R6 rejections (one `record_rejected` per source) of re-read sources. */
export async function bufferRecordFindings(trx: Transaction<Database>, runId: string, S: string[]): Promise<void> {
  if (!S.length) return;
  const texts = ['gender_mismatch', 'birthdate_mismatch', 'grade_level_mismatch', 'duplicate_in_source'] as const;
  await sql`
    insert into finding_buffer (fingerprint, code, severity, province_code, region_code, source_id, nip, row, message, details)
    select x.code || '|' || x.source_id || '|' || coalesce(x.nip, 'row:' || x.row),
           x.code, x.severity, left(s.region_code, 2), s.region_code, x.source_id, x.nip, x.row,
           d.text || coalesce(' (baris ' || x.row || coalesce(', NIP ' || x.nip, '') || ')', ''),
           x.details
    from staged_findings x
    join sources s on s.id = x.source_id
    join unnest(${texts as unknown as string[]}::text[], ${texts.map(desc)}::text[]) as d(code, text) on d.code = x.code
    where x.run_id = ${runId} and x.source_id = any(${S}::text[])`.execute(trx);
  const { code, severity } = finding('record_rejected');
  await sql`
    insert into finding_buffer (fingerprint, code, severity, province_code, region_code, source_id, message, details)
    select ${code}::text || '|' || r.source_id, ${code}::text, ${severity}::text, left(s.region_code, 2), s.region_code, r.source_id,
           format('%s baris data dari sumber %s ditolak dan tidak masuk register: %s. Baris: %s%s',
                  count(*), r.source_id,
                  (select string_agg(c || ' ' || n, ', ' order by n desc, c) from (
                     select c, count(*) as n from rejected_records r2, unnest(r2.codes) c
                     where r2.run_id = r.run_id and r2.source_id = r.source_id group by c) t),
                  array_to_string((array_agg(r.row order by r.row))[1:20], ', '),
                  case when count(*) > 20 then ', …' else '' end),
           jsonb_build_object(
             'count', count(*),
             'records', (select jsonb_agg(jsonb_build_object('row', r3.row, 'nip', r3.nip, 'codes', r3.codes, 'fields', r3.fields)
                                          order by r3.row)
                         from (select * from rejected_records r4 where r4.run_id = r.run_id and r4.source_id = r.source_id
                               order by r4.row limit 100) r3))
    from rejected_records r
    join sources s on s.id = r.source_id
    where r.run_id = ${runId} and r.source_id = any(${S}::text[])
    group by r.run_id, r.source_id, s.region_code`.execute(trx);
}

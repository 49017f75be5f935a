import { sql, type Transaction } from 'kysely';
import { describeCode, isStale, STALE_AFTER_DAYS, type FindingCode } from '@pksync/core';
import type { Database } from '../../schema.ts';
import type { BufferedFinding } from './finding-buffer.ts';
import type { FetchOutcome, FetchRow } from '../sources.phase.ts';
import { desc, finding } from './codes.ts';

/** R8 holds and R9 failure/staleness of the covered sources (a handful of rows: built in JS). */
export async function sourceFindings(
  trx: Transaction<Database>,
  runId: string,
  fetchRows: FetchRow[],
  outcome: Map<string, FetchOutcome>,
): Promise<BufferedFinding[]> {
  const covered = [...outcome.keys()];
  if (!covered.length) return [];
  const out: BufferedFinding[] = [];
  // Every success stamps `last_success_at`; the latest successful fetch (one step down the
  // (source_id, id) index, not the source's whole history) counts too, for a fetch recorded
  // without the stamp.
  const lastSuccess = new Map(
    (
      await sql<{ source_id: string; last: Date | null; now: Date }>`
        select s.id as source_id, now() as now,
               greatest(s.last_success_at,
                        (select coalesce(f.finished_at, f.started_at, r.created_at)
                         from source_fetches f join runs r on r.id = f.run_id
                         where f.source_id = s.id and f.status in ('succeeded', 'unchanged')
                         order by f.id desc limit 1)) as last
        from sources s where s.id = any(${covered}::text[])`.execute(trx)
    ).rows.map((r) => [r.source_id, r] as const),
  );
  const fmt = (d: Date | null) => (d ? d.toISOString() : 'belum pernah');
  for (const f of fetchRows) {
    const o = outcome.get(f.source_id);
    if (!o) continue;
    const province = f.region_code.slice(0, 2);
    const ls = lastSuccess.get(f.source_id);
    const last = ls?.last ?? null;
    if (o === 'failed') {
      out.push({
        ...finding('source_failed'),
        fingerprint: `source_failed|${f.source_id}`,
        provinceCode: province,
        regionCode: f.region_code,
        sourceId: f.source_id,
        message:
          `${desc('source_failed')}. Sumber ${f.source_id}` +
          (f.error_code ? `: ${describeErrorCode(f.error_code)}` : '') +
          (f.error_message ? ` (${f.error_message})` : '') +
          `. Terakhir berhasil: ${fmt(last)}`,
        details: { errorCode: f.error_code, errorMessage: f.error_message, lastSuccessAt: last, runId },
      });
    }
    if (ls && isStale(last, f.created_at, ls.now)) {
      out.push({
        ...finding('source_stale'),
        fingerprint: `source_stale|${f.source_id}`,
        provinceCode: province,
        regionCode: f.region_code,
        sourceId: f.source_id,
        message: `${desc('source_stale')}. Sumber ${f.source_id}, terakhir berhasil: ${fmt(last)}`,
        details: { lastSuccessAt: last, staleAfterDays: STALE_AFTER_DAYS },
      });
    }
  }
  const holds = (
    await sql<{
      source_id: string;
      region_code: string;
      n: number;
      active_before: number;
      status: string;
      sample: string[];
    }>`
      select h.source_id, s.region_code, cardinality(h.nips)::int as n, h.active_before, h.status,
             h.nips[1:20] as sample
      from held_removals h join sources s on s.id = h.source_id
      where h.status in ('held', 'confirmed') and h.source_id = any(${covered}::text[])`.execute(trx)
  ).rows;
  for (const h of holds) {
    out.push({
      ...finding('mass_removal_held'),
      fingerprint: `mass_removal_held|${h.source_id}`,
      provinceCode: h.region_code.slice(0, 2),
      regionCode: h.region_code,
      sourceId: h.source_id,
      message:
        `${desc('mass_removal_held')}. Sumber ${h.source_id}: ${h.n} pejabat tidak ada lagi dalam kiriman ` +
        `(dari ${h.active_before} pejabat aktif)` +
        (h.status === 'confirmed'
          ? '; penghapusan sudah dikonfirmasi dan diterapkan pada sinkronisasi berikutnya'
          : ''),
      details: { nips: h.n, activeBefore: h.active_before, sampleNips: h.sample, status: h.status },
    });
  }
  return out;
}

// Fetch error codes (FETCH_ERROR_CODES) have Bahasa Indonesia texts too; unknown codes come back as is.
const describeErrorCode = (code: string): string => describeCode(code as FindingCode);

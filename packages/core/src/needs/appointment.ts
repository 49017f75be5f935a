/** Default first year R17 applies to (needs-planning-v1.md: the configured start year). */
export const DEFAULT_FORMATION_START_YEAR = 2024;

/** One R17 finding of an officer. */
export interface AppointmentFinding {
  nip: string;
  code: 'appointed_without_formation' | 'appointed_beyond_formation';
  /** The year of `tmt_jabatan`. */
  year: number;
  /** The officer's rank among the active officers at the region and level (1 = appointed first). */
  rank: number;
  /** That year's `formasi` (null without a formation record). */
  formasi: number | null;
}

/**
 * R17 (formation before appointment) for the active officers of one region and level: an officer
 * whose `tmt_jabatan` falls in a year Y ≥ `startYear` needs a formation record for (Y, level) —
 * else `appointed_without_formation`; with one, the officers are ranked by `tmt_jabatan` then NIP,
 * and a rank above that year's `formasi` is `appointed_beyond_formation`.
 *
 * The oracle, not production: the reconcile (@pksync/db, needs.findings.ts) ranks in SQL over the
 * register; packages/db/test/needs.oracles.int.test.ts pins that SQL to this function.
 *
 * @example appointmentFindings({ officers: [{ nip: 'a', tmtJabatan: '2025-03-01' }], formasiByYear: new Map(), startYear: 2024 })
 * // [{ nip: 'a', code: 'appointed_without_formation', year: 2025, rank: 1, formasi: null }]
 */
export function appointmentFindings(input: {
  officers: readonly { nip: string; tmtJabatan: string }[];
  /** `formasi` per year for the region and level; a year without a formation record is absent. */
  formasiByYear: ReadonlyMap<number, number>;
  startYear: number;
}): AppointmentFinding[] {
  const ranked = [...input.officers].sort((a, b) =>
    a.tmtJabatan !== b.tmtJabatan ? (a.tmtJabatan < b.tmtJabatan ? -1 : 1) : a.nip < b.nip ? -1 : a.nip > b.nip ? 1 : 0,
  );
  const out: AppointmentFinding[] = [];
  ranked.forEach((o, i) => {
    const year = Number(o.tmtJabatan.slice(0, 4));
    if (year < input.startYear) return;
    const rank = i + 1;
    const formasi = input.formasiByYear.get(year);
    if (formasi === undefined) out.push({ nip: o.nip, code: 'appointed_without_formation', year, rank, formasi: null });
    else if (rank > formasi) out.push({ nip: o.nip, code: 'appointed_beyond_formation', year, rank, formasi });
  });
  return out;
}

/**
 * R17: the formation still available for `as_of`'s year, max(`formasi` − `terisi`, 0); null
 * without a formation record. Recruitment is possible only where it is above 0.
 */
export function availableFormation(formasi: number | null, terisi: number): number | null {
  return formasi === null ? null : Math.max(formasi - terisi, 0);
}

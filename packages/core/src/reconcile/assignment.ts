/** One agency's claim on a NIP (a listed record, or the register's current entry). */
export interface AssignmentCandidate {
  sourceId: string;
  regionCode: string;
  /** `YYYY-MM-DD`. */
  tmtJabatan: string;
  active: boolean;
}

export interface AssignmentFinding {
  code: 'transferred_officer_still_listed' | 'conflicting_assignment';
  sourceId: string;
  regionCode: string;
}

export interface AssignmentDecision<C extends AssignmentCandidate> {
  winner: C;
  findings: AssignmentFinding[];
}

/**
 * The R10 order of candidates for one NIP: active before inactive (R5), later `tmt_jabatan`
 * first; on equal `tmt_jabatan` the assignment already in the register stands, then the smaller
 * region code (then source id, for a total order). `reconcileRun` applies the same order in SQL
 * (`chooseWinners`); this is its oracle (see {@link resolveAssignment}).
 */
export function compareCandidates(
  a: AssignmentCandidate,
  b: AssignmentCandidate,
  registeredSourceId: string | null,
): number {
  if (a.active !== b.active) return a.active ? -1 : 1;
  if (a.tmtJabatan !== b.tmtJabatan) return a.tmtJabatan > b.tmtJabatan ? -1 : 1;
  const aReg = a.sourceId === registeredSourceId;
  const bReg = b.sourceId === registeredSourceId;
  if (aReg !== bReg) return aReg ? -1 : 1;
  if (a.regionCode !== b.regionCode) return a.regionCode < b.regionCode ? -1 : 1;
  return a.sourceId < b.sourceId ? -1 : a.sourceId > b.sourceId ? 1 : 0;
}

/**
 * R10 for one NIP reported by several agencies: picks the record that stands and the findings.
 *
 * The oracle, not production: `reconcileRun` (@pksync/db) decides R10 in SQL for every contested
 * NIP at once (`chooseWinners`, `bufferAssignmentFindings`); the test "R10 in SQL matches the pure
 * decision" (packages/db/src/repositories/register.int.test.ts) pins the SQL to this function.
 * An active loser with an earlier `tmt_jabatan` is a transfer the losing agency has not caught up
 * with (`transferred_officer_still_listed`, to the loser); an active loser with the same
 * `tmt_jabatan` is a conflict (`conflicting_assignment`, to both sides). Inactive listings raise
 * nothing. Returns null for no candidates.
 */
export function resolveAssignment<C extends AssignmentCandidate>(
  candidates: readonly C[],
  registeredSourceId: string | null,
): AssignmentDecision<C> | null {
  if (candidates.length === 0) return null;
  const sorted = [...candidates].sort((a, b) => compareCandidates(a, b, registeredSourceId));
  const winner = sorted[0]!;
  const findings: AssignmentFinding[] = [];
  if (!winner.active) return { winner, findings };
  for (const c of sorted.slice(1)) {
    if (!c.active || c.sourceId === winner.sourceId) continue;
    if (c.tmtJabatan < winner.tmtJabatan) {
      findings.push({ code: 'transferred_officer_still_listed', sourceId: c.sourceId, regionCode: c.regionCode });
    } else {
      findings.push({ code: 'conflicting_assignment', sourceId: c.sourceId, regionCode: c.regionCode });
      if (!findings.some((f) => f.code === 'conflicting_assignment' && f.sourceId === winner.sourceId)) {
        findings.push({ code: 'conflicting_assignment', sourceId: winner.sourceId, regionCode: winner.regionCode });
      }
    }
  }
  return { winner, findings };
}

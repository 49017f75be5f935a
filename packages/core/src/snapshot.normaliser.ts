import { severityOf, type FindingCode, type RejectionCode } from './findings.ts';
import type { Formation, Officer, RawRecord, Workload } from './officer.ts';
import {
  FORMATION_FIELDS,
  normaliseFormation,
  normaliseOfficer,
  normaliseWorkload,
  OFFICER_FIELDS,
  WORKLOAD_FIELDS,
  type FormationResult,
  type OfficerResult,
  type WorkloadResult,
} from './record.normaliser.ts';
import type { RecordFinding, Rejection } from './record.types.ts';

export interface SnapshotStats {
  /** Records received (officers + formations + workloads). Always `accepted + rejected + duplicates`. */
  rows: number;
  /** Records kept: officers after R7 plus formations plus workloads. */
  accepted: number;
  rejected: number;
  /** Records dropped by R7 (identical copies, or superseded versions of a NIP) and repeated formation or workload keys. */
  duplicates: number;
  /** Distinct unknown field names seen (ignored, never an error). */
  unknownFields: number;
  unknownFieldNames: string[];
  officerRows: number;
  formationRows: number;
  workloadRows: number;
  warningsByCode: Partial<Record<FindingCode, number>>;
  rejectedByCode: Partial<Record<RejectionCode, number>>;
}

/** The normalised snapshot of one source: what goes on, what was refused and why, and what to flag. */
export interface SnapshotResult {
  accepted: Officer[];
  formations: Formation[];
  /** Workload rows (needs-planning-v1.md), one per region, year and activity. */
  workloads: Workload[];
  rejected: Rejection[];
  findings: RecordFinding[];
  stats: SnapshotStats;
}

export interface SnapshotContext {
  sourceRegion: string;
  asOf: string;
  /** The activity codes of the parameter set in force on `asOf`; workload rows naming another are rejected. */
  activityCodes?: ReadonlySet<string>;
}

interface Kept {
  officer: Officer;
  findings: RecordFinding[];
}

const OFFICER_FIELD_SET = new Set<string>(OFFICER_FIELDS);
const FORMATION_FIELD_SET = new Set<string>(FORMATION_FIELDS);
const WORKLOAD_FIELD_SET = new Set<string>(WORKLOAD_FIELDS);

/** R6: the province-facing finding for one rejection. */
export function rejectionFinding(r: Rejection): RecordFinding {
  const f: RecordFinding = {
    code: 'record_rejected',
    severity: severityOf('record_rejected'),
    row: r.row,
    details: { codes: r.codes, fields: r.fields },
  };
  if (r.nip) f.nip = r.nip;
  return f;
}

function sameOfficer(a: Officer, b: Officer): boolean {
  for (const key of Object.keys(a) as (keyof Officer)[]) {
    if (key !== 'position' && a[key] !== b[key]) return false;
  }
  return true;
}

/** R7 order: later `tmt_jabatan`, then later `updated_at` (a missing one is earliest), then later position. */
function supersedes(a: Officer, b: Officer): boolean {
  if (a.tmtJabatan !== b.tmtJabatan) return a.tmtJabatan > b.tmtJabatan;
  const au = a.updatedAt ?? '';
  const bu = b.updatedAt ?? '';
  if (au !== bu) return au > bu;
  return a.position > b.position;
}

/**
 * Normalises one source's snapshot record by record, so a streamed source can be fed as it is read,
 * then applies R7 (duplicates within the source) in {@link SnapshotNormaliser.finish}.
 *
 * @example
 * const s = new SnapshotNormaliser({ sourceRegion: '16.71', asOf: '2026-11-27' });
 * for await (const { row, record } of rows) s.addOfficer(record, row);
 * const result = s.finish();
 */
export class SnapshotNormaliser {
  readonly #ctx: { sourceRegion: string; asOf: string; position: number; activityCodes?: ReadonlySet<string> };
  readonly #byNip = new Map<string, Kept>();
  readonly #formations = new Map<string, Formation>();
  readonly #workloads = new Map<string, Workload>();
  readonly #rejected: Rejection[] = [];
  readonly #duplicateFindings: RecordFinding[] = [];
  readonly #unknown = new Set<string>();
  #officerRows = 0;
  #formationRows = 0;
  #workloadRows = 0;
  #duplicates = 0;
  #finished = false;

  constructor(ctx: SnapshotContext) {
    this.#ctx = { sourceRegion: ctx.sourceRegion, asOf: ctx.asOf, position: 0 };
    if (ctx.activityCodes) this.#ctx.activityCodes = ctx.activityCodes;
    // Validate the context now rather than on the first record.
    normaliseFormation({}, this.#ctx);
  }

  /** Adds one officer record found at `position` (file row or API position); returns its own result. */
  addOfficer(raw: RawRecord, position: number): OfficerResult {
    this.#assertOpen();
    this.#officerRows++;
    this.#countUnknown(raw, OFFICER_FIELD_SET);
    this.#ctx.position = position;
    const result = normaliseOfficer(raw, this.#ctx);
    if (!result.ok) {
      this.#rejected.push(result.rejection);
      return result;
    }
    const incoming: Kept = { officer: result.officer, findings: result.findings };
    const existing = this.#byNip.get(result.officer.nip);
    if (!existing) {
      this.#byNip.set(result.officer.nip, incoming);
      return result;
    }
    // R7: the same NIP twice in one snapshot.
    this.#duplicates++;
    const winner = supersedes(incoming.officer, existing.officer) ? incoming : existing;
    const loser = winner === incoming ? existing : incoming;
    if (!sameOfficer(incoming.officer, existing.officer)) {
      this.#duplicateFindings.push({
        code: 'duplicate_in_source',
        severity: severityOf('duplicate_in_source'),
        row: loser.officer.position,
        nip: loser.officer.nip,
        details: { keptRow: winner.officer.position, droppedRow: loser.officer.position },
      });
    }
    this.#byNip.set(result.officer.nip, winner);
    return result;
  }

  /** Adds one formation record. A repeated region/year/level keeps the later row. */
  addFormation(raw: RawRecord, position: number): FormationResult {
    this.#assertOpen();
    this.#formationRows++;
    this.#countUnknown(raw, FORMATION_FIELD_SET);
    this.#ctx.position = position;
    const result = normaliseFormation(raw, this.#ctx);
    if (!result.ok) {
      this.#rejected.push(result.rejection);
      return result;
    }
    const f = result.formation;
    const key = `${f.regionCode}|${f.year}|${f.level}`;
    if (this.#formations.has(key)) this.#duplicates++;
    this.#formations.set(key, f);
    return result;
  }

  /** Adds one workload record. A repeated region/year/activity keeps the later row. */
  addWorkload(raw: RawRecord, position: number): WorkloadResult {
    this.#assertOpen();
    this.#workloadRows++;
    this.#countUnknown(raw, WORKLOAD_FIELD_SET);
    this.#ctx.position = position;
    const result = normaliseWorkload(raw, this.#ctx);
    if (!result.ok) {
      this.#rejected.push(result.rejection);
      return result;
    }
    const w = result.workload;
    const key = `${w.regionCode}|${w.year}|${w.activity}`;
    if (this.#workloads.has(key)) this.#duplicates++;
    this.#workloads.set(key, w);
    return result;
  }

  /** Applies R7 and returns the snapshot; the normaliser cannot be fed afterwards. */
  finish(): SnapshotResult {
    this.#assertOpen();
    this.#finished = true;
    const kept = [...this.#byNip.values()].sort((a, b) => a.officer.position - b.officer.position);
    const findings: RecordFinding[] = [];
    for (const k of kept) findings.push(...k.findings);
    findings.push(...this.#duplicateFindings);
    for (const r of this.#rejected) findings.push(rejectionFinding(r));
    findings.sort((a, b) => (a.row ?? 0) - (b.row ?? 0));

    const warningsByCode: SnapshotStats['warningsByCode'] = {};
    for (const f of findings) if (f.severity === 'warning') warningsByCode[f.code] = (warningsByCode[f.code] ?? 0) + 1;
    const rejectedByCode: SnapshotStats['rejectedByCode'] = {};
    for (const r of this.#rejected) for (const c of r.codes) rejectedByCode[c] = (rejectedByCode[c] ?? 0) + 1;

    const formations = [...this.#formations.values()].sort((a, b) => a.position - b.position);
    const workloads = [...this.#workloads.values()].sort((a, b) => a.position - b.position);
    const accepted = kept.map((k) => k.officer);
    return {
      accepted,
      formations,
      workloads,
      rejected: this.#rejected,
      findings,
      stats: {
        rows: this.#officerRows + this.#formationRows + this.#workloadRows,
        accepted: accepted.length + formations.length + workloads.length,
        rejected: this.#rejected.length,
        duplicates: this.#duplicates,
        unknownFields: this.#unknown.size,
        unknownFieldNames: [...this.#unknown].sort(),
        officerRows: this.#officerRows,
        formationRows: this.#formationRows,
        workloadRows: this.#workloadRows,
        warningsByCode,
        rejectedByCode,
      },
    };
  }

  #countUnknown(raw: RawRecord, known: Set<string>): void {
    for (const key in raw) if (!known.has(key)) this.#unknown.add(key);
  }

  #assertOpen(): void {
    if (this.#finished) throw new Error('SnapshotNormaliser.finish() was already called');
  }
}

/** Functional alias of `new SnapshotNormaliser(ctx)`. */
export function createSnapshotNormaliser(ctx: SnapshotContext): SnapshotNormaliser {
  return new SnapshotNormaliser(ctx);
}

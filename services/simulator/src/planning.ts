import {
  areaFactor,
  complexityFactor,
  computeNeeds,
  DEFAULT_FORMATION_START_YEAR,
  isActiveStatus,
  parametersInForce,
  parseNeedParameters,
  type Complexity,
  type NeedParameters,
  type OfficerStatus,
  type Workload,
} from '@pksync/core';
import { LEVEL_CODES, levels, shippedNeedParameters, type LevelCode } from '@pksync/reference';
import { baseOfficer, levelOfSlot, type FormationFields } from './officers.ts';
import { Rng } from './prng.ts';
import type { PlanningCase, SimAgency, SimTransport } from './world.ts';

/** A WorkloadRecord as an agency sends it (needs-planning-v1.md § Workload data); null: left out. */
export interface WorkloadFields {
  kode_wilayah: string | null;
  tahun: number | string;
  kegiatan: string;
  volume: number | string;
  cakupan_kecamatan: number | null;
  kompleksitas: string | null;
}

/** What the simulator seeded for needs planning at one agency (see {@link PlanningCase}). */
export interface PlanningCaseReport extends PlanningCase {
  sourceId: string;
  regionCode: string;
  transport: SimTransport;
  /** The agency publishes formations at all (R12 formation_missing otherwise). */
  hasFormation: boolean;
  /**
   * R17 as seeded: the year and level whose formation record is left out (`without`) or whose
   * `formasi` is below its appointees' rank (`beyond`), with the NIPs of the clean, active
   * officers appointed then on day 0 (each gets that finding). Null when the case does not apply.
   */
  appointmentDetail: { year: number; level: LevelCode; formasi: number | null; nips: string[] } | null;
  /** `needDiffers`: the levels whose declared `kebutuhan`, every formation year, is 2 × computed + 3. */
  needDiffersLevels: LevelCode[];
  /** R16 as computed from the workload served (its good rows), per year and level; empty without workload. */
  computedNeeds: Record<number, Record<LevelCode, number>>;
  /** The declared `kebutuhan` served, per year and level (empty without formations). */
  declaredNeeds: Record<number, Partial<Record<LevelCode, number>>>;
}

/** The shipped parameter set in force on `date` (its activity codes and norms drive the workload). */
export function shippedParametersOn(date: string): NeedParameters {
  const sets: NeedParameters[] = [];
  for (const { file, document } of shippedNeedParameters()) {
    const parsed = parseNeedParameters(document);
    if (!parsed.ok) throw new Error(`shipped need parameters ${file} are invalid: ${parsed.errors.join('; ')}`);
    sets.push(parsed.parameters);
  }
  const inForce = parametersInForce(sets, date) ?? sets[0];
  if (!inForce) throw new Error('no shipped need parameters');
  return inForce;
}

// The level mix the workload aims at, as the officers' (officers.ts LEVEL_WEIGHTS).
const LEVEL_TARGET: Record<LevelCode, number> = {
  ahli_pertama: 0.45,
  ahli_muda: 0.35,
  ahli_madya: 0.17,
  ahli_utama: 0.03,
};

/**
 * Each activity's share of the workload minutes: an activity counts for the levels it names, each
 * level's target spread over the activities naming it, so the computed need splits over the
 * levels roughly as the officers do, whatever the parameter set's activities are.
 */
function activityWeights(p: NeedParameters): [string, number][] {
  const mass: Record<string, number> = {};
  for (const a of Object.values(p.activities)) {
    for (const [level, share] of Object.entries(a.shares)) mass[level] = (mass[level] ?? 0) + (share ?? 0);
  }
  const weights = Object.entries(p.activities).map(([code, a]): [string, number] => [
    code,
    Object.entries(a.shares).reduce(
      (w, [level, share]) => w + ((share ?? 0) * LEVEL_TARGET[level as LevelCode]) / mass[level]!,
      0,
    ),
  ]);
  const total = weights.reduce((s, [, w]) => s + w, 0);
  return weights.map(([code, w]) => [code, w / total]);
}

/** `penempatan_akad` as a spreadsheet user types it: `Penempatan Akad` (the core reads it back). */
function activityTitle(code: string): string {
  return code
    .split('_')
    .map((w) => `${w[0]!.toUpperCase()}${w.slice(1)}`)
    .join(' ');
}

/**
 * The needs-planning data of a simulated world (needs-planning-v1.md): each agency's workload per
 * year, the need computed from it (R16, with the shipped parameters), the formations it
 * declares, and the seeded R16–R18 cases. None of it changes with the days (like formations, a
 * workload file is re-served as the same bytes); everything is computed once per agency.
 */
export class Planning {
  readonly params: NeedParameters;
  /** The formation and workload years served: from R17's default start year (2024) to baseDate's. */
  readonly years: readonly number[];
  private readonly weights: [string, number][];
  private readonly memo = new Map<string, unknown>();

  constructor(
    private readonly seed: number,
    private readonly baseDate: string,
    private readonly defectRate: number,
  ) {
    this.params = shippedParametersOn(baseDate);
    this.weights = activityWeights(this.params);
    const baseYear = Number(baseDate.slice(0, 4));
    const from = Math.min(DEFAULT_FORMATION_START_YEAR, baseYear - 1);
    this.years = Array.from({ length: baseYear - from + 1 }, (_, i) => from + i);
  }

  private once<T>(key: string, make: () => T): T {
    if (!this.memo.has(key)) this.memo.set(key, make());
    return this.memo.get(key) as T;
  }

  /**
   * The workload an agency sends for `year` (empty when it sends none, or for another year):
   * one row per activity of the parameter set, with volumes that make a computed need of about
   * its officers (1.05–1.35 ×, plus one), and the region's districts and complexity on the first
   * row (on every row for agencies of header variant 0); then, for `oddWorkloadRows`, three rows
   * the core rejects.
   */
  workloadRows(agency: SimAgency, year: number): WorkloadFields[] {
    return this.once(`w|${agency.id}|${year}`, () => {
      if (!agency.planning.sendsWorkload || !this.years.includes(year)) return [];
      const good = this.goodWorkload(agency, year);
      const style = agency.style;
      const region =
        style.regionStyle === 'absent'
          ? null
          : style.regionStyle === 'digits'
            ? agency.region.code.replace('.', '')
            : agency.region.code;
      const rows: WorkloadFields[] = good.map((w, i) => ({
        kode_wilayah: region,
        tahun: w.year,
        kegiatan: style.headerVariant === 1 ? activityTitle(w.activity) : w.activity,
        volume: w.volume,
        cakupan_kecamatan: i === 0 || style.headerVariant === 0 ? w.districts : null,
        kompleksitas: i === 0 || style.headerVariant === 0 ? w.complexity : null,
      }));
      if (agency.planning.oddWorkloadRows) {
        const [first, second] = this.weights.map(([code]) => code);
        rows.push(
          // An activity the parameter set does not know (field_missing naming it).
          {
            kode_wilayah: region,
            tahun: year,
            kegiatan: 'senam_pagi',
            volume: 12,
            cakupan_kecamatan: null,
            kompleksitas: null,
          },
          // A two-digit year (date_invalid).
          {
            kode_wilayah: region,
            tahun: String(year % 100),
            kegiatan: first!,
            volume: 30,
            cakupan_kecamatan: null,
            kompleksitas: null,
          },
          // A volume that is not a whole number (field_missing).
          {
            kode_wilayah: region,
            tahun: year,
            kegiatan: second!,
            volume: 12.5,
            cakupan_kecamatan: null,
            kompleksitas: null,
          },
        );
      }
      return rows;
    });
  }

  /** The canonical workload rows of an agency and year, as the core accepts them. */
  private goodWorkload(agency: SimAgency, year: number): Workload[] {
    const rng = Rng.of(this.seed, 'workload', agency.id, year);
    const districts = rng.int(4, 40);
    const complexity = rng.weighted<Complexity>([
      ['rendah', 3],
      ['sedang', 4],
      ['tinggi', 2],
    ]);
    const factor = areaFactor(this.params, districts) * complexityFactor(this.params, complexity);
    const target = agency.officers * (1.05 + rng.next() * 0.3) + 1;
    const minutes = (target * this.params.effective_minutes_per_year) / factor;
    return this.weights.map(([activity, weight], i) => ({
      regionCode: agency.region.code,
      year,
      activity,
      volume: Math.round(((minutes * weight) / this.params.activities[activity]!.minutes) * (0.85 + rng.next() * 0.3)),
      districts,
      complexity,
      position: i + 1,
    }));
  }

  /** R16's computed need per level of an agency and year (null when it sends no workload that year). */
  computedNeed(agency: SimAgency, year: number): Record<LevelCode, number> | null {
    return this.once(`n|${agency.id}|${year}`, () => {
      if (!agency.planning.sendsWorkload || !this.years.includes(year)) return null;
      const out = Object.fromEntries(LEVEL_CODES.map((l) => [l, 0])) as Record<LevelCode, number>;
      for (const n of computeNeeds(this.params, year, this.goodWorkload(agency, year))) out[n.level] = n.need;
      return out;
    });
  }

  /** `needDiffers`: the two levels of largest computed need in baseDate's year. */
  needDiffersLevels(agency: SimAgency): LevelCode[] {
    if (!agency.planning.needDiffers) return [];
    const need = this.computedNeed(agency, this.years.at(-1)!);
    if (!need) return [];
    return [...LEVEL_CODES]
      .sort((a, b) => need[b] - need[a] || LEVEL_CODES.indexOf(a) - LEVEL_CODES.indexOf(b))
      .slice(0, 2);
  }

  /** Officers per level (each day-0 slot's own level): at least the active officers a level holds on day 0. */
  private levelCounts(agency: SimAgency): Record<LevelCode, number> {
    return this.once(`c|${agency.id}`, () => {
      const counts = Object.fromEntries(LEVEL_CODES.map((l) => [l, 0])) as Record<LevelCode, number>;
      for (let slot = 0; slot < agency.officers; slot++) counts[levelOfSlot(this.seed, agency, slot)]++;
      return counts;
    });
  }

  /**
   * R17 as seeded: the (year, level) from the start year on with the most clean, active day-0
   * appointees (a year before baseDate's first, so that the current formation stays whole), its
   * appointees' NIPs, and for `beyond` the `formasi` given: half of the officers appointed before
   * that year (at most that many precede them in R17's ranking, and they all do).
   */
  appointment(agency: SimAgency): PlanningCaseReport['appointmentDetail'] {
    return this.once(`a|${agency.id}`, () => {
      const kind = agency.planning.appointment;
      if (kind === null || !agency.hasFormation) return null;
      const officers = [];
      for (let slot = 0; slot < agency.officers; slot++) {
        const o = baseOfficer(this.seed, agency, slot, this.baseDate, this.defectRate);
        if (o.defect === null && isActiveStatus(o.status as OfficerStatus)) officers.push(o);
      }
      const baseYear = this.years.at(-1)!;
      let best: { year: number; level: LevelCode; nips: string[] } | null = null;
      const past = (y: number) => (y < baseYear ? 1 : 0);
      for (const year of this.years) {
        for (const level of LEVEL_CODES) {
          const nips = officers
            .filter((o) => o.level === level && Number(o.tmtJabatan.slice(0, 4)) === year)
            .map((o) => o.nip)
            .sort();
          if (nips.length === 0) continue;
          if (
            !best ||
            past(year) > past(best.year) ||
            (past(year) === past(best.year) && nips.length > best.nips.length)
          )
            best = { year, level, nips };
        }
      }
      if (!best) return null;
      const before = officers.filter((o) => o.level === best.level && o.tmtJabatan < `${best.year}-01-01`).length;
      return { ...best, formasi: kind === 'without' ? null : Math.floor(before / 2) };
    });
  }

  /**
   * The formations an agency declares, one row per year and level: `kebutuhan` its computed need
   * within one (2 × need + 3 at its `needDiffers` levels; without workload, about its officers),
   * `formasi` about the need but never below its officers plus two (no R17 finding unless
   * seeded), except the seeded R17 (year, level): left out, or below its appointees' rank.
   */
  formations(agency: SimAgency): FormationFields[] {
    return this.once(`f|${agency.id}`, () => {
      if (!agency.hasFormation) return [];
      const counts = this.levelCounts(agency);
      const appointment = this.appointment(agency);
      const differs = new Set(this.needDiffersLevels(agency));
      const out: FormationFields[] = [];
      for (const year of this.years) {
        const computed = this.computedNeed(agency, year);
        for (const level of levels) {
          const code = level.code;
          if (appointment?.year === year && appointment.level === code && appointment.formasi === null) continue;
          const rng = Rng.of(this.seed, 'formation', agency.id, year, code);
          let need: number;
          if (computed)
            need = differs.has(code) ? 2 * computed[code] + 3 : Math.max(0, computed[code] + rng.int(-1, 1));
          else {
            const expected = agency.officers * LEVEL_TARGET[code];
            need = Math.max(0, Math.round(expected * (1 + rng.next() * 0.6)) + rng.int(0, 2));
          }
          let approved = Math.max(need - rng.int(0, 1), counts[code] + 2);
          if (appointment?.year === year && appointment.level === code && appointment.formasi !== null) {
            approved = appointment.formasi;
          }
          out.push({
            kode_wilayah: agency.region.code,
            tahun: year,
            jenjang: code,
            kebutuhan: need,
            formasi: approved,
          });
        }
      }
      return out;
    });
  }

  /** What {@link PlanningCaseReport} says of one agency. */
  report(agency: SimAgency): PlanningCaseReport {
    const computedNeeds: PlanningCaseReport['computedNeeds'] = {};
    for (const y of this.years) {
      const n = this.computedNeed(agency, y);
      if (n) computedNeeds[y] = { ...n };
    }
    const declaredNeeds: PlanningCaseReport['declaredNeeds'] = {};
    for (const f of this.formations(agency)) (declaredNeeds[f.tahun] ??= {})[f.jenjang as LevelCode] = f.kebutuhan;
    const detail = this.appointment(agency);
    return {
      ...agency.planning,
      sourceId: agency.id,
      regionCode: agency.region.code,
      transport: agency.transport,
      hasFormation: agency.hasFormation,
      appointmentDetail: detail ? { ...detail, nips: [...detail.nips] } : null,
      needDiffersLevels: this.needDiffersLevels(agency),
      computedNeeds,
      declaredNeeds,
    };
  }
}

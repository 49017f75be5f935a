import { regenciesOf, regionByCode, regions, type Region } from '@pksync/reference';
import { Rng } from './prng.ts';

export type SimTransport = 'api' | 'csv' | 'xlsx' | 'upload';

/**
 * Per-source fault modes: `flaky` (≈30 % of requests fail with 5xx or a reset, also mid-body),
 * `rate_limited` (every other request is 429 with `Retry-After`), `slow` (each response waits
 * `slowMs`), `down` (every connection is reset), `malformed` (API pages are broken JSON, files are
 * an HTML error page), `token_required` (401 without the source's bearer token).
 */
export const FAULT_MODES = ['flaky', 'rate_limited', 'slow', 'down', 'malformed', 'token_required'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

/** How an agency writes its files and values (each agency keeps one style, like real offices). */
export interface AgencyStyle {
  separator: ',' | ';';
  bom: boolean;
  /** Windows-1252 instead of UTF-8 (CSV only). */
  latin1: boolean;
  headerVariant: number;
  dateStyle: 'iso' | 'dmy-dash' | 'dmy-slash' | 'indonesian';
  gradeStyle: 'canonical' | 'compact' | 'dash' | 'numeric';
  levelStyle: 'code' | 'title' | 'full' | 'bare';
  genderStyle: 'LP' | 'words' | 'MF';
  regionStyle: 'dotted' | 'digits' | 'absent';
  nipStyle: 'plain' | 'spaced';
  /** XLSX: dates as real Excel dates. */
  excelDates: boolean;
}

/**
 * The needs-planning cases seeded at an agency (needs-planning-v1.md, R16–R18). Each staffed
 * agency has at most one, chosen by a seeded order with a quota per case (at least one of each
 * when there are agencies enough), so a province as small as South Sumatra meets them all; the
 * others send workload whose computed need their declared `kebutuhan` matches (within one), and
 * formations with room for every officer of every year.
 */
export interface PlanningCase {
  /** False for ≈10 % of staffed agencies (and every agency without officers): no workload (R16 workload_missing). */
  sendsWorkload: boolean;
  /** Three odd workload rows besides the good ones: an unknown activity, a bad `tahun`, a volume not a whole number (rejected). */
  oddWorkloadRows: boolean;
  /** The declared `kebutuhan` of its two levels of largest computed need is far above it (R16 need_differs_from_declared). */
  needDiffers: boolean;
  /** ≈80 % of its officers reach their level's retirement age within 3 years of the base date (R18 retirement_wave). */
  retirementWave: boolean;
  /**
   * R17: a (year, level) whose formation record is left out although officers were appointed
   * then (`without`), or whose `formasi` is below their rank (`beyond`); the year and level are
   * chosen from the officers (Simulator.planningCases()).
   */
  appointment: 'without' | 'beyond' | null;
}

const NO_PLANNING_CASE: PlanningCase = Object.freeze({
  sendsWorkload: true,
  oddWorkloadRows: false,
  needDiffers: false,
  retirementWave: false,
  appointment: null,
});

export interface SimAgency {
  id: string;
  agency: string;
  region: Region;
  transport: SimTransport;
  /** Officers at day 0 (before any transfer or departure). */
  officers: number;
  faults: ReadonlySet<FaultMode>;
  token: string | null;
  style: AgencyStyle;
  /** False for the agencies that publish no formation for the year (R12 formation_missing). */
  hasFormation: boolean;
  /** Needs planning: its workload and the R16–R18 case seeded there. */
  planning: PlanningCase;
}

export interface WorldOptions {
  seed: number;
  regions: string;
  scale: number;
  defectRate: number;
  /** Exact day-0 officer counts per source id (overrides the generated ones; `scale` not applied). */
  officers?: Record<string, number>;
  transports?: Record<string, SimTransport>;
  /** Faults per source id (replaces the seeded ones for that source); `false` disables seeded faults. */
  faults?: Record<string, FaultMode[]> | false;
  /** `false`: no agency sends workload (benchmarks compare a night with and without it). Default true. */
  workload?: boolean;
}

/** The regions a `--regions` value selects: `all`, a province (`16`, with its regencies), a region, or a comma list. */
export function selectRegions(spec: string): Region[] {
  if (spec.trim() === 'all') return [...regions];
  const out = new Map<string, Region>();
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const code = /^\d{4}$/.test(part) ? `${part.slice(0, 2)}.${part.slice(2)}` : part;
    const region = regionByCode(code);
    if (!region) throw new Error(`unknown region "${part}" in regions (expected all, a province like 16, or 16.71)`);
    out.set(region.code, region);
    if (region.level === 'province') for (const r of regenciesOf(region.code)) out.set(r.code, r);
  }
  return [...out.values()].sort((a, b) => a.code.localeCompare(b.code));
}

export function sourceIdOf(region: Region): string {
  return region.level === 'province' ? `${region.code}-disnakertrans` : `${region.code}-disnaker`;
}

export function agencyNameOf(region: Region): string {
  return region.level === 'province'
    ? `Dinas Tenaga Kerja dan Transmigrasi Provinsi ${region.name}`
    : `Dinas Tenaga Kerja ${region.name}`;
}

/**
 * Which regencies/cities have officers. South Sumatra (16) is fixed by the 2025 figure (R13):
 * exactly 9 kabupaten and 3 kota, Palembang (16.71) always among them; elsewhere ≈85 %.
 */
function coveredRegencies(seed: number): Set<string> {
  const covered = new Set<string>();
  const provinces = regions.filter((r) => r.level === 'province');
  for (const p of provinces) {
    const children = regenciesOf(p.code);
    if (p.code === '16') {
      const rng = Rng.of(seed, 'coverage', p.code);
      const kab = rng.shuffle(children.filter((r) => r.kind === 'kabupaten')).slice(0, 9);
      const kota = children.filter((r) => r.kind === 'kota');
      const palembang = kota.filter((r) => r.code === '16.71');
      const others = rng.shuffle(kota.filter((r) => r.code !== '16.71')).slice(0, 3 - palembang.length);
      for (const r of [...kab, ...palembang, ...others]) covered.add(r.code);
      continue;
    }
    for (const r of children) if (Rng.of(seed, 'coverage', r.code).chance(0.85)) covered.add(r.code);
  }
  return covered;
}

/**
 * The planning case of each agency: staffed agencies in a seeded order, the first ones of that
 * order get the cases in turn, each its quota (a share of the staffed agencies, at least one).
 * Cases that compare with formations go only to agencies that publish them.
 */
function assignPlanning(seed: number, agencies: readonly SimAgency[]): Map<string, PlanningCase> {
  const out = new Map<string, PlanningCase>();
  const staffed = agencies.filter((a) => a.officers > 0);
  const order = staffed
    .map((a) => ({ a, key: Rng.of(seed, 'planning', a.id).next() }))
    .sort((x, y) => x.key - y.key || (x.a.id < y.a.id ? -1 : 1))
    .map((x) => x.a);
  const quota = (share: number) => Math.max(1, Math.round(staffed.length * share));
  const cases: [number, (a: SimAgency) => boolean, Partial<PlanningCase>][] = [
    [quota(0.1), () => true, { sendsWorkload: false }],
    [quota(0.06), (a) => a.hasFormation, { needDiffers: true }],
    [quota(0.05), () => true, { oddWorkloadRows: true }],
    // A wave needs officers enough to be one (R18: at least 2 active).
    [quota(0.04), (a) => a.officers >= 4, { retirementWave: true }],
    [quota(0.03), (a) => a.hasFormation, { appointment: 'without' }],
    [quota(0.03), (a) => a.hasFormation, { appointment: 'beyond' }],
  ];
  let next = 0;
  for (const [n, fits, traits] of cases) {
    for (let taken = 0; taken < n && next < order.length;) {
      const a = order[next++]!;
      if (!fits(a)) continue;
      out.set(a.id, { ...NO_PLANNING_CASE, ...traits });
      taken++;
    }
  }
  return out;
}

/** Builds the simulated agencies, one per selected region, deterministically for the seed. */
export function buildWorld(o: WorldOptions): SimAgency[] {
  const agencies = buildAgencies(o);
  const planning = assignPlanning(o.seed, agencies);
  return agencies.map((a) => {
    // An agency without officers sends no workload (nothing to be missing, R16).
    const p = planning.get(a.id) ?? (a.officers > 0 ? NO_PLANNING_CASE : { ...NO_PLANNING_CASE, sendsWorkload: false });
    return { ...a, planning: o.workload === false ? { ...p, sendsWorkload: false, oddWorkloadRows: false } : p };
  });
}

function buildAgencies(o: WorldOptions): SimAgency[] {
  const covered = coveredRegencies(o.seed);
  return selectRegions(o.regions).map((region) => {
    const id = sourceIdOf(region);
    const rng = Rng.of(o.seed, 'agency', id);
    let officers: number;
    if (region.level === 'province') officers = rng.int(20, 50);
    else officers = covered.has(region.code) ? rng.int(12, 48) : 0;
    officers = Math.round(officers * o.scale);
    if (o.officers?.[id] !== undefined) officers = o.officers[id]!;
    const transport: SimTransport =
      o.transports?.[id] ??
      rng.weighted<SimTransport>([
        ['csv', 50],
        ['xlsx', 30],
        ['api', 15],
        ['upload', 5],
      ]);
    const faults = new Set<FaultMode>();
    if (o.faults && o.faults[id]) {
      for (const f of o.faults[id]!) faults.add(f);
    } else if (o.faults !== false && transport !== 'upload') {
      const r = rng.next();
      // ≈5 % flaky, plus a few of each other mode so a national run meets them all.
      if (r < 0.05) faults.add('flaky');
      else if (r < 0.06) faults.add('rate_limited');
      else if (r < 0.07) faults.add('slow');
      else if (r < 0.075) faults.add('down');
      else if (r < 0.08) faults.add('malformed');
      if (transport === 'api') faults.add('token_required');
    }
    const needsToken = faults.has('token_required') || transport === 'api';
    const token = needsToken
      ? `sim_${Rng.of(o.seed, 'token', id).next().toString(36).slice(2)}${Rng.of(o.seed, 'token2', id).next().toString(36).slice(2)}`
      : null;
    const style: AgencyStyle = {
      separator: rng.chance(0.3) ? ';' : ',',
      bom: rng.chance(0.2),
      latin1: rng.chance(0.1),
      headerVariant: rng.int(0, 2),
      dateStyle: rng.weighted([
        ['iso', 4],
        ['dmy-dash', 2],
        ['dmy-slash', 2],
        ['indonesian', 1],
      ] as const),
      gradeStyle: rng.weighted([
        ['canonical', 5],
        ['compact', 2],
        ['dash', 1],
        ['numeric', 1],
      ] as const),
      levelStyle: rng.weighted([
        ['code', 3],
        ['title', 3],
        ['full', 2],
        ['bare', 1],
      ] as const),
      genderStyle: rng.weighted([
        ['LP', 5],
        ['words', 2],
        ['MF', 1],
      ] as const),
      regionStyle: rng.weighted([
        ['dotted', 5],
        ['digits', 2],
        ['absent', 1],
      ] as const),
      nipStyle: rng.chance(0.15) ? 'spaced' : 'plain',
      excelDates: rng.chance(0.5),
    };
    return {
      id,
      agency: agencyNameOf(region),
      region,
      transport,
      officers,
      faults,
      token,
      style,
      hasFormation: !(officers > 0 && rng.chance(0.05)),
      planning: NO_PLANNING_CASE,
    };
  });
}

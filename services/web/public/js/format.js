import { locale, t } from './i18n.js';

export const LEVELS = ['ahli_pertama', 'ahli_muda', 'ahli_madya', 'ahli_utama'];

/** A whole number in the current locale, or "—" when there is none. */
export function num(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return t('common.none');
  return new Intl.NumberFormat(locale()).format(n);
}

/** A time in Asia/Jakarta (WIB), the ministry's clock, or "—". */
export function dateTime(iso) {
  if (!iso) return t('common.none');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const text = new Intl.DateTimeFormat(locale(), {
    timeZone: 'Asia/Jakarta',
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  }).format(d);
  return `${text} WIB`;
}

/** A calendar date (`2026-11-30`) as "30 November 2026", or "—". Read as a date, not a time: no time zone shift. */
export function date(iso) {
  if (!iso) return t('common.none');
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso));
  if (!m) return String(iso);
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return new Intl.DateTimeFormat(locale(), { timeZone: 'UTC', year: 'numeric', month: 'long', day: 'numeric' }).format(
    d,
  );
}

function numberOr(value, fallback) {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** Reads a per-level map whose values are numbers or objects with one of `fields`. */
function perLevel(map, fields) {
  const out = {};
  for (const level of LEVELS) {
    const v = map ? map[level] : undefined;
    if (typeof v === 'number') out[level] = v;
    else if (v && typeof v === 'object') {
      const f = fields.find((name) => typeof v[name] === 'number');
      out[level] = f ? v[f] : null;
    } else out[level] = null;
  }
  return out;
}

function sumOrNull(values) {
  const nums = values.filter((v) => typeof v === 'number');
  return nums.length ? nums.reduce((a, b) => a + b, 0) : null;
}

/**
 * The figures the console shows for one region of `GET /regions` (a province or a
 * regency/city): active officers by level, formation (approved) and need, shortfall (R12:
 * Σ max(need − filled, 0)), coverage (R13), stale sources, open findings, last success.
 */
export function figures(region) {
  const officers = perLevel(region.officers ?? region.active_officers, ['active', 'count', 'filled']);
  const formationMap = region.formation ?? region.formations;
  const approved = perLevel(formationMap, ['approved', 'formasi']);
  const need = perLevel(formationMap, ['need', 'kebutuhan']);
  let shortfall = numberOr(region.shortfall, null);
  if (shortfall === null && region.shortfall && typeof region.shortfall === 'object') {
    shortfall = sumOrNull(LEVELS.map((l) => region.shortfall[l]));
  }
  if (shortfall === null && LEVELS.some((l) => need[l] !== null)) {
    shortfall = LEVELS.reduce((s, l) => s + Math.max((need[l] ?? 0) - (officers[l] ?? 0), 0), 0);
  }
  const cov = region.coverage ?? {};
  const isProvince = region.level === 'province';
  const officersTotal = sumOrNull(LEVELS.map((l) => officers[l]));
  const covered = numberOr(cov.covered, isProvince ? null : officersTotal === null ? null : officersTotal > 0 ? 1 : 0);
  const total = numberOr(cov.total, isProvince ? null : 1);
  return {
    officers,
    officersTotal,
    approved: sumOrNull(LEVELS.map((l) => approved[l])),
    need: sumOrNull(LEVELS.map((l) => need[l])),
    shortfall,
    covered,
    total,
    staleSources: numberOr(region.stale_sources, null),
    openFindings: numberOr(region.open_findings, null),
    lastSuccessAt: region.last_success_at ?? null,
    stale: region.stale === true,
  };
}

/** "12 dari 17" / "12 of 17", or "—". */
export function coverageText(covered, total) {
  if (typeof covered !== 'number' || typeof total !== 'number') return t('common.none');
  return t('coverage.of', { covered: num(covered), total: num(total) });
}

/** A run's scope in words ("Wilayah 16.71"). */
export function scopeText(run) {
  const scope = run.scope ?? {};
  const kind = typeof scope === 'string' ? scope : (scope.kind ?? run.scope_kind);
  const value =
    typeof scope === 'object'
      ? (scope.value ?? scope.province ?? scope.region ?? scope.source ?? run.scope_value)
      : run.scope_value;
  if (kind === 'national') return t('run.scope.national');
  if (kind === 'province' || kind === 'region' || kind === 'source') return t(`run.scope.${kind}`, { value });
  if (typeof scope === 'object' && scope.province) return t('run.scope.province', { value: scope.province });
  if (typeof scope === 'object' && scope.region) return t('run.scope.region', { value: scope.region });
  if (typeof scope === 'object' && scope.source) return t('run.scope.source', { value: scope.source });
  return String(kind ?? t('common.none'));
}

/** Counts of a run or fetch as "12 diambil · 10 diterima · 2 ditolak …" (zero counts kept). */
export function countsText(counts) {
  if (!counts || typeof counts !== 'object') return t('common.none');
  const parts = [];
  for (const k of ['fetched', 'accepted', 'rejected', 'added', 'removed', 'changed']) {
    if (typeof counts[k] === 'number') parts.push(`${num(counts[k])} ${t(`counts.${k}`)}`);
  }
  return parts.length ? parts.join(' · ') : t('common.none');
}

/** The finding codes (packages/core/src/findings.ts), for the rule filter. */
export const FINDING_CODES = [
  'record_rejected',
  'gender_mismatch',
  'birthdate_mismatch',
  'grade_level_mismatch',
  'duplicate_in_source',
  'mass_removal_held',
  'source_failed',
  'source_stale',
  'transferred_officer_still_listed',
  'conflicting_assignment',
  'past_retirement_age',
  'formation_missing',
  'over_formation',
  'need_differs_from_declared',
  'workload_missing',
  'appointed_without_formation',
  'appointed_beyond_formation',
  'retirement_wave',
  'delivery_failed',
];

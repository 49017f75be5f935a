import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LEVEL_CODES } from '@pksync/reference';
import { COMPLEXITIES, type Workload } from '../officer.ts';
import { computeNeeds } from './need.ts';
import { parseNeedParameters, type NeedParameters } from './parameters.ts';

// R16 against an independent computation in exact fractions (BigInt numerator/denominator): every
// input number is read as the decimal it is written as (String(x)), as the parameter documents and
// workload files state them.

/** A non-negative fraction p/q, q > 0 (not necessarily reduced). */
type Q = { p: bigint; q: bigint };

/** The decimal a JS number prints as, exactly: "1.25" → 125/100, "1e-7" → 1/10^7. */
function fromNumber(x: number): Q {
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(x));
  if (!m) throw new Error(`unexpected number ${x}`);
  const frac = m[2] ?? '';
  const exp = Number(m[3] ?? 0) - frac.length;
  const digits = BigInt(m[1]! + frac);
  return exp >= 0 ? { p: digits * 10n ** BigInt(exp), q: 1n } : { p: digits, q: 10n ** BigInt(-exp) };
}
const add = (a: Q, b: Q): Q => ({ p: a.p * b.q + b.p * a.q, q: a.q * b.q });
const mul = (a: Q, b: Q): Q => ({ p: a.p * b.p, q: a.q * b.q });
const div = (a: Q, b: Q): Q => ({ p: a.p * b.q, q: a.q * b.p });
const floor = (a: Q) => a.p / a.q;

function round(a: Q, mode: NeedParameters['rounding']): number {
  if (mode === 'down') return Number(floor(a));
  if (mode === 'up') return Number((a.p + a.q - 1n) / a.q);
  return Number((2n * a.p + a.q) / (2n * a.q)); // half_up: floor(x + 1/2)
}

/** x to 6 decimals, half up. */
function fixed6(a: Q): string {
  const n = round(mul(a, { p: 10n ** 6n, q: 1n }), 'half_up');
  const s = String(n).padStart(7, '0');
  return `${s.slice(0, -6)}.${s.slice(-6)}`;
}

/** The spec's R16, written out again from needs-planning-v1.md. */
function oracle(params: NeedParameters, year: number, workloads: readonly Workload[]) {
  const regions = [...new Set(workloads.filter((w) => w.year === year).map((w) => w.regionCode))].sort();
  return regions.flatMap((regionCode) => {
    const rows = workloads.filter((w) => w.year === year && w.regionCode === regionCode);
    // The later row (by position) that states an indicator gives it.
    const last = <K extends 'districts' | 'complexity'>(k: K) =>
      rows
        .filter((w) => w[k] !== null)
        .sort((a, b) => a.position - b.position)
        .at(-1)?.[k] ?? null;
    const districts = last('districts');
    const complexity = last('complexity');
    const entries = districts === null ? [] : params.area_factors.filter((f) => f.min_kecamatan <= districts);
    const area = entries.length ? entries.reduce((a, b) => (b.min_kecamatan > a.min_kecamatan ? b : a)).factor : 1;
    const cx = complexity === null ? 1 : params.complexity_factors[complexity];
    return LEVEL_CODES.map((level) => {
      let minutes: Q = { p: 0n, q: 1n };
      for (const w of rows) {
        const a = params.activities[w.activity];
        const share = a?.shares[level];
        if (!a || share === undefined) continue;
        minutes = add(minutes, mul(mul(fromNumber(w.volume), fromNumber(a.minutes)), fromNumber(share)));
      }
      const x = div(mul(mul(minutes, fromNumber(area)), fromNumber(cx)), fromNumber(params.effective_minutes_per_year));
      return {
        regionCode,
        level,
        need: round(x, params.rounding),
        exact: fixed6(x),
        areaFactor: area,
        complexityFactor: cx,
      };
    });
  });
}

const decimal = (min: number, max: number, scale: number) => fc.integer({ min, max }).map((n) => n / scale);

/** Shares over 1–4 levels summing to 1 (in thousandths; or ten-thousandths, off by up to 0.0005 as the ±0.001 allows). */
const shares = fc
  .tuple(
    fc.subarray([...LEVEL_CODES], { minLength: 1 }),
    fc.constantFrom(1000, 10_000),
    fc.integer({ min: -5, max: 5 }),
    fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 4, maxLength: 4 }),
  )
  .map(([levels, scale, off, weights]) => {
    const w = levels.map((_, i) => weights[i]!);
    const sum = w.reduce((a, b) => a + b, 0) || 1;
    const split = (total: number) => {
      const parts = w.map((x) => Math.floor((x * total) / sum));
      parts[0]! += total - parts.reduce((a, b) => a + b, 0);
      return parts;
    };
    let parts = split(scale + (scale === 10_000 ? off : 0));
    if (parts.some((x) => x > scale)) parts = split(scale); // no share above 1
    return Object.fromEntries(levels.map((l, i) => [l, parts[i]! / scale]));
  });

const parameterSet = fc
  .record({
    rounding: fc.constantFrom('half_up', 'up', 'down'),
    effective_minutes_per_year: fc.oneof(fc.integer({ min: 1, max: 100_000 }), decimal(1, 1_000_000, 10)),
    activities: fc.uniqueArray(
      fc.record({
        code: fc.constantFrom('daftar', 'akad', 'akl', 'penyuluhan', 'job_fair'),
        minutes: fc.oneof(fc.integer({ min: 1, max: 600 }), decimal(1, 6000, 10)),
        shares,
      }),
      { minLength: 1, maxLength: 5, selector: (a) => a.code },
    ),
    area_factors: fc.uniqueArray(
      fc.record({ min_kecamatan: fc.integer({ min: 1, max: 40 }), factor: decimal(50, 200, 100) }),
      { minLength: 1, maxLength: 4, selector: (a) => a.min_kecamatan },
    ),
    complexity_factors: fc.record({
      rendah: decimal(50, 200, 100),
      sedang: decimal(50, 200, 100),
      tinggi: fc.oneof(decimal(50, 200, 100), decimal(500, 2000, 1000)),
    }),
  })
  .map((p) => {
    const parsed = parseNeedParameters({
      version: 'uji-1',
      status: 'unconfirmed',
      valid_from: '2023-01-01',
      source: 'uji sifat',
      ...p,
      activities: Object.fromEntries(
        p.activities.map((a) => [a.code, { name: a.code, minutes: a.minutes, shares: a.shares }]),
      ),
    });
    if (!parsed.ok) throw new Error(`generated parameter set refused: ${parsed.errors.join('; ')}`);
    return parsed.parameters;
  });

const workloads = fc
  .array(
    fc.record({
      regionCode: fc.constantFrom('16.71', '16.01', '17'),
      year: fc.constantFrom(2026, 2026, 2026, 2025),
      activity: fc.constantFrom('daftar', 'akad', 'akl', 'penyuluhan', 'job_fair', 'tak_dikenal'),
      volume: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 200_000 })),
      districts: fc.option(fc.integer({ min: 1, max: 45 })),
      complexity: fc.option(fc.constantFrom(...COMPLEXITIES)),
    }),
    { maxLength: 25 },
  )
  .map((rows): Workload[] => rows.map((r, i) => ({ ...r, position: i + 2 })));

const compared = (params: NeedParameters, rows: Workload[]) => ({
  got: computeNeeds(params, 2026, rows).map(({ regionCode, level, need, exact, areaFactor, complexityFactor }) => ({
    regionCode,
    level,
    need,
    exact,
    areaFactor,
    complexityFactor,
  })),
  want: oracle(params, 2026, rows),
});

describe('computeNeeds (R16) against exact fractions', () => {
  it('gives the need, its exact value, and the factors of every region and level, over random parameter sets', () => {
    fc.assert(
      fc.property(parameterSet, workloads, (params, rows) => {
        const { got, want } = compared(params, rows);
        expect(got).toEqual(want);
        for (const c of computeNeeds(params, 2026, rows)) expect(c.parameterVersion).toBe('uji-1');
      }),
      { numRuns: 400 },
    );
  });

  it('rounds a need that lands exactly on .5 by the set’s mode (half_up up, up up, down down)', () => {
    // E = 2m minutes a year, an activity of m minutes done 2k+1 times, factors whose product is 1
    // (1.25 × 0.8): the need is exactly k + 0.5.
    const onHalf = fc.record({
      m: fc.integer({ min: 1, max: 5000 }),
      k: fc.integer({ min: 0, max: 30 }),
      rounding: fc.constantFrom('half_up', 'up', 'down'),
      share: fc.constantFrom(1, 0.5),
    });
    fc.assert(
      fc.property(onHalf, ({ m, k, rounding, share }) => {
        const parsed = parseNeedParameters({
          version: 'uji-setengah',
          status: 'unconfirmed',
          valid_from: '2023-01-01',
          source: 'uji',
          effective_minutes_per_year: 2 * m * share,
          rounding,
          activities: {
            daftar: {
              name: 'Daftar',
              minutes: m,
              shares: share === 1 ? { ahli_muda: 1 } : { ahli_muda: 0.5, ahli_madya: 0.5 },
            },
          },
          area_factors: [{ min_kecamatan: 10, factor: 1.25 }],
          complexity_factors: { rendah: 1, sedang: 0.8, tinggi: 1.25 },
        });
        if (!parsed.ok) throw new Error(parsed.errors.join('; '));
        const rows: Workload[] = [
          {
            regionCode: '16.71',
            year: 2026,
            activity: 'daftar',
            volume: 2 * k + 1,
            districts: 12,
            complexity: 'sedang',
            position: 2,
          },
        ];
        const muda = computeNeeds(parsed.parameters, 2026, rows).find((c) => c.level === 'ahli_muda')!;
        expect(muda.exact).toBe(`${k}.500000`);
        expect(muda.need).toBe(rounding === 'down' ? k : k + 1);
        const { got, want } = compared(parsed.parameters, rows);
        expect(got).toEqual(want);
      }),
      { numRuns: 200 },
    );
  });
});

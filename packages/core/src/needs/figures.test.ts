import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formationFigures, sumFormationFigures } from '../reconcile/formation.ts';
import { emptyNeedsLevel, needsLevel, sumNeedsLevels, type NeedsInput } from './figures.ts';

const input = (o: Partial<NeedsInput>): NeedsInput => ({
  formasi: null,
  kebutuhanDeclared: null,
  kebutuhanComputed: null,
  terisi: 0,
  retiring: { 1: 0, 3: 0, 5: 0 },
  ...o,
});

describe('needsLevel: R17 available formation and R18 projected shortfall of one region and level', () => {
  it('takes the computed need before the declared one', () => {
    expect(
      needsLevel(
        input({ formasi: 4, kebutuhanDeclared: 6, kebutuhanComputed: 8, terisi: 3, retiring: { 1: 0, 3: 1, 5: 2 } }),
      ),
    ).toEqual({
      formasi: 4,
      kebutuhanDeclared: 6,
      kebutuhanComputed: 8,
      terisi: 3,
      availableFormation: 1,
      retiring: { 1: 0, 3: 1, 5: 2 },
      // 8 − (3 − r)
      projectedShortfall: { 1: 5, 3: 6, 5: 7 },
    });
  });

  it('falls back on the declared need, then on 0', () => {
    const declared = needsLevel(input({ kebutuhanDeclared: 2, terisi: 2, retiring: { 1: 0, 3: 1, 5: 2 } }));
    expect(declared.projectedShortfall).toEqual({ 1: 0, 3: 1, 5: 2 });
    const neither = needsLevel(input({ terisi: 2, retiring: { 1: 1, 3: 2, 5: 2 } }));
    expect(neither.projectedShortfall).toEqual({ 1: 0, 3: 0, 5: 0 });
  });

  it('never goes below 0, and has no available formation without a formation row', () => {
    const over = needsLevel(input({ formasi: 2, kebutuhanComputed: 1, terisi: 5 }));
    expect(over.availableFormation).toBe(0);
    expect(over.projectedShortfall).toEqual({ 1: 0, 3: 0, 5: 0 });
    expect(needsLevel(input({ terisi: 5 })).availableFormation).toBeNull();
    // A computed need of 0 is a need, not an absent one: the declared 9 is not used.
    expect(needsLevel(input({ kebutuhanDeclared: 9, kebutuhanComputed: 0 })).projectedShortfall[5]).toBe(0);
  });

  it('does not share its retiring counts with the caller', () => {
    const retiring = { 1: 1, 3: 1, 5: 1 };
    const l = needsLevel(input({ terisi: 1, retiring }));
    retiring[1] = 9;
    expect(l.retiring[1]).toBe(1);
  });
});

describe('sumNeedsLevels: adds each part’s own figures', () => {
  it('never lets one region’s surplus fill another’s gap', () => {
    const full = needsLevel(input({ formasi: 5, kebutuhanDeclared: 1, terisi: 5, retiring: { 1: 0, 3: 0, 5: 0 } }));
    const gap = needsLevel(input({ formasi: 3, kebutuhanComputed: 4, terisi: 1, retiring: { 1: 1, 3: 1, 5: 1 } }));
    expect(sumNeedsLevels([full, gap])).toEqual({
      formasi: 8,
      kebutuhanDeclared: 1,
      kebutuhanComputed: 4,
      terisi: 6,
      // 0 + 2 (the next case shows a sum that differs from max(Σ formasi − Σ terisi, 0)).
      availableFormation: 2,
      retiring: { 1: 1, 3: 1, 5: 1 },
      // 0 + 4; the sum's own need (5) against its terisi (6) would say 0.
      projectedShortfall: { 1: 4, 3: 4, 5: 4 },
    });
    const spare = needsLevel(input({ formasi: 10, terisi: 0 }));
    const crowded = needsLevel(input({ formasi: 1, terisi: 6 }));
    expect(sumNeedsLevels([spare, crowded]).availableFormation).toBe(10);
  });

  it('is null only where every part is null', () => {
    const none = emptyNeedsLevel();
    const some = needsLevel(input({ kebutuhanComputed: 0, terisi: 2 }));
    expect(sumNeedsLevels([none, some])).toMatchObject({
      formasi: null,
      kebutuhanDeclared: null,
      kebutuhanComputed: 0,
      availableFormation: null,
      terisi: 2,
    });
    expect(sumNeedsLevels([none, none])).toEqual(emptyNeedsLevel());
    expect(sumNeedsLevels([])).toEqual(emptyNeedsLevel());
  });

  it('agrees with sumFormationFigures (R12) on what both carry', () => {
    const count = fc.nat({ max: 50 });
    const part = fc.record({
      formasi: fc.option(count, { nil: null }),
      kebutuhanDeclared: fc.option(count, { nil: null }),
      kebutuhanComputed: fc.option(count, { nil: null }),
      terisi: count,
      retiring: fc.record({ 1: count, 3: count, 5: count }),
    });
    fc.assert(
      fc.property(fc.array(part, { maxLength: 8 }), (parts) => {
        const needs = sumNeedsLevels(parts.map(needsLevel));
        const r12 = sumFormationFigures(
          parts.map((p) => formationFigures({ formasi: p.formasi, kebutuhan: p.kebutuhanDeclared, terisi: p.terisi })),
        );
        expect([needs.formasi, needs.kebutuhanDeclared, needs.terisi, needs.availableFormation]).toEqual([
          r12.formasi,
          r12.kebutuhan,
          r12.terisi,
          r12.available,
        ]);
        // Summing is associative: a province of provinces adds up to the same nation.
        const half = Math.floor(parts.length / 2);
        expect(
          sumNeedsLevels([
            sumNeedsLevels(parts.slice(0, half).map(needsLevel)),
            sumNeedsLevels(parts.slice(half).map(needsLevel)),
          ]),
        ).toEqual(needs);
      }),
    );
  });
});

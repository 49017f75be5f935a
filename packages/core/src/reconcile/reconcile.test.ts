import { describe, expect, it } from 'vitest';
import {
  ageOn,
  compareCandidates,
  formationFigures,
  formationFindings,
  heldRemovalOutcome,
  isMassRemoval,
  isPastRetirement,
  isStale,
  provinceCoverage,
  resolveAssignment,
  sumFormationFigures,
} from './index.ts';

describe('R8 mass-removal guard', () => {
  it('holds at least 3 officers and at least half of the active ones', () => {
    expect(isMassRemoval({ removingActive: 3, activeBefore: 6 })).toBe(true);
    expect(isMassRemoval({ removingActive: 3, activeBefore: 3 })).toBe(true);
    expect(isMassRemoval({ removingActive: 10, activeBefore: 20 })).toBe(true);
  });
  it('lets smaller or proportionally small removals through', () => {
    expect(isMassRemoval({ removingActive: 2, activeBefore: 2 })).toBe(false);
    expect(isMassRemoval({ removingActive: 3, activeBefore: 7 })).toBe(false);
    expect(isMassRemoval({ removingActive: 0, activeBefore: 0 })).toBe(false);
  });
  it('rejects nonsense counts', () => {
    expect(() => isMassRemoval({ removingActive: -1, activeBefore: 3 })).toThrow(/removingActive/);
    expect(() => isMassRemoval({ removingActive: 1, activeBefore: 1.5 })).toThrow(/activeBefore/);
  });
  it('applies a held removal when confirmed, or when a later run shows it again', () => {
    expect(heldRemovalOutcome({ status: 'confirmed', laterLook: true, fetchStatus: 'failed' })).toBe('apply_confirmed');
    expect(heldRemovalOutcome({ status: 'held', laterLook: true, fetchStatus: 'succeeded' })).toBe('apply_repeated');
    expect(heldRemovalOutcome({ status: 'held', laterLook: true, fetchStatus: 'unchanged' })).toBe('apply_repeated');
    expect(heldRemovalOutcome({ status: 'held', laterLook: true, fetchStatus: 'failed' })).toBe('keep');
    expect(heldRemovalOutcome({ status: 'held', laterLook: false, fetchStatus: 'succeeded' })).toBe('keep');
    expect(heldRemovalOutcome({ status: 'held', laterLook: false, fetchStatus: 'unchanged' })).toBe('keep');
    expect(heldRemovalOutcome({ status: 'confirmed', laterLook: false, fetchStatus: 'unchanged' })).toBe(
      'apply_confirmed',
    );
  });
});

describe('R10 transfers and conflicts', () => {
  const a = { sourceId: 'src-a', regionCode: '16.71', tmtJabatan: '2020-01-01', active: true };
  const b = { sourceId: 'src-b', regionCode: '16.02', tmtJabatan: '2024-03-01', active: true };

  it('the later tmt_jabatan stands and the other agency is told', () => {
    const d = resolveAssignment([a, b], 'src-a');
    expect(d?.winner).toBe(b);
    expect(d?.findings).toEqual([{ code: 'transferred_officer_still_listed', sourceId: 'src-a', regionCode: '16.71' }]);
  });

  it('equal tmt_jabatan: the registered assignment stands, both sides get a conflict', () => {
    const b2 = { ...b, tmtJabatan: a.tmtJabatan };
    const d = resolveAssignment([b2, a], 'src-a');
    expect(d?.winner).toBe(a);
    expect(d?.findings.map((f) => [f.code, f.sourceId]).sort()).toEqual([
      ['conflicting_assignment', 'src-a'],
      ['conflicting_assignment', 'src-b'],
    ]);
  });

  it('equal tmt_jabatan and none registered: the smaller region code stands', () => {
    const b2 = { ...b, tmtJabatan: a.tmtJabatan };
    expect(resolveAssignment([a, b2], null)?.winner).toBe(b2);
    expect(resolveAssignment([a, b2], 'src-x')?.winner).toBe(b2);
  });

  it('an active record beats a later inactive one, with no finding', () => {
    const inactive = { ...b, active: false };
    const d = resolveAssignment([inactive, a], null);
    expect(d?.winner).toBe(a);
    expect(d?.findings).toEqual([]);
  });

  it('orders totally and handles no candidates', () => {
    expect(resolveAssignment([], null)).toBeNull();
    expect(compareCandidates(a, a, null)).toBe(0);
    expect(compareCandidates({ ...a, sourceId: 'z' }, a, null)).toBeGreaterThan(0);
  });
});

describe('R11 retirement age', () => {
  it('computes whole years on as_of, birthday included', () => {
    expect(ageOn('1968-11-27', '2026-11-27')).toBe(58);
    expect(ageOn('1968-11-28', '2026-11-27')).toBe(57);
    expect(ageOn('2000-02-29', '2001-02-28')).toBe(0);
    expect(ageOn('2000-02-29', '2001-03-01')).toBe(1);
    expect(() => ageOn('27/11/1968', '2026-11-27')).toThrow(/birthDate/);
  });
  it('flags active officers who reached the level retirement age', () => {
    expect(isPastRetirement({ birthDate: '1968-11-27', asOf: '2026-11-27', retirementAge: 58, active: true })).toBe(
      true,
    );
    expect(isPastRetirement({ birthDate: '1968-11-28', asOf: '2026-11-27', retirementAge: 58, active: true })).toBe(
      false,
    );
    expect(isPastRetirement({ birthDate: '1950-01-01', asOf: '2026-11-27', retirementAge: 58, active: false })).toBe(
      false,
    );
  });
});

describe('R12 formation', () => {
  it('computes kekurangan = max(kebutuhan - terisi, 0)', () => {
    expect(formationFigures({ formasi: 4, kebutuhan: 6, terisi: 5 })).toEqual({
      formasi: 4,
      kebutuhan: 6,
      terisi: 5,
      kekurangan: 1,
      available: 0,
    });
    // R17: available formation = max(formasi − terisi, 0), unknown without a formation row.
    expect(formationFigures({ formasi: 4, kebutuhan: 6, terisi: 1 }).available).toBe(3);
    expect(formationFigures({ formasi: null, kebutuhan: null, terisi: 1 }).available).toBeNull();
    expect(formationFigures({ formasi: 4, kebutuhan: 3, terisi: 5 }).kekurangan).toBe(0);
    expect(formationFigures({ formasi: null, kebutuhan: null, terisi: 2 }).kekurangan).toBeNull();
  });
  it('adds regions up: each region its own shortfall, null only where no region has a row', () => {
    const plg = formationFigures({ formasi: 2, kebutuhan: 4, terisi: 1 });
    const oki = formationFigures({ formasi: 1, kebutuhan: 1, terisi: 3 });
    const none = formationFigures({ formasi: null, kebutuhan: null, terisi: 2 });
    // 16.71 is short of 3, 16.02's surplus of 2 does not fill it.
    // Available formation too: 16.71's one free position, 16.02's overfill does not cancel it.
    expect(sumFormationFigures([plg, oki, none])).toEqual({
      formasi: 3,
      kebutuhan: 5,
      terisi: 6,
      kekurangan: 3,
      available: 1,
    });
    const empty = { formasi: null, kebutuhan: null, kekurangan: null, available: null };
    expect(sumFormationFigures([none, none])).toEqual({ ...empty, terisi: 4 });
    expect(sumFormationFigures([])).toEqual({ ...empty, terisi: 0 });
  });
  it('flags formation_missing and over_formation', () => {
    expect(formationFindings({ activeByLevel: { ahli_muda: 1 }, formasiByLevel: {} })).toEqual({
      formationMissing: true,
      overFormationLevels: [],
    });
    expect(
      formationFindings({
        activeByLevel: { ahli_muda: 3, ahli_madya: 1 },
        formasiByLevel: { ahli_muda: 2, ahli_madya: 1 },
      }),
    ).toEqual({ formationMissing: false, overFormationLevels: ['ahli_muda'] });
    expect(formationFindings({ activeByLevel: {}, formasiByLevel: {} }).formationMissing).toBe(false);
  });
});

describe('R13 coverage', () => {
  it('counts regencies with at least one active officer', () => {
    const active = new Map([
      ['16.71', 4],
      ['16.02', 0],
      ['16', 9],
    ]);
    expect(provinceCoverage(['16.01', '16.02', '16.71'], active)).toEqual({ covered: 1, total: 3 });
  });
});

describe('R9 staleness', () => {
  const now = new Date('2026-11-27T12:00:00Z');
  it('is stale after 3 days without success', () => {
    expect(isStale(new Date('2026-11-24T12:00:00Z'), new Date('2026-01-01'), now)).toBe(true);
    expect(isStale(new Date('2026-11-24T12:00:01Z'), new Date('2026-01-01'), now)).toBe(false);
    expect(isStale(null, new Date('2026-11-20T00:00:00Z'), now)).toBe(true);
    expect(isStale(null, new Date('2026-11-26T00:00:00Z'), now)).toBe(false);
  });
});

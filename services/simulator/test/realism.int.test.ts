import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseOfficer } from '@pksync/core';
import { renderOfficer, type Defect } from '../src/officers.ts';
import { start, type Simulator } from '../src/index.ts';

// The simulator's records, as agencies send them, through the core normaliser: clean records are
// accepted without findings; each seeded defect gives the outcome the spec names.
const EXPECTED: Record<Defect, { rejected?: string; finding?: string }> = {
  nip_invalid: { rejected: 'nip_invalid' },
  nip_scientific: { rejected: 'nip_invalid' },
  gender_mismatch: { finding: 'gender_mismatch' },
  birthdate_mismatch: { finding: 'birthdate_mismatch' },
  grade_level_mismatch: { finding: 'grade_level_mismatch' },
  level_unknown: { rejected: 'level_unknown' },
  grade_unknown: { rejected: 'grade_unknown' },
  field_missing: { rejected: 'field_missing' },
  date_invalid: { rejected: 'date_invalid' },
  date_in_future: { rejected: 'date_in_future' },
  field_too_long: { rejected: 'field_too_long' },
  region_mismatch: { rejected: 'region_mismatch' },
  // R11 is a register rule (raised when the register is built), not a per-record finding.
  past_retirement_age: {},
  duplicate_in_source: {},
  formula_text: {},
};

describe('simulated records through the core normaliser', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await start({ port: 0, seed: 21, regions: 'all', faults: false, defectRate: 0.2 });
  });
  afterAll(() => sim.close());

  it('accepts clean records and flags or rejects each defect as the spec says', () => {
    const seen = new Set<string>();
    let clean = 0;
    for (const agency of sim.agencies().slice(0, 150)) {
      let position = 0;
      for (const o of sim.listOfficers(agency.id)) {
        const rendered = renderOfficer(o, agency.style);
        const raw = Object.fromEntries(Object.entries(rendered).filter(([, v]) => v !== null));
        const r = normaliseOfficer(raw, { sourceRegion: agency.region.code, asOf: '2026-11-27', position: position++ });
        const label = `${agency.id} ${o.defect ?? 'clean'} ${JSON.stringify(raw)}`;
        if (!o.defect) {
          clean++;
          expect(r.ok, label).toBe(true);
          if (r.ok) expect(r.findings, label).toEqual([]);
          continue;
        }
        seen.add(o.defect);
        const want = EXPECTED[o.defect];
        if (want.rejected) {
          expect(r.ok, label).toBe(false);
          if (!r.ok) expect(r.rejection.codes, label).toContain(want.rejected);
        } else {
          expect(r.ok, label).toBe(true);
          if (r.ok && want.finding)
            expect(
              r.findings.map((f) => f.code),
              label,
            ).toContain(want.finding);
        }
      }
    }
    expect(clean).toBeGreaterThan(1000);
    expect(seen.size).toBe(Object.keys(EXPECTED).length);
  });
});

import { Rng } from './prng.ts';
import { addDays, applyDefect, baseOfficer, type SimOfficer } from './officers.ts';
import type { SimAgency } from './world.ts';

/**
 * What happened on each simulated day. Only the (small) list of events is kept in memory: an
 * agency's listing is computed lazily slot by slot, so a million officers stream without being
 * held.
 */
export interface Transfer {
  day: number;
  from: string;
  slot: number;
  to: string;
  /** The old agency keeps listing the officer (R10 transferred_officer_still_listed). */
  stillListed: boolean;
}
export interface Departure {
  day: number;
  agency: string;
  slot: number;
  /** `removed`: the row disappears (R8); otherwise the row stays with this status (R5). */
  outcome: 'removed' | 'pensiun' | 'meninggal';
}

export interface MassRemoval {
  day: number;
  sourceId: string;
  /** Share of the agency's officers that disappear from that day on. */
  share: number;
}

export class Timeline {
  private readonly out = new Map<string, Map<number, Transfer>>();
  private readonly incoming = new Map<string, Transfer[]>();
  private readonly departed = new Map<string, Map<number, Departure>>();
  readonly transfers: Transfer[] = [];
  readonly departures: Departure[] = [];
  /** Per agency: the last day an event changed its listing (for content-stable ETags). */
  private readonly lastEvent = new Map<string, number>();

  constructor(
    private readonly seed: number,
    private readonly agencies: readonly SimAgency[],
    readonly day: number,
    readonly massRemoval: MassRemoval | null,
  ) {
    const staffed = agencies.filter((a) => a.officers > 0);
    const total = staffed.reduce((s, a) => s + a.officers, 0);
    if (staffed.length < 2) return;
    const byProvince = new Map<string, SimAgency[]>();
    for (const a of staffed) {
      const p = a.region.code.slice(0, 2);
      let list = byProvince.get(p);
      if (!list) byProvince.set(p, (list = []));
      list.push(a);
    }
    // ≈0.2 % of officers move and ≈0.1 % leave each day (bounded, so a huge --scale stays cheap).
    const transfersPerDay = Math.min(2000, Math.max(1, Math.round(total * 0.002)));
    const departuresPerDay = Math.min(1000, Math.max(1, Math.round(total * 0.001)));
    for (let d = 1; d <= day; d++) {
      const rng = Rng.of(seed, 'day', d);
      for (let k = 0; k < transfersPerDay; k++) {
        const from = rng.pick(staffed);
        const slot = rng.int(0, from.officers - 1);
        const sameProvince = byProvince.get(from.region.code.slice(0, 2))!.filter((a) => a.id !== from.id);
        const pool =
          sameProvince.length > 0 && rng.chance(0.9) ? sameProvince : staffed.filter((a) => a.id !== from.id);
        const to = rng.pick(pool);
        if (this.isGone(from.id, slot)) continue;
        const t: Transfer = { day: d, from: from.id, slot, to: to.id, stillListed: rng.chance(0.3) };
        this.transfers.push(t);
        this.lastEvent.set(from.id, d);
        this.lastEvent.set(to.id, d);
        mapOf(this.out, from.id).set(slot, t);
        let list = this.incoming.get(to.id);
        if (!list) this.incoming.set(to.id, (list = []));
        list.push(t);
      }
      for (let k = 0; k < departuresPerDay; k++) {
        const a = rng.pick(staffed);
        const slot = rng.int(0, a.officers - 1);
        if (this.isGone(a.id, slot)) continue;
        const dep: Departure = {
          day: d,
          agency: a.id,
          slot,
          outcome: rng.weighted([
            ['removed', 3],
            ['pensiun', 2],
            ['meninggal', 0.3],
          ] as const),
        };
        this.departures.push(dep);
        this.lastEvent.set(a.id, d);
        mapOf(this.departed, a.id).set(slot, dep);
      }
    }
  }

  private isGone(agencyId: string, slot: number): boolean {
    return Boolean(this.out.get(agencyId)?.has(slot) || this.departed.get(agencyId)?.has(slot));
  }

  /** True when the agency's mass removal has happened and drops this slot (R8 guard test). */
  private massRemoved(agency: SimAgency, slot: number): boolean {
    const m = this.massRemoval;
    if (!m || m.sourceId !== agency.id || this.day < m.day) return false;
    return Rng.of(this.seed, 'mass', agency.id, slot).chance(m.share);
  }

  /**
   * The day of the last event that changed the agency's listing (0: none yet). Events of day d
   * depend only on the seed and the days before, so the listing on any day ≥ this one is the
   * listing of this day: an ETag built from it stays the same while the content does.
   */
  contentVersion(agency: SimAgency): number {
    let v = this.lastEvent.get(agency.id) ?? 0;
    const m = this.massRemoval;
    if (m && m.sourceId === agency.id && this.day >= m.day) v = Math.max(v, m.day);
    return v;
  }

  /** Rows an agency lists today: its own slots, then officers transferred in. */
  rowCount(agency: SimAgency): number {
    return agency.officers + (this.incoming.get(agency.id)?.length ?? 0);
  }

  /**
   * The officer at listing index `index` of `agency` today, or null when that row is gone
   * (departed, transferred out, mass removal). Indexes are stable across days, so API cursors
   * (which carry an index) stay valid.
   */
  officerAt(
    agency: SimAgency,
    index: number,
    baseDate: string,
    defectRate: number,
    byId: Map<string, SimAgency>,
  ): SimOfficer | null {
    if (index < agency.officers) {
      const slot = index;
      if (this.massRemoved(agency, slot)) return null;
      const dep = this.departed.get(agency.id)?.get(slot);
      if (dep?.outcome === 'removed') return null;
      const tr = this.out.get(agency.id)?.get(slot);
      if (tr && !tr.stillListed) return null;
      let o = baseOfficer(this.seed, agency, slot, baseDate, defectRate);
      if (o.defect === 'duplicate_in_source' && slot > 0) {
        // The previous row again, with another TMT (R7).
        const prev = baseOfficer(this.seed, agency, slot - 1, baseDate, 0);
        o = { ...prev, defect: 'duplicate_in_source', tmtJabatan: addDays(prev.tmtJabatan, -365) };
      }
      o = applyDefect(this.seed, agency, slot, o, baseDate);
      if (dep) o = { ...o, status: dep.outcome, updatedAt: `${addDays(baseDate, dep.day)}T08:00:00+07:00` };
      return o;
    }
    const t = this.incoming.get(agency.id)?.[index - agency.officers];
    if (!t) return null;
    const from = byId.get(t.from)!;
    const o = baseOfficer(this.seed, from, t.slot, baseDate, 0);
    const date = addDays(baseDate, t.day);
    return {
      ...o,
      unit: agency.agency,
      regionCode: agency.region.code,
      tmtJabatan: date,
      status: 'aktif',
      updatedAt: `${date}T08:00:00+07:00`,
      defect: null,
    };
  }
}

function mapOf<V>(m: Map<string, Map<number, V>>, key: string): Map<number, V> {
  let inner = m.get(key);
  if (!inner) m.set(key, (inner = new Map()));
  return inner;
}

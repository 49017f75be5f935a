import type { OfficerView } from '@pksync/db';
import { canSeeProvince, type Caller } from './auth.ts';

/** Fields only admins and the officer's own province see (register-api-v1.md § Roles). */
export const PERSONAL_FIELDS = ['nip', 'birth_date', 'email', 'phone'] as const;

/**
 * An officer as the caller may see it: the full record for admins and the officer's own province,
 * otherwise the public view without NIP, birth date, e-mail or phone (and without the source id,
 * which could narrow a NIP down).
 */
export function officerFor(caller: Caller, o: OfficerView) {
  const publicView = {
    name: o.name,
    gender: o.gender,
    level: o.level,
    grade: o.grade,
    unit: o.unit,
    region_code: o.regionCode,
    province_code: o.provinceCode,
    tmt_jabatan: o.tmtJabatan,
    status: o.status,
    active: o.active,
    past_retirement_age: o.pastRetirement,
  };
  if (!canSeeProvince(caller, o.provinceCode)) return publicView;
  return {
    nip: o.nip,
    ...publicView,
    birth_date: o.birthDate,
    source_id: o.sourceId,
    email: o.email,
    phone: o.phone,
  };
}

import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * The Kysely view of the schema. One interface per table; each migration that adds a table adds
 * its interface here and a line in {@link Database}.
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T = Record<string, unknown>> = ColumnType<T, T | string, T | string>;
/** `date` columns are returned as `YYYY-MM-DD` strings (see the type parser in db.ts). */
type DateString = ColumnType<string, string, string>;

export interface RegionTable {
  code: string;
  name: string;
  level: 'province' | 'regency';
  parent_code: string | null;
  kind: 'provinsi' | 'kabupaten' | 'kota';
}

export interface LevelTable {
  code: string;
  name: string;
  category: string;
  retirement_age: number;
  rank: number;
}

export interface GradeTable {
  code: string;
  pangkat: string;
  group: string;
  level_code: string | null;
  rank: number;
}

export interface SourceTable {
  id: string;
  agency: string;
  region_code: string;
  transport: 'api' | 'csv' | 'xlsx' | 'upload';
  url: string | null;
  formations_url: string | null;
  token_encrypted: string | null;
  enabled: Generated<boolean>;
  timeout_s: number | null;
  max_bytes: ColumnType<number | null, number | null, number | null>;
  max_rows: number | null;
  last_success_at: Timestamp | null;
  last_content_hash: string | null;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
}

export type RunScopeKind = 'national' | 'province' | 'region' | 'source';
export type RunStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface RunTable {
  id: Generated<string>;
  scope_kind: RunScopeKind;
  scope_value: string | null;
  scope_key: string;
  trigger: 'schedule' | 'manual';
  requested_by: string | null;
  reason: string | null;
  as_of: DateString;
  status: Generated<RunStatus>;
  schedule_slot: string | null;
  counts: Generated<Json>;
  version_published: number | null;
  error: string | null;
  created_at: Generated<Timestamp>;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
}

export type FetchStatus = 'pending' | 'running' | 'succeeded' | 'unchanged' | 'failed';

export interface SourceFetchTable {
  id: Generated<number>;
  run_id: string;
  source_id: string;
  status: Generated<FetchStatus>;
  attempts: Generated<number>;
  content_hash: string | null;
  counts: Generated<Json>;
  error_code: string | null;
  error_message: string | null;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
}

export type FindingStatus = 'open' | 'acknowledged' | 'resolved';

export interface FindingTable {
  id: Generated<number>;
  code: string;
  severity: 'error' | 'warning' | 'info';
  status: Generated<FindingStatus>;
  fingerprint: string;
  province_code: string;
  region_code: string | null;
  source_id: string | null;
  nip: string | null;
  row: number | null;
  message: string;
  details: Generated<Json>;
  first_run_id: string | null;
  last_run_id: string | null;
  first_seen_at: Generated<Timestamp>;
  last_seen_at: Generated<Timestamp>;
  acknowledged_at: Timestamp | null;
  acknowledged_by: string | null;
  ack_note: string | null;
  resolved_at: Timestamp | null;
  resolved_run_id: string | null;
}

export interface PublicationTable {
  version: number;
  run_id: string;
  as_of: DateString;
  published_at: Generated<Timestamp>;
  counts: Generated<Json>;
}

export interface OfficerRecordTable {
  id: Generated<number>;
  nip: string;
  source_id: string;
  region_code: string;
  province_code: string;
  name: string;
  name_normalised: string;
  gender: 'L' | 'P';
  birth_date: DateString;
  level: string;
  grade: string;
  unit: string;
  tmt_jabatan: DateString;
  status: string;
  active: boolean;
  email: string | null;
  phone: string | null;
  source_updated_at: Timestamp | null;
  past_retirement: Generated<boolean>;
  valid_from: number;
  valid_to: number | null;
}

export interface PublicationChangeTable {
  version: number;
  nip: string;
  change: 'added' | 'removed' | 'changed';
  fields: Generated<string[]>;
  region_code: string;
  province_code: string;
  source_id: string;
  previous_region_code: string | null;
  previous_source_id: string | null;
  reason: string;
}

export interface FormationTable {
  id: Generated<number>;
  source_id: string;
  region_code: string;
  year: number;
  level: string;
  need: number;
  approved: number;
  valid_from: number;
  valid_to: number | null;
}

export interface HeldRemovalTable {
  id: Generated<number>;
  source_id: string;
  run_id: string;
  nips: string[];
  active_before: number;
  status: Generated<'held' | 'confirmed' | 'applied' | 'superseded'>;
  confirmed_by: string | null;
  confirmed_at: Timestamp | null;
  confirm_reason: string | null;
  resolved_run_id: string | null;
  resolved_at: Timestamp | null;
  resolution: 'confirmed' | 'repeated' | 'superseded' | null;
  created_at: Generated<Timestamp>;
}

export interface RejectedRecordTable {
  id: Generated<number>;
  run_id: string;
  source_id: string;
  row: number;
  nip: string | null;
  codes: string[];
  fields: string[];
  raw: Json<Record<string, string>>;
}

export interface Database {
  regions: RegionTable;
  levels: LevelTable;
  grades: GradeTable;
  sources: SourceTable;
  runs: RunTable;
  source_fetches: SourceFetchTable;
  findings: FindingTable;
  publications: PublicationTable;
  officer_records: OfficerRecordTable;
  publication_changes: PublicationChangeTable;
  formations: FormationTable;
  held_removals: HeldRemovalTable;
  rejected_records: RejectedRecordTable;
}

export type Source = Selectable<SourceTable>;
export type NewSource = Insertable<SourceTable>;
export type SourceUpdate = Updateable<SourceTable>;
export type Run = Selectable<RunTable>;
export type NewRun = Insertable<RunTable>;
export type SourceFetch = Selectable<SourceFetchTable>;
export type Finding = Selectable<FindingTable>;
export type NewFinding = Insertable<FindingTable>;
export type Publication = Selectable<PublicationTable>;
export type OfficerRecord = Selectable<OfficerRecordTable>;
export type PublicationChange = Selectable<PublicationChangeTable>;
export type FormationRow = Selectable<FormationTable>;
export type HeldRemoval = Selectable<HeldRemovalTable>;

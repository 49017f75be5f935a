import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/**
 * The Kysely view of the schema. One interface per table; each migration that adds a table adds
 * its interface here and a line in {@link Database}.
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T = Record<string, unknown>> = ColumnType<T, T | string, T | string>;
/** `date` columns are returned as `YYYY-MM-DD` strings (see the type parser in db.ts). */
type DateString = ColumnType<string, string, string>;
/** A jsonb column with a database default. */
type DefaultJson<T = Record<string, unknown>> = ColumnType<T, T | string | undefined, T | string>;

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
  workloads_url: Generated<string | null>;
  token_encrypted: string | null;
  enabled: Generated<boolean>;
  timeout_s: number | null;
  max_bytes: ColumnType<number | null, number | null, number | null>;
  max_rows: number | null;
  last_success_at: Timestamp | null;
  last_content_hash: string | null;
  /** HTTP validators of the last reconciled snapshot, per file label (migration 0008_fetch_validators). */
  last_validators: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export type RunScopeKind = 'national' | 'province' | 'region' | 'source';
/** `cancelled`: ended by an operator (migration 0010_run_recovery). */
export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

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
  counts: DefaultJson;
  version_published: number | null;
  error: string | null;
  created_at: DefaultTimestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  /** The flow the run's current jobs belong to; bumped by every resume (0010_run_recovery). */
  generation: Generated<number>;
  resumes: Generated<number>;
  resumed_at: Timestamp | null;
  resumed_by: string | null;
}

export type FetchStatus = 'pending' | 'running' | 'succeeded' | 'unchanged' | 'failed';

export interface SourceFetchTable {
  id: Generated<number>;
  run_id: string;
  source_id: string;
  status: Generated<FetchStatus>;
  attempts: Generated<number>;
  content_hash: string | null;
  counts: DefaultJson;
  /** HTTP validators received, per file label (migration 0008_fetch_validators). */
  validators: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
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
  details: DefaultJson;
  first_run_id: string | null;
  last_run_id: string | null;
  first_seen_at: DefaultTimestamp;
  last_seen_at: DefaultTimestamp;
  acknowledged_at: Timestamp | null;
  acknowledged_by: string | null;
  ack_note: string | null;
  resolved_at: Timestamp | null;
  resolved_run_id: string | null;
  /** R15 bookkeeping (migration 0007): when a digest last told the province about it. */
  last_notified_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  notify_count: Generated<number>;
  resolution_notified_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  escalated_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface PublicationTable {
  version: number;
  run_id: string;
  as_of: DateString;
  published_at: DefaultTimestamp;
  counts: DefaultJson;
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

/** A snapshot's workload rows (migration 0011_needs_planning, UNLOGGED). */
export interface StagedWorkloadTable {
  run_id: string;
  source_id: string;
  region_code: string;
  year: number;
  activity: string;
  volume: number;
  districts: number | null;
  complexity: string | null;
  position: number;
}

/** The register's workload rows: one source's set per region and year (needs-planning-v1.md). */
export interface WorkloadTable {
  region_code: string;
  year: number;
  activity: string;
  source_id: string;
  volume: number;
  districts: number | null;
  complexity: string | null;
  position: number;
  run_id: string;
}

/** One version of the R16 parameter set; `document` is the whole JSON as added. */
export interface NeedParametersTable {
  version: string;
  seq: Generated<number>;
  status: 'confirmed' | 'unconfirmed';
  valid_from: string;
  document: Json;
  added_by: string;
  added_at: DefaultTimestamp;
}

/** R16's need per region, year and level. */
export interface ComputedNeedTable {
  region_code: string;
  year: number;
  level: string;
  province_code: string;
  need: number;
  exact: number;
  area_factor: number;
  complexity_factor: number;
  parameter_version: string;
  as_of: string;
  run_id: string;
}

/** R18 per region and level for the last evaluated as_of; `active` is also R12's `terisi`. */
export interface RetirementOutlookTable {
  region_code: string;
  level: string;
  province_code: string;
  as_of: string;
  active: number;
  retiring_1: number;
  retiring_3: number;
  retiring_5: number;
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
  created_at: DefaultTimestamp;
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

export interface ApiKeyTable {
  id: Generated<number>;
  name: string;
  role: 'admin' | 'province';
  province_code: string | null;
  lookup: string;
  key_hash: string;
  created_by: string | null;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  revoked_at: Timestamp | null;
  revoked_by: string | null;
  last_used_at: Timestamp | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: ColumnType<Date, Date | string | undefined, Date | string>;
  actor: string;
  actor_role: string;
  action: string;
  target: string | null;
  province_code: string | null;
  reason: string | null;
  details: ColumnType<Record<string, unknown>, string | undefined, string>;
}

/** A timestamptz with a database default (plain `Generated<Timestamp>` would nest ColumnTypes). */
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/** R15: who is told about findings (migration 0007_alerts). */
export interface AlertContactTable {
  id: Generated<string>;
  /** Null for the ministry's admin contacts. */
  province_code: string | null;
  is_admin: Generated<boolean>;
  kind: 'email' | 'webhook';
  address: string;
  name: string | null;
  secret_encrypted: string | null;
  enabled: Generated<boolean>;
  created_by: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export type OutboxStatus = 'pending' | 'sent' | 'dead' | 'cancelled';

/** R15: digests to deliver, written in the findings' transaction (migration 0007_alerts). */
export interface AlertOutboxTable {
  id: Generated<number>;
  idempotency_key: string;
  kind: 'digest' | 'escalation' | 'delivery_failed';
  run_id: string | null;
  audience: 'province' | 'ministry';
  province_code: string | null;
  contact_id: string | null;
  channel: 'email' | 'webhook';
  payload: ColumnType<Record<string, unknown>, string, string>;
  finding_ids: ColumnType<number[], number[] | undefined, number[]>;
  status: Generated<OutboxStatus>;
  attempts: Generated<number>;
  next_attempt_at: DefaultTimestamp;
  claim_token: string | null;
  locked_until: Timestamp | null;
  last_error: string | null;
  first_attempt_at: Timestamp | null;
  failure_reported_at: Timestamp | null;
  sent_at: Timestamp | null;
  created_at: DefaultTimestamp;
}

/** A source's normalised snapshot staged for a run (migration 0004_staging); rows in staged_*. */
export interface StagedSnapshotTable {
  run_id: string;
  source_id: string;
  fetch_id: number | null;
  content_hash: string | null;
  officer_count: number;
  formation_count: number;
  finding_count: number;
  workload_count: Generated<number>;
  rejected_count: number;
  stats: DefaultJson;
  staged_at: DefaultTimestamp;
  reconciled_at: Timestamp | null;
  discarded_at: Timestamp | null;
}

/** UNLOGGED staging rows of accepted officers (migration 0004_staging). */
export interface StagedOfficerTable {
  run_id: string;
  source_id: string;
  nip: string;
  name: string;
  name_normalised: string;
  gender: string;
  birth_date: DateString;
  level: string;
  grade: string;
  unit: string;
  region_code: string;
  tmt_jabatan: DateString;
  status: string;
  active: boolean;
  email: string | null;
  phone: string | null;
  source_updated_at: Timestamp | null;
  position: number;
}

/** UNLOGGED staging rows of formations (migration 0004_staging). */
export interface StagedFormationTable {
  run_id: string;
  source_id: string;
  region_code: string;
  year: number;
  level: string;
  need: number;
  approved: number;
  position: number;
}

/** UNLOGGED staging rows of R2/R3/R7 record findings (migration 0004_staging). */
export interface StagedFindingTable {
  run_id: string;
  source_id: string;
  code: string;
  severity: string;
  row: number | null;
  nip: string | null;
  details: DefaultJson;
}

/** Single row: the as_of of the last register-wide R11/R12 evaluation (migration 0004_staging). */
export interface RegisterStateTable {
  id: Generated<boolean>;
  evaluated_as_of: DateString | null;
}

/** The snapshot each source last reconciled (R10 reads other agencies' listings). */
export interface SourceListingTable {
  source_id: string;
  run_id: string;
  staged_at: Timestamp;
  reconciled_at: DefaultTimestamp;
}

/** `uploads` (migration 0002): one operator file of an `upload` source. */
export interface UploadTable {
  id: Generated<number>;
  source_id: string;
  filename: string;
  content_type: string | null;
  sha256: string;
  size_bytes: number;
  uploaded_by: string;
  uploaded_at: ColumnType<Date, Date | string | undefined, Date | string>;
  note: string | null;
}

/** `upload_chunks` (migration 0002): the file's bytes in order, 1 MiB each. */
export interface UploadChunkTable {
  upload_id: number;
  seq: number;
  data: Buffer;
}

/**
 * One row in an UNLOGGED table: PostgreSQL empties such tables when it recovers from a crash, so a
 * missing row means the staged rows may be lost too (0010_run_recovery).
 */
export interface StagingSentinelTable {
  id: number;
  written_at: DefaultTimestamp;
}

/** The key that seals the API's paging cursors: one row (migration 0012_keyset_paging). */
export interface PagingKeyTable {
  id: number;
  key: Buffer;
  created_at: DefaultTimestamp;
}

export interface Database {
  regions: RegionTable;
  levels: LevelTable;
  grades: GradeTable;
  sources: SourceTable;
  uploads: UploadTable;
  upload_chunks: UploadChunkTable;
  runs: RunTable;
  source_fetches: SourceFetchTable;
  findings: FindingTable;
  alert_contacts: AlertContactTable;
  alert_outbox: AlertOutboxTable;
  publications: PublicationTable;
  officer_records: OfficerRecordTable;
  publication_changes: PublicationChangeTable;
  formations: FormationTable;
  held_removals: HeldRemovalTable;
  rejected_records: RejectedRecordTable;
  staged_snapshots: StagedSnapshotTable;
  staged_officers: StagedOfficerTable;
  staged_formations: StagedFormationTable;
  staged_findings: StagedFindingTable;
  staged_workloads: StagedWorkloadTable;
  workloads: WorkloadTable;
  need_parameters: NeedParametersTable;
  computed_needs: ComputedNeedTable;
  retirement_outlook: RetirementOutlookTable;
  source_listings: SourceListingTable;
  register_state: RegisterStateTable;
  staging_sentinel: StagingSentinelTable;
  api_keys: ApiKeyTable;
  audit_log: AuditLogTable;
  paging_keys: PagingKeyTable;
}

export type NewSource = Insertable<SourceTable>;
export type Run = Selectable<RunTable>;
export type SourceFetch = Selectable<SourceFetchTable>;
export type Finding = Selectable<FindingTable>;
export type OfficerRecord = Selectable<OfficerRecordTable>;
export type AlertContactRow = Selectable<AlertContactTable>;
export type AlertOutboxRow = Selectable<AlertOutboxTable>;

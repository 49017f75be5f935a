/**
 * `@pksync/db`: the only code that writes SQL. What the services, the other packages, the tests
 * and the benches use, by name; everything else stays inside the package (its own tests import
 * the modules directly).
 */

// Connection, migrations and the schema's row types.
export { createDb, poolOf, type Db } from './db.ts';
export { isConnectionError } from './connection-errors.ts';
export { migrateToLatest, type MigrateReport } from './migrate.ts';
export type { AlertOutboxRow, Finding, NewSource, Run, SourceFetch } from './schema.ts';
export { pingDatabase } from './repositories/query.repository.ts';
export {
  readOperationalState,
  latestRegisterVersion,
  type OperationalStateRow,
} from './repositories/metrics.repository.ts';

// The source registry: import, read (never the token), tokens at rest, operators' uploads.
export { importSources, toSourceWithToken, type ImportReport } from './repositories/source.repository.ts';
export { listSources, type SourceView } from './repositories/query.repository.ts';
export { TOKEN_REDACT_PATHS, TokenCryptoError } from './token-crypto.ts';
export { latestUpload, saveUpload, uploadReader, UploadTooLargeError } from './repositories/upload.repository.ts';

// Runs: trigger, read, fetch outcomes, completion.
export {
  addRunCounts,
  calendarDateIn,
  commitContentHashes,
  completeRun,
  createRun,
  failInterruptedRuns,
  getRun,
  getRunProgress,
  listRuns,
  listScheduledRuns,
  listSourceFetches,
  markRunFailed,
  RunScopeError,
  type CreateRunInput,
  type CreateRunResult,
  type RunCounts,
  type RunKey,
  type RunProgress,
  type RunScope,
} from './repositories/run.repository.ts';
export {
  failUnfinishedFetches,
  listPendingFetches,
  markFetchesUnchanged,
  noteFetchAttemptError,
  type PendingFetch,
} from './repositories/fetch.repository.ts';
export { createFetchLedger, type FetchLedger } from './fetch-ledger.ts';

// Staging and reconciliation (R8–R14).
export { lostStagedSources, stageSnapshot } from './repositories/staging.repository.ts';
export { reconcileRun, StagedRowsLostError } from './reconcile/index.ts';

// Runs that outlive their infrastructure: resume, cancel, the healer, staging repair.
export {
  cancelRun,
  isRunActive,
  listActiveRuns,
  repairLostStaging,
  resumeRunRecord,
  RunNotActiveError,
  stagingSentinelPresent,
  withHealerLock,
  type ResumeRecord,
  type StagingRepair,
} from './repositories/recovery.repository.ts';

// R8 held mass removals.
export { confirmRemoval, listHeldRemovals } from './repositories/held-removal.repository.ts';

// Reads of the published register (R14: one whole version at a time) and its publications.
export {
  copyOfficersCsv,
  listOfficers,
  streamOfficers,
  VersionNotFoundError,
  type OfficerFilter,
  type OfficerView,
} from './repositories/officer.repository.ts';
export { getPublicationDiffView, getRegionStats, type RegionStats } from './repositories/query.repository.ts';
export { getOfficerHistory, getRegionSummaries, type RegionSummary } from './repositories/register.repository.ts';
export { getPublication, listPublications, type PublicationInfo } from './repositories/publication.repository.ts';

// Findings: the API's reads (newest first, paged) and the CLI's (by place), acknowledgement.
export { getFindingView, listFindingsView } from './repositories/query.repository.ts';
export { acknowledgeFindingById, listFindingsForCli } from './repositories/outbox.repository.ts';

// API keys and the audit log.
export {
  authenticateKey,
  createKey,
  KeyError,
  listKeys,
  revokeKey,
  type ApiKeyInfo,
  type ApiPrincipal,
} from './repositories/key.repository.ts';
export { listAudit, writeAudit } from './repositories/audit.repository.ts';

// The key that seals the API's paging cursors (every replica shares it).
export { pagingKey } from './repositories/paging-key.repository.ts';

// R15 alerts: contacts, the outbox and the findings its digests report.
export {
  addContact,
  CONFIGURED_WEBHOOK_ID,
  ConfiguredContactError,
  configuredWebhookContact,
  ContactValidationError,
  decryptContactSecret,
  getContact,
  getContactForDelivery,
  listContacts,
  removeContact,
  rotateContactSecret,
  setContactEnabled,
  syncConfiguredWebhook,
  type AlertContact,
  type ConfiguredWebhookSync,
} from './repositories/contact.repository.ts';
export {
  cancelOutbox,
  claimDueOutbox,
  completeOutbox,
  contactsFor,
  failOutbox,
  insertOutboxRows,
  listOutbox,
  markEscalated,
  markFailureReported,
  markFindingsNotified,
  markResolutionsNotified,
  resolveDeliveryFailed,
  runProvinces,
  selectDigestFindings,
  upsertDeliveryFailedFinding,
  withSavepoint,
  type DigestFinding,
  type NewOutboxRow,
  type OutboxSummaryRow,
} from './repositories/outbox.repository.ts';

// Needs and formation planning (needs-planning-v1.md): the parameter set versions.
export {
  addNeedParameters,
  getNeedParameters,
  listNeedParameters,
  loadShippedNeedParameters,
  NeedParametersError,
  needParametersInForce,
  type StoredNeedParameters,
} from './repositories/need-parameters.repository.ts';
// Needs planning's reads (GET /needs, pksync needs) and the audited addition of a version.
export {
  addNeedParametersAudited,
  countOpenFindingsByCode,
  getNeeds,
  listNeedParameterVersions,
  NeedsQueryError,
  type NeedParameterVersion,
  type NeedsLevelRow,
  type NeedsParameterInfo,
  type NeedsQuery,
  type NeedsReport,
  type NeedsRow,
} from './repositories/needs.repository.ts';

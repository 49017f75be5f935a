/** The fault tests' infrastructure: servers of their own to break, and pksync as real processes. */
export { startPostgres, findPostgresBin, type FaultPostgres } from './postgres.ts';
export { startRedis, type FaultRedis } from './redis.ts';
export {
  spawnService,
  assertNoneExited,
  describeExit,
  runCli,
  type ServiceKind,
  type ServiceProcess,
  type ExitStatus,
  type CliResult,
} from './processes.ts';
export { freePort } from './ports.ts';
export {
  useFaultScenario,
  reconcileGate,
  expectReferenceOutcome,
  faultOutcome,
  logFigure,
  waitForProgress,
  waitUntil,
  epoch,
  type FaultScenario,
  type ScenarioDatabase,
  type ReferenceRun,
  type FaultOutcome,
  type ReconcileGate,
  type StartedRun,
  type BlockedReconcile,
  type TriggerResult,
} from './scenario.ts';

export { start } from './simulator.ts';
export type { Simulator, SimulatorConfig, SourceImport, SourceStats } from './simulator.ts';
export {
  FAULT_MODES,
  selectRegions,
  type FaultMode,
  type PlanningCase,
  type SimAgency,
  type SimTransport,
} from './world.ts';
export type { PlanningCaseReport, WorkloadFields } from './planning.ts';
export { DEFECTS, type Defect, type SimOfficer } from './officers.ts';

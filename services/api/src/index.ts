export { buildApp, API_PREFIX, type BuildAppOptions } from './app.ts';
export { start, type RunningApi, type StartDeps } from './start.ts';
export type { ApiContext } from './context.ts';
export { openExport, type ExportFormat, type ExportRequest, type ExportStream } from './export/export.ts';
export { neutraliseCell, xlsxText } from './export/neutralise.ts';
export type { Caller } from './auth.ts';
export { CONSOLE_CSP, cspHeader, type CspDirectives } from './security-headers.ts';

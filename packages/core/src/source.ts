/** The four transports of exchange-format-v1.md. */
export type Transport = 'api' | 'csv' | 'xlsx' | 'upload';
export const TRANSPORTS = ['api', 'csv', 'xlsx', 'upload'] as const satisfies readonly Transport[];

/**
 * One source (agency feed) as a connector sees it: the `sources` row with its token already
 * decrypted. Per-source limits, when set, override the default fetch limits.
 */
export interface SourceDefinition {
  id: string;
  agency: string;
  regionCode: string;
  transport: Transport;
  url: string | null;
  formationsUrl: string | null;
  /** Decrypted bearer token; a secret: never log it, never put it in an error message. */
  token: string | null;
  enabled: boolean;
  timeoutS: number | null;
  maxBytes: number | null;
  maxRows: number | null;
}

import { createApiConnector } from './api/api.connector.ts';
import { createCsvConnector } from './csv/csv.connector.ts';
import { createXlsxConnector } from './xlsx/xlsx.connector.ts';
import { createUploadConnector } from './upload/upload.connector.ts';
import type { Connector, ConnectorDeps, Transport } from './connector.types.ts';

/**
 * The connector for a transport. Every connector has the same shape: `fetch(source, ctx)` yields
 * one whole snapshot or throws (R9: stage records; use them only after the iterable completes).
 *
 * @example
 * const connector = createConnector(source.transport, { uploads: uploadReader(db) });
 */
export function createConnector(transport: Transport, deps: ConnectorDeps = {}): Connector {
  switch (transport) {
    case 'api':
      return createApiConnector();
    case 'csv':
      return createCsvConnector();
    case 'xlsx':
      return createXlsxConnector();
    case 'upload':
      return createUploadConnector(deps);
    default: {
      const never: never = transport;
      throw new Error(`unknown transport: ${String(never)}`);
    }
  }
}

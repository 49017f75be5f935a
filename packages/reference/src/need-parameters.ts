import { readdirSync, readFileSync } from 'node:fs';

/** One shipped parameter set (data/need-parameters/*.json), as JSON; `@pksync/core` checks its shape. */
export interface ShippedNeedParameters {
  file: string;
  document: unknown;
}

/**
 * The parameter sets shipped with pksync (data/need-parameters/, see PROVENANCE.md), in file
 * name order. `pksync migrate` loads those the database does not hold yet.
 */
export function shippedNeedParameters(): ShippedNeedParameters[] {
  const dir = new URL('../data/need-parameters/', import.meta.url);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, document: JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as unknown }));
}

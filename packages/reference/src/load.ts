import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';

/** Reads one vendored CSV (header row, UTF-8) from `../data/`. */
export function readDataCsv(file: string): Record<string, string>[] {
  const text = readFileSync(new URL(`../data/${file}`, import.meta.url), 'utf8');
  return parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SourceDefinition } from '@pksync/connectors';

export interface Measurement {
  officers: number;
  formations: number;
  seconds: number;
  recordsPerSecond: number;
  rssGrowthMb: number;
  heapGrowthMb: number;
  sha256: string;
}

const SCRIPT = fileURLToPath(new URL('./measure-fetch.ts', import.meta.url));

/** Fetches `source` in a child process (so the simulator's own memory is not counted). */
export function measureFetch(source: SourceDefinition): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', SCRIPT, JSON.stringify(source)],
      { maxBuffer: 1 << 20, timeout: 600_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`measure-fetch failed: ${stdout}${stderr}`));
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Measurement);
      },
    );
  });
}

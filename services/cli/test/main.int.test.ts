import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  firstChunk: number;
}

/**
 * Runs `pksync <args>` with its stdout piped into a reader that takes one chunk and then closes
 * the pipe, as `pksync … | head -c 1000` does.
 */
function runIntoClosingReader(args: string[]): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let firstChunk = 0;
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.once('data', (d: Buffer) => {
      firstChunk = d.length;
      child.stdout.destroy();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr, firstChunk }));
  });
}

describe('pksync main', () => {
  let bigFile: string;
  beforeAll(async () => {
    // Far more output than a pipe buffers (64 KiB), so the command is still writing when the
    // reader goes away.
    const dir = await mkdtemp(path.join(tmpdir(), 'pksync-cli-'));
    bigFile = path.join(dir, 'big.csv');
    const rows = Array.from(
      { length: 3000 },
      (_, i) =>
        `19850312201001${String(1000 + i).padStart(4, '0')},Budi Santoso ${i},L,1985-03-12,Ahli Muda,III/c,Disnaker Palembang,16.71,2020-01-01,aktif`,
    );
    await writeFile(
      bigFile,
      ['NIP,Nama,JK,Tanggal Lahir,Jenjang,Golongan,Unit Kerja,Kode Wilayah,TMT,Status', ...rows].join('\n'),
    );
  });

  it('exits quietly with 0 when the reader of its output closes early (EPIPE)', async () => {
    const r = await runIntoClosingReader(['check', bigFile, '--region', '16.71', '--as-of', '2026-11-27', '--json']);
    expect(r.firstChunk).toBeGreaterThan(0);
    expect(r.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
  }, 60_000);
});

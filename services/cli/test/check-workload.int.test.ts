import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '@pksync/testing';
import { parametersInForceIn, runCheck } from '../src/commands/check.command.ts';

const sample = (name: string) => new URL(`../../../packages/connectors/samples/${name}`, import.meta.url).pathname;

// `pksync check` on workload (needs-planning-v1.md): activity codes are those of the parameter set
// in force on as_of in pksync's database (the shipped placeholder, loaded by migrate, from 2023).
describe('pksync check: workload activity codes from the parameter set in force', () => {
  const t = useTestDatabase();
  const lookup = (asOf: string) => parametersInForceIn(t.db, asOf);

  it('rejects an activity the parameter set in force does not know, naming the version', async () => {
    const r = await runCheck(sample('beban-kerja.xlsx'), {
      region: '16.71',
      asOf: '2026-11-27',
      needParameters: lookup,
    });
    expect(r.exitCode).toBe(1);
    expect(r.output).toContain(
      'Parameter kebutuhan: versi 2023-placeholder-1 (belum dikonfirmasi), berlaku pada 2026-11-27; kode kegiatan beban kerja diperiksa terhadapnya.',
    );
    expect(r.output).toContain('Ditolak: 1');
    expect(r.output).toMatch(
      / {2}Beban kerja \(lembar Beban_Kerja\):\n {4}Baris 4:\n {6}- Kegiatan: kode kegiatan "tidak_dikenal" tidak ada dalam parameter perhitungan kebutuhan\..*\[field_missing\]/,
    );
    const json = JSON.parse(
      (
        await runCheck(sample('beban-kerja.xlsx'), {
          region: '16.71',
          asOf: '2026-11-27',
          json: true,
          needParameters: lookup,
        })
      ).output,
    );
    expect(json.needParameters).toEqual({
      version: '2023-placeholder-1',
      status: 'unconfirmed',
      activityCodesChecked: true,
    });
    expect(json.workloads.map((w: { activity: string }) => w.activity)).toEqual([
      'pendaftaran_pencari_kerja',
      'penempatan_akad',
    ]);
  });

  it('leaves activity codes unchecked, and says so, when no parameter set is in force on as_of', async () => {
    const r = await runCheck(sample('beban-kerja.csv'), {
      region: '16.71',
      asOf: '2022-06-30',
      needParameters: lookup,
    });
    expect(r.output).toContain(
      'Tidak ada parameter perhitungan kebutuhan yang berlaku pada 2022-06-30: kode kegiatan beban kerja tidak diperiksa.',
    );
    // senam_pagi is kept; the bad year and the fractional volume are still rejected.
    expect(r.output).toContain('Diterima: 4 · Ditolak: 2');
  });

  it('as a command: asks the database of DATABASE_URL', async () => {
    const run = promisify(execFile);
    const main = new URL('../src/main.ts', import.meta.url).pathname;
    const args = ['tsx', main, 'check', sample('officers-utf8-bom.csv'), '--region', '16.71', '--as-of', '2026-11-27'];
    const env = { ...process.env, DATABASE_URL: t.url };
    const failed = await run('npx', [...args, '--workloads', sample('beban-kerja.csv')], { env }).catch(
      (e: { code: number; stdout: string }) => e,
    );
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stdout: string }).stdout).toContain('versi 2023-placeholder-1');
    expect((failed as { stdout: string }).stdout).toContain('kode kegiatan "senam_pagi" tidak ada');
    // A database that cannot be reached: the check still runs, its activity codes unchecked.
    const offline = await run('npx', [...args, '--workloads', sample('beban-kerja.csv')], {
      env: { ...env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
    }).catch((e: { code: number; stdout: string }) => e);
    expect(offline).toMatchObject({ code: 1 });
    expect((offline as { stdout: string }).stdout).toMatch(
      /Parameter perhitungan kebutuhan tidak dapat dibaca dari basis data pksync \(.+\): kode kegiatan beban kerja tidak diperiksa\./,
    );
  }, 60_000);
});

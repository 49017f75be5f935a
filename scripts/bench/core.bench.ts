/**
 * `pnpm bench:core`: normalises 1,000,000 generated officer records in one process and prints
 * records/s and peak memory; then feeds a whole 200,000-record snapshot (the spec's row limit)
 * through SnapshotNormaliser, R7 included. Target: ≥ 200,000 records/s on a 2-core machine.
 *
 * Records are drawn from a pool of 50,000 generated ones written the ways agencies write them
 * (separators in NIPs, titles in names, Indonesian dates, level and grade aliases, ~5% broken), so
 * generation is not part of the timing.
 */
import { normaliseOfficer, SnapshotNormaliser, type RawRecord } from '../../packages/core/src/index.ts';

const TOTAL = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const SNAPSHOT = 200_000;
const POOL = 50_000;
const AS_OF = '2026-11-27';
const ctx = { sourceRegion: '16.71', asOf: AS_OF, position: 0 };

// Deterministic PRNG so runs are comparable.
let seed = 42;
const rand = (n: number): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  // The high bits: an LCG's low bits repeat with a short period.
  return (seed >>> 12) % n;
};
const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

const MONTHS = [
  'Januari',
  'Februari',
  'Maret',
  'April',
  'Mei',
  'Juni',
  'Juli',
  'Agustus',
  'September',
  'Oktober',
  'November',
  'Desember',
];
const FIRST = ['Budi', 'Siti', 'Ahmad', 'Dewi', 'Rina', 'Agus', 'Sri', 'Joko', 'Putri', 'Hendra'];
const LAST = ['Santoso', 'Aminah', 'Wijaya', 'Lestari', 'Marlina', 'Saputra', 'Rahayu', 'Hidayat'];
const LEVELS = [
  ['ahli_pertama', 'III/a'],
  ['Ahli Muda', 'IIIc'],
  ['Pengantar Kerja Ahli Madya', '4/a'],
  ['Utama', 'IV-d'],
  ['ahli pertama', 'III/b'],
] as const;
const STATUSES = ['aktif', 'Aktif', 'cuti', 'Tugas Belajar', 'pensiun'];

function formatDate(y: number, m: number, d: number): string {
  switch (rand(4)) {
    case 0:
      return `${y}-${pad(m)}-${pad(d)}`;
    case 1:
      return `${pad(d)}-${pad(m)}-${y}`;
    case 2:
      return `${pad(d)}/${pad(m)}/${y}`;
    default:
      return `${d} ${MONTHS[m - 1]} ${y}`;
  }
}

function makeRecord(i: number): RawRecord {
  const y = 1960 + rand(40);
  const m = 1 + rand(12);
  const d = 1 + rand(28);
  const g = 1 + rand(2);
  const tmtYear = y + 18 + rand(8);
  const nipCore = `${y}${pad(m)}${pad(d)}${tmtYear}${pad(1 + rand(12))}${g}${pad(i % 1000, 3)}`;
  const nip = pick([
    nipCore,
    `${nipCore.slice(0, 8)} ${nipCore.slice(8, 14)} ${nipCore.slice(14, 15)} ${nipCore.slice(15)}`,
  ]);
  const [level, grade] = pick(LEVELS);
  const rec: RawRecord = {
    nip: rand(20) === 0 ? nip.slice(1) : nip, // ~5% broken NIPs
    nama: pick(['', 'Dr. ', 'H. ']) + `${pick(FIRST)} ${pick(LAST)}` + pick(['', ', S.E.', ', S.Kom., M.M.']),
    // Mostly consistent with the NIP, 10% contradicting it (an R2 warning).
    jenis_kelamin: (rand(10) === 0 ? g === 2 : g === 1) ? pick(['L', 'Laki-laki', 'M']) : pick(['P', 'Perempuan', 'F']),
    tanggal_lahir: formatDate(y, m, d),
    jenjang: level,
    golongan: grade,
    unit_kerja: 'Dinas Tenaga Kerja Kota Palembang',
    kode_wilayah: pick(['16.71', '1671', '']),
    tmt_jabatan: formatDate(2010 + rand(16), 1 + rand(12), 1 + rand(28)),
    status: pick(STATUSES),
    email: 'pejabat@example.go.id',
    telepon: '0812-3456-7890',
  };
  return rec;
}

/** User + system CPU seconds (includes GC threads, so it can exceed wall time). */
function cpuOf(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

let peakHeap = 0;
const sampleHeap = () => {
  const h = process.memoryUsage().heapUsed;
  if (h > peakHeap) peakHeap = h;
};

const pool = Array.from({ length: POOL }, (_, i) => makeRecord(i));

// Warm-up so the JIT has compiled the hot path before timing.
for (let i = 0; i < 20_000; i++) normaliseOfficer(pool[i % POOL]!, ctx);

let accepted = 0;
let rejected = 0;
// CPU time too: on a shared machine wall-clock throughput depends on what else runs.
let cpu = process.cpuUsage();
let start = process.hrtime.bigint();
for (let i = 0; i < TOTAL; i++) {
  ctx.position = i + 2;
  const r = normaliseOfficer(pool[i % POOL]!, ctx);
  if (r.ok) accepted++;
  else rejected++;
  if ((i & 0xffff) === 0) sampleHeap();
}
let seconds = Number(process.hrtime.bigint() - start) / 1e9;
let cpuSeconds = cpuOf(process.cpuUsage(cpu));
console.log(
  `normaliseOfficer: ${TOTAL.toLocaleString('en')} records in ${seconds.toFixed(2)} s = ${Math.round(TOTAL / seconds).toLocaleString('en')} records/s wall, ${Math.round(TOTAL / cpuSeconds).toLocaleString('en')} records per CPU-second (accepted ${accepted}, rejected ${rejected})`,
);

// A whole snapshot at the spec's row limit, with unique NIPs, through SnapshotNormaliser (R7 in finish()).
const snapshotRecords = Array.from({ length: SNAPSHOT }, (_, i) => {
  const r = makeRecord(i);
  const base = String(r.nip).replace(/\D/g, '');
  if (base.length === 18) {
    // Unique NIP per record (birth month/day and sequence from i), so R7 sees no accidental duplicates.
    const m = 1 + (Math.floor(i / 28_000) % 12);
    const d = 1 + (Math.floor(i / 1000) % 28);
    r.nip = `${base.slice(0, 4)}${pad(m)}${pad(d)}${base.slice(8, 15)}${pad(i % 1000, 3)}`;
    r.tanggal_lahir = `${pad(d)}-${pad(m)}-${base.slice(0, 4)}`;
  }
  return r;
});
// 1% real duplicates, as agencies send them.
for (let i = 0; i < SNAPSHOT / 100; i++) snapshotRecords[rand(SNAPSHOT)] = { ...snapshotRecords[rand(SNAPSHOT)]! };
sampleHeap();
// The same records through normaliseOfficer alone, to separate per-record cost from R7 and retention.
start = process.hrtime.bigint();
for (let i = 0; i < SNAPSHOT; i++) normaliseOfficer(snapshotRecords[i]!, ctx);
seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log(
  `normaliseOfficer over the snapshot's ${SNAPSHOT.toLocaleString('en')} distinct records: ${Math.round(SNAPSHOT / seconds).toLocaleString('en')} records/s`,
);
cpu = process.cpuUsage();
start = process.hrtime.bigint();
const snapshot = new SnapshotNormaliser({ sourceRegion: '16.71', asOf: AS_OF });
for (let i = 0; i < SNAPSHOT; i++) {
  snapshot.addOfficer(snapshotRecords[i]!, i + 2);
  if ((i & 0xffff) === 0) sampleHeap();
}
const result = snapshot.finish();
sampleHeap();
seconds = Number(process.hrtime.bigint() - start) / 1e9;
cpuSeconds = cpuOf(process.cpuUsage(cpu));
console.log(
  `SnapshotNormaliser: ${SNAPSHOT.toLocaleString('en')} records in ${seconds.toFixed(2)} s = ${Math.round(SNAPSHOT / seconds).toLocaleString('en')} records/s wall, ${Math.round(SNAPSHOT / cpuSeconds).toLocaleString('en')} per CPU-second (accepted ${result.stats.accepted}, rejected ${result.stats.rejected}, duplicates ${result.stats.duplicates}, findings ${result.findings.length})`,
);
console.log(`peak memory: rss ${mb(process.resourceUsage().maxRSS * 1024)}, heap used ${mb(peakHeap)}`);

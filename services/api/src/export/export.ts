import { PassThrough, Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { copyOfficersCsv, streamOfficers, type Db, type OfficerFilter, type OfficerView } from '@pksync/db';
import { canSeeProvince, type Caller } from '../auth.ts';
import { neutraliseCell, xlsxText } from './neutralise.ts';

export type ExportFormat = 'csv' | 'json' | 'xlsx';

/** Export columns, named as in the exchange format (exchange-format-v1.md) so a file can be read back. */
const COLUMNS: { name: string; personal: boolean; get(o: OfficerView): string | boolean | null }[] = [
  { name: 'nip', personal: true, get: (o) => o.nip },
  { name: 'nama', personal: false, get: (o) => o.name },
  { name: 'jenis_kelamin', personal: false, get: (o) => o.gender },
  { name: 'tanggal_lahir', personal: true, get: (o) => o.birthDate },
  { name: 'jenjang', personal: false, get: (o) => o.level },
  { name: 'golongan', personal: false, get: (o) => o.grade },
  { name: 'unit_kerja', personal: false, get: (o) => o.unit },
  { name: 'kode_wilayah', personal: false, get: (o) => o.regionCode },
  { name: 'kode_provinsi', personal: false, get: (o) => o.provinceCode },
  { name: 'tmt_jabatan', personal: false, get: (o) => o.tmtJabatan },
  { name: 'status', personal: false, get: (o) => o.status },
  { name: 'aktif', personal: false, get: (o) => o.active },
  { name: 'email', personal: true, get: (o) => o.email },
  { name: 'telepon', personal: true, get: (o) => o.phone },
];

export interface ExportRequest {
  format: ExportFormat;
  filter: OfficerFilter;
  version?: number;
  /** Decides the columns and, row by row, whether personal fields are filled. */
  caller: Caller;
  batchSize?: number;
}

export interface ExportStream {
  /** The version being exported (known before the first byte). */
  version: number;
  contentType: string;
  extension: string;
  /** The file, produced batch by batch as the reader pulls. */
  stream: Readable;
  /** Rows written so far (final once the stream has ended). */
  rows(): number;
}

/**
 * Starts an export of the register and returns its stream once the version is known (so a bad
 * version fails before any byte is sent). CSV is UTF-8 with a BOM (Excel reads it right), written
 * by PostgreSQL (`COPY`, LF lines); CSV and XLSX cells that start with `=`, `+`, `-`, `@`, tab or CR are neutralised; JSON is
 * the data as stored. Memory stays flat: rows are read in batches from one snapshot.
 *
 * @throws VersionNotFoundError for a version never published.
 */
export async function openExport(db: Db, req: ExportRequest): Promise<ExportStream> {
  if (req.format === 'csv') return openCsvExport(db, req);
  let version = 0;
  const it = streamOfficers(db, req.filter, {
    version: req.version,
    batchSize: req.batchSize ?? 5000,
    onVersion: (v) => (version = v),
  });
  // The first batch is read now: the version is then known and a bad one throws before any byte.
  const first = await it.next();
  const caller = req.caller;
  const full = caller.role !== 'public';
  const columns = full ? COLUMNS : COLUMNS.filter((c) => !c.personal);
  let count = 0;
  const cells = (o: OfficerView): (string | boolean | null)[] => {
    const mine = full && canSeeProvince(caller, o.provinceCode);
    return columns.map((c) => (c.personal && !mine ? null : c.get(o)));
  };
  async function* batches(): AsyncGenerator<OfficerView[]> {
    try {
      if (!first.done) yield first.value;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield n.value;
      }
    } finally {
      await it.return(undefined);
    }
  }

  if (req.format === 'json') {
    async function* json(): AsyncGenerator<Buffer> {
      yield Buffer.from(`{"version":${version},"data":[`, 'utf8');
      let sep = '\n';
      for await (const batch of batches()) {
        let out = '';
        for (const o of batch) {
          const row = cells(o);
          const obj: Record<string, string | boolean | null> = {};
          for (let i = 0; i < columns.length; i++) obj[columns[i]!.name] = row[i] ?? null;
          out += sep + JSON.stringify(obj);
          sep = ',\n';
        }
        count += batch.length;
        yield Buffer.from(out, 'utf8');
      }
      yield Buffer.from('\n]}\n', 'utf8');
    }
    return {
      version,
      contentType: 'application/json; charset=utf-8',
      extension: 'json',
      stream: Readable.from(json()),
      rows: () => count,
    };
  }

  // XLSX: exceljs's streaming writer, without shared strings, so memory does not grow with rows.
  const out = new PassThrough();
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: false, useStyles: false });
  const sheet = wb.addWorksheet('pejabat');
  void (async () => {
    try {
      sheet.addRow(columns.map((c) => c.name)).commit();
      for await (const batch of batches()) {
        for (const o of batch) {
          // Every text cell is written as a string (never a formula) and neutralised as in CSV.
          sheet.addRow(cells(o).map((v) => (typeof v === 'string' ? xlsxText(neutraliseCell(v)) : v))).commit();
        }
        count += batch.length;
        // exceljs ignores back-pressure: rows would pile up in the zip's entry stream while it
        // deflates or the reader is slow. Wait until what was written so far has been taken.
        await drainSheet(sheet);
        if (out.destroyed) throw new Error('export reader went away');
      }
      sheet.commit();
      await wb.commit();
    } catch (e) {
      out.destroy(e as Error);
    }
  })();
  return {
    version,
    contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    extension: 'xlsx',
    stream: out,
    rows: () => count,
  };
}

/**
 * CSV is written by PostgreSQL itself (`COPY`, see `copyOfficersCsv`): the same columns and
 * neutralisation, at the speed of the database, with a BOM in front so Excel reads UTF-8.
 */
async function openCsvExport(db: Db, req: ExportRequest): Promise<ExportStream> {
  const c = req.caller;
  const personal =
    c.role === 'admin' ? 'all' : c.role === 'province' && c.provinceCode ? { provinceCode: c.provinceCode } : 'none';
  const copy = await copyOfficersCsv(db, req.filter, { version: req.version, personal });
  const out = new PassThrough();
  out.write(Buffer.from('\uFEFF', 'utf8'));
  copy.stream.on('error', (e) => out.destroy(e));
  // The reader going away stops the COPY (and frees its connection).
  out.on('close', () => {
    if (!copy.stream.readableEnded) copy.stream.destroy();
  });
  copy.stream.pipe(out);
  return {
    version: copy.version,
    contentType: 'text/csv; charset=utf-8',
    extension: 'csv',
    stream: out,
    rows: () => copy.rowCount(),
  };
}

/**
 * Resolves once the streams an exceljs sheet writes into (its StreamBuf's pipes: the zip entry)
 * have processed everything written so far: an empty write's callback comes after the queued ones.
 */
async function drainSheet(sheet: unknown): Promise<void> {
  const pipes = (sheet as { stream?: { pipes?: { write(b: Buffer, cb: () => void): boolean }[] } }).stream?.pipes;
  if (!Array.isArray(pipes)) return;
  await Promise.all(pipes.map((p) => new Promise<void>((resolve) => p.write(Buffer.alloc(0), () => resolve()))));
}

import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { inflateRaw } from 'node:zlib';
import { ApiError } from '../errors.ts';

const inflateRawAsync = promisify(inflateRaw) as (buf: Buffer, opts: { maxOutputLength: number }) => Promise<Buffer>;

export type SniffedFormat = 'csv' | 'xlsx' | 'json';

export interface SniffLimits {
  /** Total bytes the workbook may inflate to (all entries). */
  maxInflatedBytes: number;
  /** Inflated/compressed ratio above which an entry is a zip bomb. */
  maxRatio: number;
  maxEntries: number;
}

export const DEFAULT_SNIFF_LIMITS: SniffLimits = {
  maxInflatedBytes: 512 * 1024 * 1024,
  maxRatio: 200,
  maxEntries: 5000,
};

const unparseable = (message: string) => new ApiError(422, 'unparseable_file', message);
const unsupported = (message: string) => new ApiError(415, 'unsupported_media_type', message);

const BINARY_MAGIC: [number[], string][] = [
  [[0x25, 0x50, 0x44, 0x46], 'PDF'],
  [[0x89, 0x50, 0x4e, 0x47], 'PNG'],
  [[0xff, 0xd8, 0xff], 'JPEG'],
  [[0x1f, 0x8b], 'gzip'],
  [[0x7f, 0x45, 0x4c, 0x46], 'ELF'],
  [[0x4d, 0x5a], 'EXE'],
  [[0x52, 0x61, 0x72, 0x21], 'RAR'],
  [[0x37, 0x7a, 0xbc, 0xaf], '7z'],
  [[0xd0, 0xcf, 0x11, 0xe0], 'Excel 97-2003 (.xls)'],
];

/**
 * Tells what a file really is from its content, never its name or declared type: an XLSX
 * workbook (a ZIP whose entries are checked for a workbook and inflated under limits, so a zip
 * bomb or a ZIP that is not a workbook is refused before any parser sees it), JSON, or CSV text
 * (no NUL bytes outside UTF-16, no known binary signature).
 *
 * @throws ApiError 415 for a type that is not CSV/XLSX(/JSON), 422 for a broken or hostile workbook.
 */
export async function sniffFile(filePath: string, limits: SniffLimits = DEFAULT_SNIFF_LIMITS): Promise<SniffedFormat> {
  const fh = await open(filePath, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(size, 64 * 1024));
    await fh.read(head, 0, head.length, 0);
    if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
      await checkWorkbook(fh, size, limits);
      return 'xlsx';
    }
    if (head[0] === 0x50 && head[1] === 0x4b)
      throw unparseable('Berkas ZIP tidak sah atau kosong; bukan buku kerja XLSX.');
    for (const [magic, name] of BINARY_MAGIC) {
      if (magic.every((b, i) => head[i] === b)) {
        throw unsupported(`Berkas ini ${name}, bukan CSV atau XLSX. Simpan data sebagai .csv atau .xlsx.`);
      }
    }
    const utf16 = (head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff);
    if (!utf16 && head.includes(0)) throw unsupported('Berkas berisi data biner, bukan teks CSV atau buku kerja XLSX.');
    let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
    while (i < head.length && [0x20, 0x09, 0x0a, 0x0d].includes(head[i]!)) i++;
    if (head[i] === 0x7b || head[i] === 0x5b) return 'json';
    return 'csv';
  } finally {
    await fh.close();
  }
}

type Handle = Awaited<ReturnType<typeof open>>;

async function readAt(fh: Handle, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  const { bytesRead } = await fh.read(buf, 0, len, pos);
  return buf.subarray(0, bytesRead);
}

/** Reads the ZIP central directory, requires a workbook, and inflates every entry under limits. */
async function checkWorkbook(fh: Handle, size: number, limits: SniffLimits): Promise<void> {
  // End of central directory: the last 22 bytes, or up to 64 KiB earlier with a comment.
  const tailLen = Math.min(size, 22 + 0xffff);
  const tail = await readAt(fh, size - tailLen, tailLen);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw unparseable('Berkas XLSX rusak: akhir arsip ZIP tidak ditemukan.');
  const entries = tail.readUInt16LE(eocd + 10);
  const cdSize = tail.readUInt32LE(eocd + 12);
  const cdOffset = tail.readUInt32LE(eocd + 16);
  if (entries === 0xffff || cdOffset === 0xffffffff) throw unparseable('Berkas XLSX tidak sah (ZIP64 tidak didukung).');
  if (entries > limits.maxEntries) throw unparseable(`Berkas XLSX berisi terlalu banyak bagian (${entries}).`);
  if (cdOffset + cdSize > size) throw unparseable('Berkas XLSX rusak: direktori ZIP di luar berkas.');
  const cd = await readAt(fh, cdOffset, cdSize);
  const names = new Set<string>();
  let total = 0;
  let p = 0;
  for (let n = 0; n < entries; n++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50)
      throw unparseable('Berkas XLSX rusak: direktori ZIP tidak sah.');
    const method = cd.readUInt16LE(p + 10);
    const compressed = cd.readUInt32LE(p + 20);
    const declared = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const local = cd.readUInt32LE(p + 42);
    const name = cd.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    p += 46 + nameLen + extraLen + commentLen;
    names.add(name);
    if (declared > 0 && compressed > 0 && declared / compressed > limits.maxRatio) {
      throw unparseable(
        `Berkas XLSX ditolak: bagian "${name.slice(0, 60)}" mengembang terlalu besar (kemungkinan zip bomb).`,
      );
    }
    total += declared;
    if (total > limits.maxInflatedBytes)
      throw unparseable('Berkas XLSX ditolak: isi terurai melebihi batas (kemungkinan zip bomb).');
    if (method !== 0 && method !== 8)
      throw unparseable(`Berkas XLSX memakai metode kompresi yang tidak didukung (${method}).`);
    // Inflate for real, capped at the declared size: a header that lies about sizes is caught too.
    const lh = await readAt(fh, local, 30);
    if (lh.length < 30 || lh.readUInt32LE(0) !== 0x04034b50)
      throw unparseable('Berkas XLSX rusak: bagian ZIP tidak sah.');
    const dataStart = local + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
    if (dataStart + compressed > size) throw unparseable('Berkas XLSX rusak: bagian ZIP terpotong.');
    if (method === 8 && compressed > 0) {
      const data = await readAt(fh, dataStart, compressed);
      try {
        await inflateRawAsync(data, { maxOutputLength: Math.max(declared, 1) });
      } catch (e) {
        const tooBig = e instanceof RangeError || (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
        throw unparseable(
          tooBig
            ? `Berkas XLSX ditolak: bagian "${name.slice(0, 60)}" lebih besar dari yang dinyatakan (kemungkinan zip bomb).`
            : `Berkas XLSX rusak: bagian "${name.slice(0, 60)}" tidak dapat diurai.`,
        );
      }
    }
  }
  if (!names.has('[Content_Types].xml') || !names.has('xl/workbook.xml')) {
    throw unparseable('Berkas ZIP ini bukan buku kerja Excel (.xlsx): tidak ada xl/workbook.xml.');
  }
}

import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createInflateRaw } from 'node:zlib';
import { FileFormatError } from './file-format-error.ts';

/**
 * A minimal, defensive reader for the ZIP container of an XLSX workbook: it reads the central
 * directory (at the end of the file) and inflates only the parts asked for, one at a time, as
 * text, counting every byte it produces. It exists because a streaming unzip that reads the file
 * front to back must take parts in whatever order the writer stored them (Excel and ExcelJS store
 * `sharedStrings.xml`, `styles.xml` or `workbook.xml` after the sheets, which forces the sheets to
 * be spooled to disk first), and because a hostile file (a "zip bomb") must be stopped by a budget
 * rather than by running out of memory or disk.
 */

/** One file inside the archive, as the central directory describes it. */
export interface ZipEntry {
  /** The name as stored (`xl/worksheets/sheet1.xml`). */
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  compressedSize: number;
  /** What the directory claims; checked while inflating (a larger output is a hostile file). */
  uncompressedSize: number;
  localHeaderOffset: number;
}

/**
 * Limits on what may be inflated, shared by every part read from one workbook so that the total
 * is bounded too.
 */
export interface InflateBudget {
  /** Bytes inflated so far (all parts). */
  used: number;
  /** Most bytes that may be inflated in total. */
  max: number;
}

/**
 * Highest inflated/compressed size ratio accepted for a part larger than {@link RATIO_GRACE_BYTES}.
 * Real worksheets compress 5–20×; deflate's ceiling is about 1032×, which is what bombs use.
 * Apache POI's `ZipSecureFile` uses the same default (minimum inflate ratio 0.01).
 */
export const MAX_INFLATE_RATIO = 100;
/** Small parts may compress better than {@link MAX_INFLATE_RATIO} (a mostly empty `styles.xml`). */
export const RATIO_GRACE_BYTES = 1024 * 1024;
/**
 * Longest stretch of XML text without a `<` (one tag with its attributes, or one text node).
 * Excel caps a cell at 32,767 characters (under 200 KB even with every character escaped), so a
 * longer stretch is not a spreadsheet, and it would otherwise be buffered whole by the XML parser.
 */
export const MAX_MARKUP_RUN = 1024 * 1024;

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
/** An XLSX holds dozens of parts; a directory of thousands is not a workbook. */
const MAX_ENTRIES = 10_000;
const MAX_DIRECTORY_BYTES = 16 * 1024 * 1024;

/**
 * `unparseable_file` for a workbook that cannot be read: `why` in English for logs, `userDetail`
 * (Bahasa Indonesia) when the provincial officer can act on the reason.
 */
export function notAWorkbook(why: string, cause?: unknown, userDetail?: string): FileFormatError {
  const user = 'berkas bukan buku kerja Excel (XLSX) yang dapat dibaca';
  return new FileFormatError(
    'unparseable_file',
    `not a readable XLSX workbook: ${why}`,
    userDetail ? `${user}: ${userDetail}` : user,
    cause === undefined ? undefined : { cause },
  );
}

export function inflatedTooLarge(what: string): FileFormatError {
  return new FileFormatError(
    'payload_too_large',
    `workbook expands to too much data when unpacked (${what}); refusing a possible zip bomb`,
    'isi buku kerja terlalu besar setelah dibuka (kemungkinan berkas "zip bomb"); kurangi jumlah data atau periksa berkasnya',
  );
}

/** The container's bytes: a file (read where needed), or a buffer already in memory. */
interface ByteSource {
  size: number;
  /** Up to `length` bytes from `position` (fewer at the end). */
  read(position: number, length: number): Promise<Buffer>;
  /** Bytes `start`..`end` (inclusive) as a stream. */
  stream(start: number, end: number): Readable;
  close(): Promise<void>;
}

async function fileSource(filePath: string): Promise<ByteSource> {
  const handle: FileHandle = await open(filePath, 'r').catch((e: unknown) => {
    throw notAWorkbook(`cannot open the file: ${(e as Error).message}`, e);
  });
  try {
    const { size } = await handle.stat();
    return {
      size,
      read: async (position, length) => {
        const buf = Buffer.alloc(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(buf, done, length - done, position + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return buf.subarray(0, done);
      },
      stream: (start, end) => createReadStream(filePath, { start, end, highWaterMark: READ_CHUNK }),
      close: () => handle.close(),
    };
  } catch (e) {
    await handle.close();
    throw notAWorkbook(`cannot read the file: ${(e as Error).message}`, e);
  }
}

/** Bytes read (or handed on) at a time; below {@link MAX_MARKUP_RUN}. */
const READ_CHUNK = 256 * 1024;

function* chunksOf(buf: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < buf.length; at += size) yield buf.subarray(at, at + size);
}

function bufferSource(buf: Buffer): ByteSource {
  return {
    size: buf.length,
    read: async (position, length) => buf.subarray(position, position + length),
    // In chunks as a file is read: checkRun sees a chunk's inside only through its ends, so no
    // chunk may be longer than MAX_MARKUP_RUN.
    stream: (start, end) => Readable.from(chunksOf(buf.subarray(start, end + 1), READ_CHUNK)),
    close: async () => {},
  };
}

async function readAt(src: ByteSource, position: number, length: number): Promise<Buffer> {
  const buf = await src.read(position, length);
  if (buf.length < length) throw notAWorkbook('the ZIP container is truncated');
  return buf;
}

/** A 64-bit little-endian size as a safe JS number (a larger one cannot be a real workbook). */
function u64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw notAWorkbook('a ZIP64 size is out of range');
  return Number(v);
}

interface DirectoryLocation {
  offset: number;
  size: number;
  count: number;
}

async function locateDirectory(handle: ByteSource, fileSize: number): Promise<DirectoryLocation> {
  if (fileSize < EOCD_SIZE) throw notAWorkbook('the file is too short to be a ZIP container');
  const tailSize = Math.min(fileSize, EOCD_SIZE + MAX_COMMENT);
  const tailStart = fileSize - tailSize;
  const tail = await readAt(handle, tailStart, tailSize);
  let at = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
      at = i;
      break;
    }
  }
  if (at < 0) throw notAWorkbook('no ZIP central directory (the file is damaged or not a workbook)');
  let count = tail.readUInt16LE(at + 10);
  let size = tail.readUInt32LE(at + 12);
  let offset = tail.readUInt32LE(at + 16);
  if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    // ZIP64: the real values are in the ZIP64 end record, found through the locator just before.
    const locatorAt = tailStart + at - 20;
    if (locatorAt < 0) throw notAWorkbook('a ZIP64 locator is missing');
    const locator = await readAt(handle, locatorAt, 20);
    if (locator.readUInt32LE(0) !== ZIP64_LOCATOR_SIGNATURE) throw notAWorkbook('a ZIP64 locator is missing');
    const recordAt = u64(locator, 8);
    if (recordAt + 56 > fileSize) throw notAWorkbook('a ZIP64 end record is out of range');
    const record = await readAt(handle, recordAt, 56);
    if (record.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE) throw notAWorkbook('a ZIP64 end record is missing');
    count = u64(record, 32);
    size = u64(record, 40);
    offset = u64(record, 48);
  }
  if (count > MAX_ENTRIES) throw notAWorkbook(`the ZIP container lists ${count} files`);
  if (size > MAX_DIRECTORY_BYTES || offset + size > fileSize)
    throw notAWorkbook('the ZIP central directory is out of range');
  return { offset, size, count };
}

function parseDirectory(dir: Buffer, count: number): ZipEntry[] {
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== CENTRAL_SIGNATURE) {
      throw notAWorkbook('the ZIP central directory is damaged');
    }
    const flags = dir.readUInt16LE(p + 8);
    const method = dir.readUInt16LE(p + 10);
    let compressedSize = dir.readUInt32LE(p + 20);
    let uncompressedSize = dir.readUInt32LE(p + 24);
    const nameLength = dir.readUInt16LE(p + 28);
    const extraLength = dir.readUInt16LE(p + 30);
    const commentLength = dir.readUInt16LE(p + 32);
    let localHeaderOffset = dir.readUInt32LE(p + 42);
    const end = p + 46 + nameLength + extraLength + commentLength;
    if (end > dir.length) throw notAWorkbook('the ZIP central directory is damaged');
    // Part names of a workbook are ASCII; bit 11 marks UTF-8, otherwise CP437 (same for ASCII).
    const name = dir.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLength);
    // ZIP64 extra field (id 1): 64-bit values, present only for the fields saturated above.
    let x = p + 46 + nameLength;
    const xEnd = x + extraLength;
    while (x + 4 <= xEnd) {
      const id = dir.readUInt16LE(x);
      const len = dir.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        const take = () => {
          if (q + 8 > x + 4 + len) throw notAWorkbook('a ZIP64 extra field is too short');
          const v = u64(dir, q);
          q += 8;
          return v;
        };
        if (uncompressedSize === 0xffffffff) uncompressedSize = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
      }
      x += 4 + len;
    }
    if (flags & 0x1)
      throw notAWorkbook(`part ${name} is encrypted`, undefined, 'berkas terenkripsi; simpan ulang tanpa kata sandi');
    entries.push({ name, method, compressedSize, uncompressedSize, localHeaderOffset });
    p = end;
  }
  return entries;
}

/** Normalised part name for look-ups: OPC part names compare case-insensitively, without a leading `/`. */
export function partKey(name: string): string {
  return name.replace(/^\/+/, '').toLowerCase();
}

/** An open ZIP container: the directory in memory, parts read on demand. Close it when done. */
export class ZipArchive {
  private constructor(
    private readonly handle: ByteSource,
    readonly fileSize: number,
    private readonly byKey: Map<string, ZipEntry>,
  ) {}

  /**
   * Opens the container — a file path, or its bytes already in memory — and reads its central
   * directory.
   *
   * @throws FileFormatError `unparseable_file` when it is not a readable ZIP container.
   */
  static async open(input: string | Buffer): Promise<ZipArchive> {
    const handle = typeof input === 'string' ? await fileSource(input) : bufferSource(input);
    try {
      const fileSize = handle.size;
      const loc = await locateDirectory(handle, fileSize);
      const entries = parseDirectory(await readAt(handle, loc.offset, loc.size), loc.count);
      const byKey = new Map<string, ZipEntry>();
      for (const e of entries) byKey.set(partKey(e.name), e);
      return new ZipArchive(handle, fileSize, byKey);
    } catch (e) {
      await handle.close();
      if (e instanceof FileFormatError) throw e;
      throw notAWorkbook((e as Error).message, e);
    }
  }

  /** The part called `name` (case-insensitive, leading `/` ignored), if the archive has it. */
  entry(name: string): ZipEntry | undefined {
    return this.byKey.get(partKey(name));
  }

  /** Every part in the directory (one per case-insensitive name), e.g. to inflate them all as a check. */
  entries(): ZipEntry[] {
    return [...this.byKey.values()];
  }

  /** Releases the file (if any). Streams already started keep their own descriptors. */
  close(): Promise<void> {
    return this.handle.close();
  }

  /**
   * Rejects a part whose declared size is beyond the budget or whose declared ratio is that of a
   * bomb, before inflating anything. The same limits are enforced again while inflating, because
   * the directory of a hostile file may lie.
   */
  checkDeclared(entry: ZipEntry, budget: InflateBudget, partMax = Infinity): void {
    if (entry.method !== 0 && entry.method !== 8) {
      throw notAWorkbook(`part ${entry.name} uses unsupported compression method ${entry.method}`);
    }
    if (entry.localHeaderOffset + 30 + entry.compressedSize > this.fileSize) {
      throw notAWorkbook(`part ${entry.name} lies outside the file`);
    }
    if (budget.used + entry.uncompressedSize > budget.max || entry.uncompressedSize > partMax) {
      throw inflatedTooLarge(`${entry.name} declares ${entry.uncompressedSize} bytes`);
    }
    if (
      entry.uncompressedSize > RATIO_GRACE_BYTES &&
      entry.uncompressedSize > MAX_INFLATE_RATIO * Math.max(1, entry.compressedSize)
    ) {
      throw inflatedTooLarge(
        `${entry.name} declares ${entry.uncompressedSize} bytes from ${entry.compressedSize} compressed`,
      );
    }
  }

  private async dataStart(entry: ZipEntry): Promise<number> {
    const local = await readAt(this.handle, entry.localHeaderOffset, 30);
    if (local.readUInt32LE(0) !== LOCAL_SIGNATURE) throw notAWorkbook(`part ${entry.name} has no local header`);
    const start = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    if (start + entry.compressedSize > this.fileSize) throw notAWorkbook(`part ${entry.name} lies outside the file`);
    return start;
  }

  /**
   * The part's content as UTF-8 text, chunk by chunk (decoded across chunk boundaries, so a
   * character split between two chunks stays whole). Every inflated byte is charged to `budget`;
   * the part fails with `payload_too_large` past the budget or the ratio limit, and with
   * `unparseable_file` when it inflates to more than its directory entry declares, is damaged, or
   * has a stretch of text longer than {@link MAX_MARKUP_RUN} without markup. `partMax` caps this
   * part alone (within the budget).
   */
  async *text(entry: ZipEntry, budget: InflateBudget, partMax = Infinity): AsyncGenerator<string> {
    this.checkDeclared(entry, budget, partMax);
    const start = await this.dataStart(entry);
    if (entry.compressedSize === 0) return;
    const raw = this.handle.stream(start, start + entry.compressedSize - 1);
    let source: AsyncIterable<Buffer> = raw;
    if (entry.method === 8) {
      const inflate = createInflateRaw({ chunkSize: 64 * 1024 });
      // pipeline destroys both streams when either fails or the consumer stops early.
      source = pipeline(raw, inflate, () => {});
    }
    const decoder = new StringDecoder('utf8');
    let inflated = 0;
    let run = 0;
    try {
      for await (const chunk of source) {
        inflated += chunk.length;
        budget.used += chunk.length;
        if (inflated > entry.uncompressedSize) {
          throw notAWorkbook(
            `part ${entry.name} inflates to more than the ${entry.uncompressedSize} bytes it declares`,
            undefined,
            'isinya lebih besar dari yang dinyatakan berkas itu sendiri (rusak, atau kemungkinan "zip bomb")',
          );
        }
        if (budget.used > budget.max) throw inflatedTooLarge(`more than ${budget.max} bytes in all`);
        if (inflated > partMax) throw inflatedTooLarge(`${entry.name} is over ${partMax} bytes`);
        const text = decoder.write(chunk);
        run = checkRun(text, run, entry.name);
        if (text !== '') yield text;
      }
      const rest = decoder.end();
      if (rest !== '') yield rest;
    } catch (e) {
      if (e instanceof FileFormatError) throw e;
      throw notAWorkbook(`part ${entry.name} is damaged: ${(e as Error).message}`, e);
    } finally {
      raw.destroy();
    }
  }
}

/** Tracks the stretch of text since the last `<` across chunks; see {@link MAX_MARKUP_RUN}. */
function checkRun(text: string, run: number, part: string): number {
  const first = text.indexOf('<');
  if (first < 0) {
    run += text.length;
  } else {
    if (run + first > MAX_MARKUP_RUN) run += first;
    else run = text.length - text.lastIndexOf('<') - 1;
  }
  if (run > MAX_MARKUP_RUN) {
    throw notAWorkbook(
      `part ${part} has a value longer than ${MAX_MARKUP_RUN} characters (Excel allows 32,767)`,
      undefined,
      'ada isian yang jauh lebih panjang dari batas Excel (32.767 karakter per sel)',
    );
  }
  return run;
}

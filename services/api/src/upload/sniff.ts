import { open } from 'node:fs/promises';
import {
  BINARY_SNIFF_BYTES,
  binaryContentError,
  FileFormatError,
  ZipArchive,
  type InflateBudget,
} from '@pksync/connectors';
import { ApiError } from '../errors.ts';

export type SniffedFormat = 'csv' | 'xlsx' | 'json';

/**
 * Limits of the workbook check. The per-part ratio and entry-count limits are those of
 * `ZipArchive` (`@pksync/connectors`), the one ZIP reader of the project.
 */
export interface SniffLimits {
  /** Total bytes the workbook may inflate to (all entries). */
  maxInflatedBytes: number;
}

export const DEFAULT_SNIFF_LIMITS: SniffLimits = {
  maxInflatedBytes: 512 * 1024 * 1024,
};

const unparseable = (message: string) => new ApiError(422, 'unparseable_file', message);
const unsupported = (message: string) => new ApiError(415, 'unsupported_media_type', message);

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
    const head = Buffer.alloc(Math.min(size, BINARY_SNIFF_BYTES));
    await fh.read(head, 0, head.length, 0);
    if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
      await checkWorkbook(filePath, limits);
      return 'xlsx';
    }
    if (head[0] === 0x50 && head[1] === 0x4b)
      throw unparseable('Berkas ZIP tidak sah atau kosong; bukan buku kerja XLSX.');
    // The same rule, and words, as `pksync check`: a binary file is refused by both.
    const binary = binaryContentError(head);
    if (binary) throw unsupported(`${binary.userMessage[0]!.toUpperCase()}${binary.userMessage.slice(1)}.`);
    let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
    while (i < head.length && [0x20, 0x09, 0x0a, 0x0d].includes(head[i]!)) i++;
    if (head[i] === 0x7b || head[i] === 0x5b) return 'json';
    return 'csv';
  } finally {
    await fh.close();
  }
}

/**
 * Opens the ZIP with `ZipArchive`, requires a workbook, and inflates every part under the
 * archive's limits (declared sizes and ratios first, then the real output, so a directory that
 * lies about sizes is caught too). Every failure is a 422 `unparseable_file`, as the sniffer has
 * always answered, whether the workbook is broken or a possible zip bomb.
 */
async function checkWorkbook(filePath: string, limits: SniffLimits): Promise<void> {
  let zip: ZipArchive | undefined;
  try {
    zip = await ZipArchive.open(filePath);
    if (!zip.entry('[Content_Types].xml') || !zip.entry('xl/workbook.xml')) {
      throw unparseable('Berkas ZIP ini bukan buku kerja Excel (.xlsx): tidak ada xl/workbook.xml.');
    }
    const budget: InflateBudget = { used: 0, max: limits.maxInflatedBytes };
    for (const entry of zip.entries()) {
      // Drain the part: only the byte count matters here, the parser reads it again.
      for await (const chunk of zip.text(entry, budget)) void chunk;
    }
  } catch (e) {
    if (e instanceof FileFormatError) {
      throw unparseable(
        e.code === 'payload_too_large'
          ? `Berkas XLSX ditolak: ${e.userMessage}.`
          : `Berkas XLSX rusak atau tidak dapat dibaca: ${e.userMessage}.`,
      );
    }
    throw e;
  } finally {
    await zip?.close();
  }
}

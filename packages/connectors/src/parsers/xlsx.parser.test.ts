import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDeflateRaw, deflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileFormatError } from './file-format-error.ts';
import { parseXlsx as parseXlsxInput } from './xlsx.parser.ts';
import { MAX_MARKUP_RUN } from './zip-archive.ts';

const sample = (name: string) => new URL(`../../samples/${name}`, import.meta.url).pathname;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function tempPath(name: string): Promise<string> {
  return path.join(await mkdtemp(path.join(tmpdir(), 'pksync-xlsx-')), name);
}

async function expectFileError(p: Promise<unknown>, codes: string[]): Promise<FileFormatError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(FileFormatError);
  expect(codes).toContain((e as FileFormatError).code);
  return e as FileFormatError;
}

/** One part of a hand-made ZIP: its bytes as stored, and the sizes its headers claim. */
interface Part {
  name: string;
  method: 0 | 8;
  stored: Buffer;
  declaredSize: number;
}

function textPart(name: string, xml: string, method: 0 | 8 = 8): Part {
  const raw = Buffer.from(xml, 'utf8');
  return { name, method, stored: method === 8 ? deflateRawSync(raw) : raw, declaredSize: raw.length };
}

/**
 * A minimal ZIP writer (local headers, central directory, end record; CRCs left 0, which the
 * reader does not check), so that tests can build containers whose headers lie.
 */
function makeZip(parts: Part[], zip64 = false): Buffer {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const p of parts) {
    const name = Buffer.from(p.name, 'utf8');
    // ZIP64 (as some Java tools write it): sizes and offset saturated, the real ones in extra field 1.
    const extra = Buffer.alloc(zip64 ? 28 : 0);
    if (zip64) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(p.declaredSize), 4);
      extra.writeBigUInt64LE(BigInt(p.stored.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(p.method, 8);
    local.writeUInt32LE(p.stored.length, 18);
    local.writeUInt32LE(p.declaredSize, 22);
    local.writeUInt16LE(name.length, 26);
    chunks.push(local, name, p.stored);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(0x800, 8);
    c.writeUInt16LE(p.method, 10);
    c.writeUInt32LE(zip64 ? 0xffffffff : p.stored.length, 20);
    c.writeUInt32LE(zip64 ? 0xffffffff : p.declaredSize, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(extra.length, 30);
    c.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    central.push(c, name, extra);
    offset += local.length + name.length + p.stored.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(parts.length, 8);
  end.writeUInt16LE(parts.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...chunks, dir, end]);
}

const MAIN_NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const REL_NS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

/** The parts every workbook needs: one sheet `pejabat` at `target` (relative to `xl/` unless absolute). */
function workbookParts(target = 'worksheets/sheet1.xml'): Part[] {
  return [
    textPart(
      'xl/workbook.xml',
      `<workbook xmlns="${MAIN_NS}" xmlns:r="${REL_NS}"><sheets><sheet name="pejabat" sheetId="1" r:id="rId1"/></sheets></workbook>`,
    ),
    textPart(
      'xl/_rels/workbook.xml.rels',
      `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${REL_NS}/worksheet" Target="${target}"/></Relationships>`,
    ),
  ];
}

function inline(ref: string, text: string): string {
  return `<c r="${ref}" t="inlineStr"><is><t>${text}</t></is></c>`;
}

const SHEET_HEAD = `<worksheet xmlns="${MAIN_NS}"><sheetData><row r="1">${inline('A1', 'NIP')}${inline('B1', 'Nama')}</row>`;
const SHEET_TAIL = '</sheetData></worksheet>';

function sheetPart(name: string, rows: string, method: 0 | 8 = 8): Part {
  return textPart(name, SHEET_HEAD + rows + SHEET_TAIL, method);
}

async function writeZip(name: string, parts: Part[], zip64 = false): Promise<string> {
  const file = await tempPath(name);
  await writeFile(file, makeZip(parts, zip64));
  return file;
}

/** Deflates `repeat` copies of `unit` (between `head` and `tail`) without holding the inflated text. */
async function deflateRepeated(head: string, unit: Buffer, repeat: number, tail: string): Promise<Buffer> {
  const deflate = createDeflateRaw({ level: 6 });
  const out: Buffer[] = [];
  deflate.on('data', (b: Buffer) => out.push(b));
  const done = new Promise((resolve, reject) => deflate.on('end', resolve).on('error', reject));
  const write = (b: Buffer) =>
    deflate.write(b) ? Promise.resolve() : new Promise<void>((r) => deflate.once('drain', () => r()));
  await write(Buffer.from(head));
  for (let i = 0; i < repeat; i++) await write(unit);
  deflate.end(Buffer.from(tail));
  await done;
  return Buffer.concat(out);
}

// Every test below runs twice: the workbook read from its file, and from its bytes in memory (a
// downloaded workbook under the connector's memory limit). Both must behave the same.
let fromMemory = false;
async function parseXlsx(file: string, opts?: Parameters<typeof parseXlsxInput>[1]) {
  return parseXlsxInput(fromMemory ? await readFile(file) : file, opts);
}

describe.each([
  ['file', false],
  ['memory', true],
])('parseXlsx from a %s', (_mode, memory) => {
  beforeAll(() => {
    fromMemory = memory;
  });

  describe('parseXlsx: workbooks as other tools write them', () => {
    it('reads a workbook without styles or shared strings, with an absolute sheet target and odd part names', async () => {
      const file = await writeZip('minimal.xlsx', [
        sheetPart(
          'xl/worksheets/Data.xml',
          `<row r="2">${inline('A2', '198503122010011003')}${inline('B2', 'Budi')}</row>`,
        ),
        ...workbookParts('/xl/worksheets/data.xml'),
      ]);
      const t = await parseXlsx(file);
      expect(t.sheets).toEqual({ officers: 'pejabat', formations: null, workloads: null });
      expect(await collect(t.officers)).toEqual([{ row: 2, record: { nip: '198503122010011003', nama: 'Budi' } }]);
      expect(await collect(t.formations)).toEqual([]);
    });

    it('reads a ZIP64 directory', async () => {
      const file = await writeZip(
        'zip64.xlsx',
        [
          sheetPart('xl/worksheets/sheet1.xml', `<row r="2">${inline('A2', '1985')}${inline('B2', 'Budi')}</row>`),
          ...workbookParts(),
        ],
        true,
      );
      expect(await collect((await parseXlsx(file)).officers)).toEqual([
        { row: 2, record: { nip: '1985', nama: 'Budi' } },
      ]);
    });

    it('finds shared strings and styles where the relationships say, for text and date cells', async () => {
      const rel = (id: string, type: string, target: string) =>
        `<Relationship Id="${id}" Type="${REL_NS}/${type}" Target="${target}"/>`;
      const file = await writeZip('renamed-parts.xlsx', [
        textPart(
          'xl/workbook.xml',
          `<workbook xmlns="${MAIN_NS}" xmlns:r="${REL_NS}"><sheets><sheet name="Data" sheetId="7" r:id="rId1"/></sheets></workbook>`,
        ),
        textPart(
          'xl/_rels/workbook.xml.rels',
          `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${rel('rId1', 'worksheet', 'sheets/one.xml')}${rel('rId2', 'sharedStrings', 'text/sst.xml')}${rel('rId3', 'styles', '/xl/look.xml')}</Relationships>`,
        ),
        textPart(
          'xl/text/sst.xml',
          `<sst xmlns="${MAIN_NS}"><si><t>NIP</t></si><si><t>Tgl Lahir</t></si><si><t>Ünal</t></si></sst>`,
        ),
        textPart(
          'xl/look.xml',
          `<styleSheet xmlns="${MAIN_NS}"><numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></numFmts><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>`,
        ),
        textPart(
          'xl/sheets/one.xml',
          `<worksheet xmlns="${MAIN_NS}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row><row r="3"><c r="A3" t="s"><v>2</v></c><c r="B3" s="1"><v>31118</v></c><c r="C3"><v>7</v></c></row></sheetData></worksheet>`,
        ),
      ]);
      const t = await parseXlsx(file);
      expect(t.sheets).toEqual({ officers: 'Data', formations: null, workloads: null });
      expect(await collect(t.officers)).toEqual([
        { row: 3, record: { nip: 'Ünal', tanggal_lahir: new Date(Date.UTC(1985, 2, 12)), 'kolom 3': 7 } },
      ]);
    });

    it('keeps multi-byte characters whole across inflate chunks (inline and shared strings)', async () => {
      const names = Array.from({ length: 3000 }, (_, i) => `José Ma’ruf Ünal 😀 نص ${'é'.repeat(i % 41)} ${i}`);
      for (const useSharedStrings of [false, true]) {
        const file = await tempPath(`unicode-${useSharedStrings}.xlsx`);
        const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useSharedStrings, useStyles: true });
        const ws = wb.addWorksheet('pejabat');
        ws.addRow(['NIP', 'Nama']).commit();
        names.forEach((n, i) => ws.addRow([String(198503122010011003n + BigInt(i)), n]).commit());
        await ws.commit();
        await wb.commit();
        const rows = await collect((await parseXlsx(file)).officers);
        expect(rows.map((r) => r.record.nama)).toEqual(names);
      }
    });

    it('fails a damaged or truncated workbook as unparseable_file', async () => {
      const whole = await readFile(sample('officers.xlsx'));
      const cut = await tempPath('cut.xlsx');
      await writeFile(cut, whole.subarray(0, Math.floor(whole.length / 2)));
      await expectFileError(parseXlsx(cut), ['unparseable_file']);

      const sheet = sheetPart('xl/worksheets/sheet1.xml', `<row r="2">${inline('A2', '1')}${inline('B2', 'x')}</row>`);
      const garbled = { ...sheet, stored: Buffer.alloc(sheet.stored.length, 0xff) };
      const t = await parseXlsx(await writeZip('garbled.xlsx', [garbled, ...workbookParts()]));
      await expectFileError(collect(t.officers), ['unparseable_file']);

      const noWorkbook = await writeZip('no-workbook.xlsx', [sheet]);
      await expectFileError(parseXlsx(noWorkbook), ['unparseable_file']);

      const missingSheet = await writeZip('missing-sheet.xlsx', workbookParts());
      await expectFileError(parseXlsx(missingSheet), ['unparseable_file']);

      const badXml = await writeZip('bad-xml.xlsx', [
        textPart('xl/worksheets/sheet1.xml', `${SHEET_HEAD}<row r="2"><c r="A2"><v>1</v></c></rows>`),
        ...workbookParts(),
      ]);
      await expectFileError(collect((await parseXlsx(badXml)).officers), ['unparseable_file']);
    });
  });

  describe('parseXlsx: zip bombs and oversized content', () => {
    const BOMB_MB = 300; // of sheet XML: the same row again and again
    let bombXml: Buffer;
    let bombSize: number;
    beforeAll(async () => {
      const row = Buffer.from(`<row r="2">${inline('A2', '198503122010011003')}${inline('B2', 'Budi')}</row>`);
      const megabyte = Buffer.concat(Array<Buffer>(Math.floor((1024 * 1024) / row.length)).fill(row));
      bombXml = await deflateRepeated(SHEET_HEAD, megabyte, BOMB_MB, SHEET_TAIL);
      bombSize = SHEET_HEAD.length + megabyte.length * BOMB_MB + SHEET_TAIL.length;
    }, 60_000);

    it('is a real bomb: a small file that inflates to hundreds of MB', () => {
      expect(bombXml.length).toBeLessThan(2 * 1024 * 1024);
      expect(bombSize).toBeGreaterThan(250 * 1024 * 1024);
    });

    it('refuses a bomb whose directory states its size, before inflating it', async () => {
      const file = await writeZip('bomb.xlsx', [
        { name: 'xl/worksheets/sheet1.xml', method: 8, stored: bombXml, declaredSize: bombSize },
        ...workbookParts(),
      ]);
      const t = await parseXlsx(file);
      const e = await expectFileError(collect(t.officers), ['payload_too_large']);
      expect(e.userMessage).toMatch(/zip bomb/);
      // Refused on what the directory declares (ZipArchive.checkDeclared), not after inflating.
      expect(e.message).toContain(`xl/worksheets/sheet1.xml declares ${bombSize} bytes`);
    });

    it('refuses a bomb whose directory lies about its size, while inflating', async () => {
      const file = await writeZip('lying-bomb.xlsx', [
        { name: 'xl/worksheets/sheet1.xml', method: 8, stored: bombXml, declaredSize: 3000 },
        ...workbookParts(),
      ]);
      const t = await parseXlsx(file);
      const before = process.memoryUsage().rss;
      const e = await expectFileError(collect(t.officers), ['unparseable_file', 'payload_too_large']);
      expect(e.userMessage).toMatch(/zip bomb/);
      // Stopped as soon as the output passed the 3,000 bytes the directory declares.
      expect(e.message).toContain('xl/worksheets/sheet1.xml inflates to more than the 3000 bytes it declares');
      expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
    });

    it('refuses a workbook that inflates past maxInflatedBytes, even under the ratio limit', async () => {
      // A sheet that compresses "only" 60× passes the ratio check; the total budget still stops it.
      const file = await writeZip('big.xlsx', [
        { name: 'xl/worksheets/sheet1.xml', method: 8, stored: bombXml, declaredSize: bombXml.length * 60 },
        ...workbookParts(),
      ]);
      const t = await parseXlsx(file, { maxInflatedBytes: bombXml.length * 30 });
      await expectFileError(collect(t.officers), ['payload_too_large']);
      const real = await parseXlsx(sample('officers.xlsx'), { maxInflatedBytes: 4000 });
      await expectFileError(collect(real.officers), ['payload_too_large']);
    });

    it('refuses a cell longer than Excel allows, without buffering it', async () => {
      const huge = Buffer.alloc(MAX_MARKUP_RUN + 10, 'x').toString();
      // Stored, not deflated: a long run of one letter would otherwise trip the ratio check first.
      const file = await writeZip('long-cell.xlsx', [
        sheetPart('xl/worksheets/sheet1.xml', `<row r="2">${inline('A2', '1')}${inline('B2', huge)}</row>`, 0),
        ...workbookParts(),
      ]);
      const e = await expectFileError(collect((await parseXlsx(file)).officers), ['unparseable_file']);
      expect(e.message).toMatch(/32,767/);
    });

    it('refuses a sheet beyond Excel’s 1,048,576 rows', async () => {
      const file = await writeZip('tall.xlsx', [
        sheetPart(
          'xl/worksheets/sheet1.xml',
          `<row r="2000000">${inline('A2000000', '1')}${inline('B2000000', 'x')}</row>`,
        ),
        ...workbookParts(),
      ]);
      await expectFileError(collect((await parseXlsx(file)).officers), ['unparseable_file']);
    });

    it('refuses a shared strings table larger than its cap', async () => {
      const items = Array.from({ length: 200_000 }, (_, i) => `<si><t>Nama ${i}</t></si>`);
      const strings = `<sst xmlns="${MAIN_NS}">${items.join('')}</sst>`;
      const file = await writeZip('strings.xlsx', [
        textPart('xl/sharedStrings.xml', strings),
        sheetPart('xl/worksheets/sheet1.xml', ''),
        ...workbookParts(),
      ]);
      // 4 MB of shared strings fit the default budget, not a 1 MiB one.
      await expect(collect((await parseXlsx(file)).officers)).resolves.toEqual([]);
      const t = await parseXlsx(file, { maxInflatedBytes: 1024 * 1024 });
      await expectFileError(collect(t.officers), ['payload_too_large']);
    });
  });
});

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { newStreamingWorkbook, READER_INTERNALS, type StreamingWorksheet } from './exceljs-internals.ts';

const xml = (text: string) => Readable.from([text]);

const WORKBOOK = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
  <sheets><sheet name="pejabat" sheetId="1" r:id="rId1"/><sheet name="formasi" sheetId="2" r:id="rId2"/></sheets>
</workbook>`;

const RELS = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
  <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
  <Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet2.xml"/>
  <Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>`;

// numFmtId 14 is Excel's built-in short date: a number in a cell styled with it is a date.
const STYLES = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
  <fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>
  <fills count="1"><fill><patternFill patternType="none"/></fill></fills>
  <borders count="1"><border/></borders>
  <cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
  <cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
</styleSheet>`;

const SHARED_STRINGS = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="3" uniqueCount="3">
  <si><t>NIP</t></si><si><t>Nama</t></si><si><r><t>Siti </t></r><r><rPr><b/></rPr><t>Aminah</t></r></si>
</sst>`;

const SHEET = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
  <sheetData>
    <row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="inlineStr"><is><t>Lahir</t></is></c></row>
    <row r="2"><c r="A2" t="str"><v>198503122010011003</v></c><c r="B2" t="s"><v>2</v></c><c r="C2" s="1"><v>31118</v></c></row>
  </sheetData>
</worksheet>`;

/** The version installed for this package, and the one pnpm-workspace.yaml's catalog pins. */
function exceljsVersions(): { installed: string; pinned: string | undefined } {
  const require = createRequire(import.meta.url);
  const installed = (JSON.parse(readFileSync(require.resolve('exceljs/package.json'), 'utf8')) as { version: string })
    .version;
  const workspace = readFileSync(new URL('../../../../pnpm-workspace.yaml', import.meta.url), 'utf8');
  const pinned = /^\s+['"]?exceljs['"]?:\s*['"]?([^'"\s]+)['"]?\s*$/m.exec(workspace)?.[1];
  return { installed, pinned };
}

describe('the exceljs internals the streaming XLSX parser drives', () => {
  it('runs the exact exceljs version the catalog pins', () => {
    const { installed, pinned } = exceljsVersions();
    expect(pinned, 'exceljs in the catalog of pnpm-workspace.yaml').toMatch(/^\d+\.\d+\.\d+$/);
    expect(installed).toBe(pinned);
  });

  it('still has each private part parser, as the kind of function the parser expects', () => {
    const proto = ExcelJS.stream.xlsx.WorkbookReader.prototype as unknown as Record<string, unknown>;
    for (const [name, kind] of Object.entries(READER_INTERNALS)) {
      expect(typeof proto[name], name).toBe('function');
      expect((proto[name] as () => unknown).constructor.name, name).toBe(kind);
    }
  });

  it('fills model, workbookRels, styles and sharedStrings, and yields a sheet whose rows read back', async () => {
    const reader = newStreamingWorkbook();
    await reader._parseWorkbook(xml(WORKBOOK));
    expect(reader.model?.sheets?.map((s) => [s.id, s.name, s.rId])).toEqual([
      [1, 'pejabat', 'rId1'],
      [2, 'formasi', 'rId2'],
    ]);
    await reader._parseRels(xml(RELS));
    expect(reader.workbookRels?.map((r) => [r.Id, r.Target, r.Type?.split('/').at(-1)])).toEqual([
      ['rId1', 'worksheets/sheet1.xml', 'worksheet'],
      ['rId2', 'worksheets/sheet2.xml', 'worksheet'],
      ['rId3', 'sharedStrings.xml', 'sharedStrings'],
    ]);
    await reader._parseStyles(xml(STYLES));
    reader.sharedStrings = [];
    const yielded: unknown[] = [];
    // 'cache' mode: the table lands in reader.sharedStrings and nothing is yielded.
    for await (const x of reader._parseSharedStrings(xml(SHARED_STRINGS))) yielded.push(x);
    expect(yielded).toEqual([]);
    expect(reader.sharedStrings).toHaveLength(3);

    const events = [...reader._parseWorksheet(Readable.from([SHEET]), '1')];
    expect(events.map((e) => e.eventType)).toEqual(['worksheet']);
    const sheet: StreamingWorksheet = events[0]!.value;
    expect(sheet.name).toBe('pejabat');
    const rows: ExcelJS.CellValue[][] = [];
    for await (const row of sheet) rows.push([1, 2, 3].map((c) => row.getCell(c).value));
    expect(rows[0]).toEqual(['NIP', 'Nama', 'Lahir']);
    expect(rows[1]![0]).toBe('198503122010011003');
    expect(rows[1]![1]).toMatchObject({ richText: [{ text: 'Siti ' }, { font: { bold: true }, text: 'Aminah' }] });
    // The date comes through the cached styles: without them it would be the number 31121.
    expect(rows[1]![2]).toEqual(new Date(Date.UTC(1985, 2, 12)));
  });
});

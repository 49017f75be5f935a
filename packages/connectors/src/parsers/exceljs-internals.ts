import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';

/**
 * The private parts of ExcelJS's streaming reader that the XLSX parser drives, in one place.
 * Not exported from the package: `xlsx.parser.ts` is its only user.
 *
 * ExcelJS's own `WorkbookReader.parse()` reads the ZIP front to back and spools every sheet that
 * precedes `sharedStrings.xml`/`workbook.xml` (as in files from Excel and ExcelJS) to an unbounded
 * temporary file, so that loop is replaced by `ZipArchive` and the reader's part parsers are fed
 * from it, in the order they need. These methods are not ExcelJS's public API: exceljs is pinned
 * exactly (the `catalog:` of pnpm-workspace.yaml) and `exceljs-internals.test.ts` fails when an
 * upgrade renames or reshapes one of them.
 */
export interface StreamingWorkbook {
  _parseWorkbook(stream: Readable): Promise<void>;
  _parseRels(stream: Readable): Promise<void>;
  _parseStyles(stream: Readable): Promise<void>;
  _parseSharedStrings(stream: Readable): AsyncGenerator<unknown>;
  _parseWorksheet(
    iterator: AsyncIterable<string>,
    sheetNo: string,
  ): Generator<{ eventType: string; value: StreamingWorksheet }>;
  model?: { sheets?: { id: number; name?: string; rId?: string }[] };
  workbookRels?: { Id: string; Type?: string; Target: string; TargetMode?: string }[];
  sharedStrings?: unknown[];
}

/** A sheet as `_parseWorksheet` yields it: its rows as they are parsed. */
export interface StreamingWorksheet extends AsyncIterable<ExcelJS.Row> {
  name: string;
}

/** The private methods {@link StreamingWorkbook} relies on, with the kind of function each must be. */
export const READER_INTERNALS = {
  _parseWorkbook: 'AsyncFunction',
  _parseRels: 'AsyncFunction',
  _parseStyles: 'AsyncFunction',
  _parseSharedStrings: 'AsyncGeneratorFunction',
  _parseWorksheet: 'GeneratorFunction',
} as const satisfies Record<Exclude<keyof StreamingWorkbook, 'model' | 'workbookRels' | 'sharedStrings'>, string>;

/**
 * Options of ExcelJS's streaming reader: rows as they are parsed, shared strings kept (cells
 * refer to them by index), styles kept (a number cell is a date only through its number format).
 */
const READER_OPTIONS = {
  worksheets: 'emit',
  sharedStrings: 'cache',
  styles: 'cache',
  hyperlinks: 'ignore',
} as const;

/** A reader whose part parsers are fed by the caller. */
export function newStreamingWorkbook(): StreamingWorkbook {
  // Its input is never read (the parts are fed from ZipArchive): an empty stream stands in.
  return new ExcelJS.stream.xlsx.WorkbookReader(Readable.from([]), READER_OPTIONS) as unknown as StreamingWorkbook;
}

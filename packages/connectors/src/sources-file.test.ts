import { describe, expect, it } from 'vitest';
import { parseSourcesFile, SourcesFileError } from './sources-file.ts';

const issues = (text: string, format: 'json' | 'csv' = 'json') => {
  try {
    parseSourcesFile(text, format);
    return [];
  } catch (e) {
    if (e instanceof SourcesFileError) return e.issues;
    throw e;
  }
};

describe('sources file', () => {
  it('reads the register-api example', () => {
    const s = parseSourcesFile(
      JSON.stringify([
        {
          id: '16.71-disnaker',
          agency: 'Dinas Tenaga Kerja Kota Palembang',
          region_code: '1671',
          transport: 'api',
          url: 'https://a.test/v1',
          token: 't',
        },
        {
          id: '16.02-disnaker',
          agency: 'X',
          region_code: '16.02',
          transport: 'csv',
          url: 'https://a.test/p.csv',
          formations_url: 'https://a.test/f.csv',
        },
        {
          id: '16-disnakertrans',
          agency: 'Y',
          region_code: '16',
          transport: 'xlsx',
          url: 'https://a.test/d.xlsx',
          enabled: false,
          max_rows: 10,
        },
        { id: '16.05-disnaker', agency: 'Z', region_code: '16.05', transport: 'upload' },
      ]),
      'json',
    );
    expect(s.map((x) => x.region_code)).toEqual(['16.71', '16.02', '16', '16.05']);
    expect(s[2]!.enabled).toBe(false);
  });

  it('reads the CSV form with the same columns', () => {
    const s = parseSourcesFile(
      'id,agency,region_code,transport,url,enabled,max_rows\n16.71-disnaker,"Dinas, Palembang",16.71,csv,https://a.test/p.csv,false,500\n',
      'csv',
    );
    expect(s).toEqual([
      {
        id: '16.71-disnaker',
        agency: 'Dinas, Palembang',
        region_code: '16.71',
        transport: 'csv',
        url: 'https://a.test/p.csv',
        enabled: false,
        max_rows: 500,
      },
    ]);
  });

  it('names the entry and key of every problem', () => {
    const found = issues(
      JSON.stringify([
        { id: 'a', agency: 'A', region_code: '16.71', transport: 'api', url: 'https://x.test', colour: 'red' },
        { id: 'b', agency: 'B', region_code: '99.99', transport: 'csv', url: 'ftp://x' },
        { id: 'c', agency: 'C', region_code: '16', transport: 'upload', url: 'https://x.test/f.csv' },
        { id: 'd', agency: 'D', region_code: '16', transport: 'api' },
        {
          id: 'a',
          agency: 'A2',
          region_code: '16.71',
          transport: 'xlsx',
          url: 'https://x.test/d.xlsx',
          formations_url: 'https://x.test/f.csv',
        },
        { id: 'e', agency: 'E', region_code: '16', transport: 'telepathy' },
      ]),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^#1 \(a\): unknown key "colour"/),
        expect.stringMatching(/^#2 \(b\): url must be an http\(s\) URL/),
        expect.stringMatching(/^#3 \(c\): url must be absent/),
        expect.stringMatching(/^#4 \(d\): url is required/),
        expect.stringMatching(/^#5 \(a\): formations_url is only for transport "csv"/),
        expect.stringMatching(/^#5 \(a\): id "a" appears more than once/),
        expect.stringMatching(/^#6 \(e\): transport/),
      ]),
    );
    expect(issues(JSON.stringify([{ id: 'b', agency: 'B', region_code: '99.99', transport: 'upload' }]))).toEqual([
      '#1 (b): region_code "99.99" is not a known region',
    ]);
  });

  it('rejects a file that is not an array or not JSON', () => {
    expect(issues('{"id": 1}')).toEqual(['the file must hold a JSON array of sources']);
    expect(issues('[1,')[0]).toMatch(/not valid JSON/);
  });
});

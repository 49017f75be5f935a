import { describe, expect, it } from 'vitest';
import { buildDigest, type DigestFindingInput } from './digest.ts';
import { escapeHtml, maskDigitsInText, maskNip } from './mask.ts';
import { findingsUrl, renderEmail, renderWebhookBody } from './render.ts';

const f = (over: Partial<DigestFindingInput> & Pick<DigestFindingInput, 'id'>): DigestFindingInput => ({
  code: 'record_rejected',
  severity: 'error',
  province_code: '16',
  region_code: '16.71',
  source_id: '16.71-disnaker',
  nip: null,
  row: null,
  message: 'Baris ditolak',
  first_seen_at: '2026-11-27T01:00:00Z',
  ...over,
});

describe('maskNip / maskDigitsInText / escapeHtml', () => {
  it('keeps the first 4 and last 3 digits of a NIP', () => {
    expect(maskNip('198501012010011001')).toBe('1985***********001');
    expect(maskNip('123')).toBe('***');
  });
  it('masks NIP-like digit runs in free text but not dates', () => {
    expect(maskDigitsInText('NIP 19850101 201001 1 001 ganda, tanggal 2026-11-27')).toBe(
      'NIP 1985***********001 ganda, tanggal 2026-11-27',
    );
  });
  it('escapes the HTML specials', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe(
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;',
    );
  });
});

describe('buildDigest', () => {
  it('groups by region and rule, counts every finding, caps rows, orders errors first', () => {
    const d = buildDigest({
      audience: 'province',
      runId: 'run-1',
      provinceCode: '16',
      generatedAt: new Date('2026-11-27T02:00:00Z'),
      maxRowsPerGroup: 2,
      entries: [
        { kind: 'new', finding: f({ id: 1, row: 5 }) },
        { kind: 'reminder', finding: f({ id: 2, row: 3 }) },
        { kind: 'new', finding: f({ id: 3, row: 4 }) },
        { kind: 'new', finding: f({ id: 4, code: 'over_formation', severity: 'warning' }) },
        { kind: 'resolved', finding: f({ id: 5, region_code: '16.02' }) },
      ],
    });
    expect(d.provinceName).toBe('Sumatera Selatan');
    expect(d.totals).toMatchObject({ new: 3, reminder: 1, resolved: 1 });
    expect(d.groups.map((g) => `${g.regionCode}/${g.code}`)).toEqual([
      '16.02/record_rejected',
      '16.71/record_rejected',
      '16.71/over_formation',
    ]);
    const g = d.groups[1]!;
    expect(g.counts).toMatchObject({ new: 2, reminder: 1 });
    expect(g.rows.map((r) => r.findingId)).toEqual([3, 1]);
    expect(g.omittedRows).toBe(1);
    expect(g.rule).toBe('R6');
    expect(g.regionName).toBe('Kota Palembang');
    expect(g.fix).toMatch(/Perbaiki baris/);
  });

  it('renders deterministically, with API links under publicBaseUrl', () => {
    const d = buildDigest({
      audience: 'province',
      runId: 'run-1',
      provinceCode: '16',
      generatedAt: new Date('2026-11-27T02:00:00Z'),
      entries: [{ kind: 'new', finding: f({ id: 1, nip: '198501012010011001' }) }],
    });
    const o = { publicBaseUrl: 'https://x.test/base' };
    expect(renderEmail(d, o)).toEqual(renderEmail(JSON.parse(JSON.stringify(d)), o));
    expect(renderEmail(d, o).text).toContain(
      'https://x.test/base/api/v1/findings?province=16&region=16.71&rule=record_rejected',
    );
    const body = renderWebhookBody(d, { ...o, idempotencyKey: 'k', event: 'findings.digest' });
    expect(JSON.parse(body).groups[0].rows[0].nip).toBe('198501012010011001');
    expect(findingsUrl('https://x.test', { province: '16', status: 'open' })).toBe(
      'https://x.test/api/v1/findings?province=16&status=open',
    );
  });
});

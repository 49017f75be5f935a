import type { Digest, DigestEntryKind, DigestGroup, DigestRow } from './digest.ts';
import { escapeHtml, maskDigitsInText, maskNip } from './mask.ts';

/**
 * Renders a {@link Digest}: e-mail (plain text + HTML, Bahasa Indonesia, NIP masked, every
 * interpolated value HTML-escaped) and the webhook JSON body (full data, signed by the sender).
 * Deterministic: the same digest and options give the same bytes.
 */

export interface RenderOptions {
  /** `config.publicBaseUrl`: links point to `${publicBaseUrl}/api/v1/findings?…`. */
  publicBaseUrl: string;
  /** Rows shown per group in e-mail (the rest are counted and linked). Default 25. */
  maxEmailRowsPerGroup?: number;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

const KIND_LABEL: Record<DigestEntryKind, string> = {
  new: 'Baru',
  reminder: 'Pengingat',
  resolved: 'Selesai',
  escalation: 'Eskalasi',
  delivery_failed: 'Gagal kirim',
};

const KIND_TOTAL_LABEL: Record<DigestEntryKind, string> = {
  new: 'Temuan baru',
  reminder: 'Pengingat (belum ditindaklanjuti 7 hari atau lebih)',
  resolved: 'Sudah selesai (tidak ditemukan lagi)',
  escalation: 'Eskalasi (terbuka 30 hari atau lebih)',
  delivery_failed: 'Pemberitahuan gagal terkirim selama 24 jam',
};

const SEVERITY_LABEL = { error: 'galat', warning: 'peringatan', info: 'info' } as const;

const KINDS: readonly DigestEntryKind[] = ['new', 'reminder', 'resolved', 'escalation', 'delivery_failed'];
/** The count columns a reader of this digest can meet. */
const columnsOf = (d: Digest): readonly DigestEntryKind[] =>
  d.audience === 'ministry' ? ['escalation', 'delivery_failed'] : ['new', 'reminder', 'resolved'];

/** The API URL listing findings with these filters (register-api-v1 `GET /findings`). */
export function findingsUrl(
  publicBaseUrl: string,
  filter: { province?: string | null; region?: string | null; rule?: string; status?: string },
): string {
  const u = new URL('api/v1/findings', publicBaseUrl.endsWith('/') ? publicBaseUrl : `${publicBaseUrl}/`);
  if (filter.province) u.searchParams.set('province', filter.province);
  if (filter.region) u.searchParams.set('region', filter.region);
  if (filter.rule) u.searchParams.set('rule', filter.rule);
  if (filter.status) u.searchParams.set('status', filter.status);
  return u.toString();
}

function groupUrl(g: DigestGroup, base: string): string {
  const region = g.regionCode && g.regionCode !== g.provinceCode ? g.regionCode : null;
  return findingsUrl(base, { province: g.provinceCode, region, rule: g.code });
}

function countsPhrase(counts: Record<DigestEntryKind, number>): string {
  return KINDS.filter((k) => counts[k] > 0)
    .map((k) => `${counts[k]} ${KIND_LABEL[k].toLowerCase()}`)
    .join(', ');
}

function subjectOf(d: Digest): string {
  const parts = KINDS.filter((k) => d.totals[k] > 0).map((k) => `${d.totals[k]} ${KIND_LABEL[k].toLowerCase()}`);
  if (d.audience === 'ministry') return `[pksync] Eskalasi temuan mutu data: ${parts.join(', ')}`;
  return `[pksync] Temuan mutu data Provinsi ${d.provinceName ?? d.provinceCode}: ${parts.join(', ')}`;
}

function rowText(r: DigestRow): string {
  const where = [
    r.sourceId ? `sumber ${r.sourceId}` : null,
    r.row !== null ? `baris ${r.row}` : null,
    r.nip ? `NIP ${maskNip(r.nip)}` : null,
  ]
    .filter(Boolean)
    .join(', ');
  const note = r.ackNote ? ` (catatan: ${maskDigitsInText(r.ackNote)})` : '';
  return `[${KIND_LABEL[r.kind]}] #${r.findingId}${where ? ` ${where}` : ''}: ${maskDigitsInText(r.message)}${note}`;
}

function greeting(d: Digest): string {
  return d.audience === 'ministry'
    ? 'Yth. Admin Kementerian,'
    : `Yth. Pengelola Data Pejabat Fungsional Pengantar Kerja Provinsi ${d.provinceName ?? ''} (${d.provinceCode}),`;
}

function intro(d: Digest): string {
  const run = d.runId ? ` (run ${d.runId})` : '';
  return d.audience === 'ministry'
    ? `Berikut temuan mutu data yang perlu perhatian Kementerian${run}:`
    : `Hasil sinkronisasi data pejabat${run} menemukan hal berikut pada data kabupaten/kota di provinsi Anda:`;
}

function regionHeading(d: Digest, g: DigestGroup): string {
  // The ministry's digest spans provinces: say which one.
  const province = d.audience === 'ministry' && g.regionCode !== g.provinceCode ? ` — provinsi ${g.provinceCode}` : '';
  return `${g.regionName} (${g.regionCode ?? g.provinceCode})${province}`;
}

/** Plain text + HTML e-mail for a digest. */
export function renderEmail(d: Digest, o: RenderOptions): RenderedEmail {
  const maxRows = o.maxEmailRowsPerGroup ?? 25;
  const base = o.publicBaseUrl;
  const allUrl =
    d.audience === 'ministry'
      ? findingsUrl(base, { status: 'open' })
      : findingsUrl(base, { province: d.provinceCode, status: 'open' });
  const subject = subjectOf(d);

  // ---- text
  const t: string[] = [greeting(d), '', intro(d), ''];
  const width = Math.max(...KINDS.map((k) => KIND_TOTAL_LABEL[k].length));
  for (const k of KINDS) if (d.totals[k] > 0) t.push(`  ${KIND_TOTAL_LABEL[k].padEnd(width)} : ${d.totals[k]}`);
  t.push('', 'RINGKASAN PER KABUPATEN/KOTA DAN ATURAN');
  let lastRegion: string | null = null;
  for (const g of d.groups) {
    const heading = regionHeading(d, g);
    if (heading !== lastRegion) {
      t.push(`  ${heading}`);
      lastRegion = heading;
    }
    t.push(`    - ${g.code}${g.rule ? ` (${g.rule}, ${SEVERITY_LABEL[g.severity]})` : ''}: ${countsPhrase(g.counts)}`);
  }
  t.push('', 'RINCIAN');
  lastRegion = null;
  for (const g of d.groups) {
    const heading = regionHeading(d, g);
    if (heading !== lastRegion) {
      t.push('', `== ${heading} ==`);
      lastRegion = heading;
    }
    t.push('', `-- ${g.code}${g.rule ? ` (${g.rule})` : ''}: ${g.description}`);
    t.push(`   Cara memperbaiki: ${g.fix}`);
    const shown = g.rows.slice(0, maxRows);
    for (const r of shown) t.push(`   ${rowText(r)}`);
    const more = g.rows.length - shown.length + g.omittedRows;
    if (more > 0) t.push(`   … dan ${more} temuan lainnya.`);
    t.push(`   Lihat di API: ${groupUrl(g, base)}`);
  }
  t.push(
    '',
    `Semua temuan terbuka: ${allUrl}`,
    'Untuk menandai temuan sudah diketahui, kirim POST /api/v1/findings/{id}/ack dengan catatan (kunci API provinsi).',
    'Temuan yang tidak ditemukan lagi pada sinkronisasi berikutnya akan otomatis ditandai selesai.',
    '',
    '--',
    'Pesan ini dikirim otomatis oleh pksync (Kementerian Ketenagakerjaan). Mohon tidak membalas e-mail ini.',
    'NIP disamarkan (4 digit awal dan 3 digit akhir); NIP lengkap tersedia melalui API dengan kunci provinsi.',
  );
  const text = `${t.join('\n')}\n`;

  // ---- html: every interpolated value goes through escapeHtml
  const e = escapeHtml;
  const h: string[] = [
    '<!doctype html>',
    '<html lang="id"><head><meta charset="utf-8">',
    `<title>${e(subject)}</title></head>`,
    '<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#1a1a1a">',
    `<p>${e(greeting(d))}</p>`,
    `<p>${e(intro(d))}</p>`,
    '<table cellpadding="4" style="border-collapse:collapse">',
  ];
  for (const k of KINDS) {
    if (d.totals[k] > 0)
      h.push(
        `<tr><td>${e(KIND_TOTAL_LABEL[k])}</td><td style="text-align:right"><strong>${e(d.totals[k])}</strong></td></tr>`,
      );
  }
  h.push('</table>', '<h2 style="font-size:16px">Ringkasan per kabupaten/kota dan aturan</h2>');
  h.push(
    '<table cellpadding="4" border="1" style="border-collapse:collapse">',
    '<thead><tr><th>Wilayah</th><th>Aturan</th><th>Tingkat</th>' +
      columnsOf(d)
        .map((k) => `<th>${e(KIND_LABEL[k])}</th>`)
        .join('') +
      '</tr></thead><tbody>',
  );
  for (const g of d.groups) {
    h.push(
      `<tr><td>${e(regionHeading(d, g))}</td><td>${e(g.code)}${g.rule ? ` (${e(g.rule)})` : ''}</td><td>${e(SEVERITY_LABEL[g.severity])}</td>` +
        columnsOf(d)
          .map((k) => `<td style="text-align:right">${e(g.counts[k])}</td>`)
          .join('') +
        '</tr>',
    );
  }
  h.push('</tbody></table>', '<h2 style="font-size:16px">Rincian</h2>');
  lastRegion = null;
  for (const g of d.groups) {
    const heading = regionHeading(d, g);
    if (heading !== lastRegion) {
      h.push(`<h3 style="font-size:15px">${e(heading)}</h3>`);
      lastRegion = heading;
    }
    h.push(
      `<h4 style="font-size:14px">${e(g.code)}${g.rule ? ` (${e(g.rule)})` : ''}: ${e(g.description)}</h4>`,
      `<p><strong>Cara memperbaiki:</strong> ${e(g.fix)}</p>`,
      '<table cellpadding="3" border="1" style="border-collapse:collapse"><thead><tr><th>Status</th><th>ID</th><th>Sumber</th><th>Baris</th><th>NIP</th><th>Keterangan</th></tr></thead><tbody>',
    );
    const shown = g.rows.slice(0, maxRows);
    for (const r of shown) {
      const note = r.ackNote ? ` <em>(catatan: ${e(maskDigitsInText(r.ackNote))})</em>` : '';
      h.push(
        `<tr><td>${e(KIND_LABEL[r.kind])}</td><td>${e(r.findingId)}</td><td>${e(r.sourceId ?? '')}</td><td>${e(r.row ?? '')}</td>` +
          `<td>${e(r.nip ? maskNip(r.nip) : '')}</td><td>${e(maskDigitsInText(r.message))}${note}</td></tr>`,
      );
    }
    h.push('</tbody></table>');
    const more = g.rows.length - shown.length + g.omittedRows;
    if (more > 0) h.push(`<p>… dan ${e(more)} temuan lainnya.</p>`);
    h.push(`<p><a href="${e(groupUrl(g, base))}">Lihat temuan ini di API</a></p>`);
  }
  h.push(
    `<p><a href="${e(allUrl)}">Semua temuan terbuka</a>. Untuk menandai temuan sudah diketahui, kirim <code>POST /api/v1/findings/{id}/ack</code> dengan catatan (kunci API provinsi). Temuan yang tidak ditemukan lagi pada sinkronisasi berikutnya akan otomatis ditandai selesai.</p>`,
    '<hr><p style="font-size:12px;color:#555">Pesan ini dikirim otomatis oleh pksync (Kementerian Ketenagakerjaan). Mohon tidak membalas e-mail ini. NIP disamarkan (4 digit awal dan 3 digit akhir); NIP lengkap tersedia melalui API dengan kunci provinsi.</p>',
    '</body></html>',
  );
  return { subject, text, html: `${h.join('\n')}\n` };
}

/**
 * The webhook body: the whole digest (full NIPs: the receiver is the province's own system and
 * the body is signed), with its idempotency key and API links. Stable bytes for a given digest.
 */
export function renderWebhookBody(d: Digest, o: RenderOptions & { idempotencyKey: string; event: string }): string {
  const base = o.publicBaseUrl;
  return JSON.stringify({
    event: o.event,
    idempotency_key: o.idempotencyKey,
    schema: d.schema,
    audience: d.audience,
    run_id: d.runId,
    province_code: d.provinceCode,
    province_name: d.provinceName,
    generated_at: d.generatedAt,
    totals: d.totals,
    findings_url:
      d.audience === 'ministry'
        ? findingsUrl(base, { status: 'open' })
        : findingsUrl(base, { province: d.provinceCode, status: 'open' }),
    groups: d.groups.map((g) => ({
      province_code: g.provinceCode,
      region_code: g.regionCode,
      region_name: g.regionName,
      code: g.code,
      rule: g.rule,
      severity: g.severity,
      description: g.description,
      fix: g.fix,
      counts: g.counts,
      findings_url: groupUrl(g, base),
      omitted_rows: g.omittedRows,
      rows: g.rows.map((r) => ({
        finding_id: r.findingId,
        kind: r.kind,
        source_id: r.sourceId,
        nip: r.nip,
        row: r.row,
        message: r.message,
        first_seen_at: r.firstSeenAt,
        ack_note: r.ackNote,
      })),
    })),
  });
}

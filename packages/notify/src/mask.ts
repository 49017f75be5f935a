/**
 * NIP masking for e-mail (R15): the first 4 and last 3 digits stay, the rest become `*`.
 * E-mail leaves the ministry's systems, so a full NIP (which encodes the birth date) never goes in it.
 *
 * @example maskNip('198501012010011001') // '1985***********001'
 */
export function maskNip(nip: string): string {
  const s = nip.trim();
  if (s.length < 8) return '*'.repeat(s.length);
  return `${s.slice(0, 4)}${'*'.repeat(s.length - 7)}${s.slice(-3)}`;
}

/**
 * Masks every NIP-like run of 12 or more digits (possibly written with spaces, dots or dashes) in
 * free text; dates (8 digits) stay readable.
 */
export function maskDigitsInText(text: string): string {
  return text.replace(/\d(?:[\d .-]*\d)?/g, (m) => {
    const digits = m.replace(/[^\d]/g, '');
    return digits.length >= 12 ? maskNip(digits) : m;
  });
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => HTML_ESCAPES[c]!);
}

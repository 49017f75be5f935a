/** R6: text fields longer than this many characters reject the record (`field_too_long`). */
export const MAX_FIELD_LENGTH = 500;

/**
 * Text as stored: NUL bytes removed (PostgreSQL text cannot hold them), leading and trailing
 * white space trimmed. Everything else (quotes, HTML, emoji, RTL marks, leading `=`) is kept as
 * given: escaping is the job of whoever displays or exports it.
 */
export function cleanText(value: string): string {
  // indexOf first: the replace allocates, and NULs are rare.
  const s = value.indexOf('\u0000') === -1 ? value : value.replaceAll('\u0000', '');
  return s.trim();
}

/** Length in characters (code points), so an emoji counts once. */
export function textLength(value: string): number {
  if (value.length <= MAX_FIELD_LENGTH) return value.length;
  let n = 0;
  for (const _ of value) n++;
  return n;
}

/** True when the cleaned text exceeds {@link MAX_FIELD_LENGTH} characters. */
export function isTooLong(value: string): boolean {
  return value.length > MAX_FIELD_LENGTH && textLength(value) > MAX_FIELD_LENGTH;
}

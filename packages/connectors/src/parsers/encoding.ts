import iconv from 'iconv-lite';

/** Encodings seen in the field (exchange-format-v1.md): UTF-8 with or without BOM, Windows-1252; UTF-16 with a BOM as a courtesy. */
export type TextEncoding = 'utf-8' | 'utf-8-bom' | 'windows-1252' | 'utf-16le' | 'utf-16be';

/**
 * Detects the encoding from the first bytes of a file. A BOM decides; otherwise bytes that are
 * valid UTF-8 are UTF-8, and anything else is Windows-1252 (which decodes every byte).
 * `complete` says the sample is the whole file (a multi-byte character cut at the end of a partial
 * sample is not held against UTF-8).
 */
export function detectEncoding(sample: Buffer, complete: boolean): TextEncoding {
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return 'utf-8-bom';
  if (sample[0] === 0xff && sample[1] === 0xfe) return 'utf-16le';
  if (sample[0] === 0xfe && sample[1] === 0xff) return 'utf-16be';
  return isUtf8(sample, complete) ? 'utf-8' : 'windows-1252';
}

function isUtf8(b: Buffer, complete: boolean): boolean {
  let i = 0;
  const n = b.length;
  while (i < n) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let len: number;
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c >= 0xe0 && c <= 0xef) len = 3;
    else if (c >= 0xf0 && c <= 0xf4) len = 4;
    else return false;
    if (i + len > n) return !complete;
    for (let k = 1; k < len; k++) if ((b[i + k]! & 0xc0) !== 0x80) return false;
    i += len;
  }
  return true;
}

/** A streaming decoder for `encoding` (the BOM, if any, is dropped). */
export function createDecoder(encoding: TextEncoding): { write(b: Buffer): string; end(): string | undefined } {
  const name = {
    'utf-8': 'utf8',
    'utf-8-bom': 'utf8',
    'windows-1252': 'win1252',
    'utf-16le': 'utf16le',
    'utf-16be': 'utf16be',
  }[encoding];
  return iconv.getDecoder(name, { stripBOM: true });
}

import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';

/** The text encodings Chinese planning attribute tables come in. */
export type TextEncoding = 'utf-8' | 'gbk' | 'gb18030';

/** Text that does not decode, or decodes to characters no real attribute holds. */
export class TextDecodeError extends Error {
  override readonly name = 'TextDecodeError';
}

/** Which encoding to use and why: from the layer config, from a .cpg, or to be detected from the data. */
export interface EncodingChoice {
  encoding: TextEncoding | null;
  origin: string;
}

const ALIASES: Record<string, TextEncoding> = {
  gbk: 'gbk', cp936: 'gbk', '936': 'gbk', 'ansi 936': 'gbk', 'windows-936': 'gbk', gb2312: 'gbk', 'euc-cn': 'gbk',
  gb18030: 'gb18030', '54936': 'gb18030',
  'utf-8': 'utf-8', utf8: 'utf-8', '65001': 'utf-8',
};

const LABEL: Record<TextEncoding, string> = { 'utf-8': 'UTF-8', gbk: 'GBK', gb18030: 'GB18030' };

/** Maps an encoding name ("GBK", "CP936", "65001"…) to a supported encoding, or null. */
export function parseEncodingName(name: string): TextEncoding | null {
  return ALIASES[name.trim().toLowerCase()] ?? null;
}

/** The display name of an encoding ("GBK"). */
export function encodingLabel(e: TextEncoding): string {
  return LABEL[e];
}

// CJK ideographs, CJK and full-width punctuation, full-width forms: what real
// Chinese attribute text is made of beyond ASCII.
// eslint-disable-next-line no-control-regex -- ASCII (with its controls) is part of the allowed range
const PLAUSIBLE_CJK = /^[\u0000-\u007f\u00b7\u00d7\u2010-\u2027\u2030-\u205e\u2160-\u217f\u2460-\u24ff\u25a0-\u25ff\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3200-\u32ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u{20000}-\u{3134f}]*$/u;
// Replacement characters, private-use code points (GBK's user-defined areas),
// control characters: signs of text decoded with the wrong table.
// eslint-disable-next-line no-control-regex -- control characters are what this detects
const IMPLAUSIBLE = /[\ufffd\ue000-\uf8ff\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/u;

/**
 * Decodes attribute text. With no encoding chosen, the first non-ASCII text
 * decides: valid UTF-8 that reads as Chinese is UTF-8, anything else GB18030 (a
 * superset of GBK). Afterwards every text must decode cleanly in that encoding:
 * UTF-8 text in a GBK table (or the reverse) is an error, never mojibake.
 */
export class TextDecoderChecked {
  private encoding: TextEncoding | null;
  private origin: string;

  constructor(choice: EncodingChoice) {
    this.encoding = choice.encoding;
    this.origin = choice.origin;
  }

  /** "GBK (from farmland.cpg)", "UTF-8 (detected)", "not yet known (all text so far is ASCII)". */
  describe(): string {
    return this.encoding ? `${LABEL[this.encoding]} (${this.origin})` : 'not detected (all text is ASCII)';
  }

  /** Decodes bytes (already trimmed); throws TextDecodeError saying what is wrong. */
  decode(bytes: Uint8Array): string {
    if (isAscii(bytes)) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
    if (!this.encoding) {
      this.encoding = looksLikeUtf8(bytes) ? 'utf-8' : 'gb18030';
      this.origin = 'detected from the data';
    }
    return this.encoding === 'utf-8' ? this.decodeUtf8(bytes) : this.decodeGb(bytes, this.encoding);
  }

  private decodeUtf8(bytes: Uint8Array): string {
    if (!isUtf8(bytes)) {
      const asGb = iconv.decode(Buffer.from(bytes), 'gb18030');
      const hint = IMPLAUSIBLE.test(asGb) ? '' : ` (it reads as GBK: "${asGb.slice(0, 20)}"; set the layer's encoding, or the file mixes encodings)`;
      throw new TextDecodeError(`is not valid UTF-8, the encoding ${this.origin}${hint}`);
    }
    const text = Buffer.from(bytes).toString('utf8');
    if (IMPLAUSIBLE.test(text)) throw new TextDecodeError(`decodes as UTF-8 to control or private-use characters: "${text.slice(0, 20)}" (wrong encoding?)`);
    return text;
  }

  private decodeGb(bytes: Uint8Array, encoding: 'gbk' | 'gb18030'): string {
    const text = iconv.decode(Buffer.from(bytes), encoding);
    if (looksLikeUtf8(bytes)) {
      const asUtf8 = Buffer.from(bytes).toString('utf8');
      throw new TextDecodeError(`is UTF-8 text ("${asUtf8.slice(0, 20)}"), not ${LABEL[encoding]} as the encoding ${this.origin} says (set encoding: UTF-8, or the file mixes encodings)`);
    }
    if (IMPLAUSIBLE.test(text)) {
      const more = encoding === 'gbk' ? ' (if the file is GB18030, set encoding: GB18030)' : '';
      throw new TextDecodeError(`is not valid ${LABEL[encoding]} text, the encoding ${this.origin}: it decodes to "${text.slice(0, 20)}"${more}`);
    }
    return text;
  }
}

/** Valid UTF-8 with multi-byte characters that read as Chinese text. */
function looksLikeUtf8(bytes: Uint8Array): boolean {
  if (!isUtf8(bytes)) return false;
  const text = Buffer.from(bytes).toString('utf8');
  return /[\u3000-\u9fff\uff00-\uffef\u{20000}-\u{3134f}]/u.test(text) && PLAUSIBLE_CJK.test(text);
}

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if ((bytes[i] as number) >= 0x80) return false;
  return true;
}

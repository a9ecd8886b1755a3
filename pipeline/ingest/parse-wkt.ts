/** One WKT node: KEYWORD[child, child, …] where children are strings, numbers or nodes. */
export interface WktNode {
  keyword: string;
  children: WktValue[];
}

/** A value inside a WKT node. */
export type WktValue = WktNode | string | number;

/** A text that is not well-formed WKT; the message says where. */
export class WktSyntaxError extends Error {
  override readonly name = 'WktSyntaxError';
}

/**
 * Parses WKT 1 (OGC and ESRI flavours) or WKT 2 into a tree. Only the syntax is
 * checked here; what the tree means is decided by the CRS identification.
 */
export function parseWkt(text: string): WktNode {
  const parser = new WktParser(text.replace(/^\uFEFF/, '').trim());
  const node = parser.node();
  parser.end();
  return node;
}

/** The first direct child node with one of the keywords (case-insensitive). */
export function childNode(node: WktNode, ...keywords: string[]): WktNode | undefined {
  const wanted = keywords.map((k) => k.toUpperCase());
  return node.children.find((c): c is WktNode => typeof c === 'object' && wanted.includes(c.keyword.toUpperCase()));
}

/** All direct child nodes with the keyword. */
export function childNodes(node: WktNode, keyword: string): WktNode[] {
  const wanted = keyword.toUpperCase();
  return node.children.filter((c): c is WktNode => typeof c === 'object' && c.keyword.toUpperCase() === wanted);
}

/** The node's first string child (its name), or "". */
export function nodeName(node: WktNode | undefined): string {
  const first = node?.children[0];
  return typeof first === 'string' ? first : '';
}

/** The node's number child at `index`, or undefined. */
export function nodeNumber(node: WktNode | undefined, index: number): number | undefined {
  const value = node?.children[index];
  return typeof value === 'number' ? value : undefined;
}

class WktParser {
  private pos = 0;
  constructor(private readonly text: string) {}

  node(): WktNode {
    const keyword = this.keyword();
    this.skipSpace();
    const open = this.text[this.pos];
    if (open !== '[' && open !== '(') this.fail(`expected "[" after ${keyword}`);
    this.pos++;
    const children: WktValue[] = [];
    for (;;) {
      this.skipSpace();
      children.push(this.value());
      this.skipSpace();
      const c = this.text[this.pos++];
      if (c === ',') continue;
      if (c === ']' || c === ')') return { keyword, children };
      this.fail(c === undefined ? 'unexpected end of text' : `unexpected "${c}"`);
    }
  }

  end(): void {
    this.skipSpace();
    if (this.pos < this.text.length) this.fail('text after the end of the definition');
  }

  private value(): WktValue {
    const c = this.text[this.pos];
    if (c === '"') return this.quoted();
    if (c !== undefined && /[-+.\d]/.test(c)) return this.number();
    if (c !== undefined && /[A-Za-z]/.test(c)) {
      const save = this.pos;
      const word = this.keyword();
      this.skipSpace();
      const next = this.text[this.pos];
      if (next === '[' || next === '(') {
        this.pos = save;
        return this.node();
      }
      return word; // a bare enum value such as AXIS["x",EAST]
    }
    return this.fail(c === undefined ? 'unexpected end of text' : `unexpected "${c}"`);
  }

  private keyword(): string {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos, this.pos + 64));
    if (!m) this.fail('expected a keyword');
    this.pos += (m as RegExpExecArray)[0].length;
    return (m as RegExpExecArray)[0];
  }

  private quoted(): string {
    let out = '';
    this.pos++;
    for (;;) {
      const end = this.text.indexOf('"', this.pos);
      if (end < 0) this.fail('unterminated string');
      out += this.text.slice(this.pos, end);
      this.pos = end + 1;
      // WKT escapes a quote by doubling it.
      if (this.text[this.pos] !== '"') return out;
      out += '"';
      this.pos++;
    }
  }

  private number(): number {
    const m = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(this.text.slice(this.pos, this.pos + 64));
    if (!m) this.fail('malformed number');
    this.pos += (m as RegExpExecArray)[0].length;
    return Number((m as RegExpExecArray)[0]);
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] as string)) this.pos++;
  }

  private fail(message: string): never {
    throw new WktSyntaxError(`${message} at character ${this.pos + 1}`);
  }
}

/**
 * A fast parser for the plain block-style YAML that property files are almost always written
 * in: nested mappings and sequences, plain and quoted one-line scalars, one-line flow
 * collections (`[not_null, unique]`, `{values: [a, b]}`) and comments.
 *
 * Anything else (anchors, tags, block scalars, multi-line scalars, escapes, numbers other
 * than plain integers, duplicate keys, document markers, tabs...) makes it give up and
 * return NOT_SIMPLE; the caller then uses js-yaml on the whole file. So the two never
 * disagree on what a file means (tests/compiler.yaml.test.ts compares them on many inputs);
 * this only exists because a project of thousands of models has megabytes of such YAML and a
 * general parser spends most of a fresh process's time warming up.
 */

export const NOT_SIMPLE: unique symbol = Symbol('not simple YAML');

/** Thrown internally to abandon the fast path. */
class Bail {}
const BAIL = new Bail();

const INTEGER = /^(?:0|[1-9][0-9]{0,14})$/;
const NULLS = new Set(['~', 'null', 'Null', 'NULL']);
const BOOLS = new Map([['true', true], ['True', true], ['TRUE', true], ['false', false], ['False', false], ['FALSE', false]]);
/** Characters that may not start a plain scalar here (indicators, digits, signs, dots). */
const PLAIN_START_BAD = new Set([...'-?:,[]{}#&*!|>\'"%@`+.0123456789']);

export function parseSimpleYaml(text: string): unknown {
  if (text.includes('\r') || text.includes('\t') || text.charCodeAt(0) === 0xfeff) return NOT_SIMPLE;
  // Lines are kept as offsets into the text: slicing tens of thousands of lines would cost
  // more (in allocation and garbage collection) than parsing them.
  const starts: number[] = [];
  const ends: number[] = [];
  const indents: number[] = [];
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    let first = start;
    while (text.charCodeAt(first) === 32) first++;
    let last = end;
    while (last > first && text.charCodeAt(last - 1) === 32) last--;
    if (last > first && text.charCodeAt(first) !== 35 /* # */) {
      if (first === start && (text.startsWith('---', first) || text.startsWith('...', first) || text.charCodeAt(first) === 37 /* % */)) return NOT_SIMPLE;
      starts.push(first);
      ends.push(last);
      indents.push(first - start);
    }
    start = end + 1;
  }
  if (starts.length === 0) return NOT_SIMPLE;
  try {
    const parser = new Parser(text, starts, ends, indents);
    const value = parser.block(indents[0]);
    return parser.done() ? value : NOT_SIMPLE;
  } catch (err) {
    if (err === BAIL) return NOT_SIMPLE;
    throw err;
  }
}

class Parser {
  private i = 0;
  constructor(
    private readonly text: string,
    private readonly starts: number[],
    private readonly ends: number[],
    private readonly indents: number[],
  ) {}

  done(): boolean {
    return this.i === this.starts.length;
  }

  block(indent: number): unknown {
    return isSeqItem(this.text, this.starts[this.i], this.ends[this.i]) ? this.seq(indent) : this.map(indent);
  }

  /** After a value that ended its line, the next line may not be indented further. */
  private expectNoContinuation(indent: number): void {
    if (this.i < this.starts.length && this.indents[this.i] > indent) throw BAIL;
  }

  private map(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const { text, starts, ends, indents } = this;
    while (this.i < starts.length && indents[this.i] === indent) {
      const start = starts[this.i];
      const end = ends[this.i];
      const colon = keyEnd(text, start, end);
      if (colon === -1 || (colon + 1 < end && text.charCodeAt(colon + 1) !== 32)) throw BAIL;
      const key = text.slice(start, colon);
      if (key === '__proto__' || Object.prototype.hasOwnProperty.call(out, key)) throw BAIL;
      let at = colon + 1;
      while (at < end && text.charCodeAt(at) === 32) at++;
      this.i++;
      if (at === end || text.charCodeAt(at) === 35 /* # */) {
        const next = this.i < starts.length ? indents[this.i] : -1;
        if (next > indent) out[key] = this.block(next);
        else if (next === indent && isSeqItem(text, starts[this.i], ends[this.i])) out[key] = this.seq(indent);
        else out[key] = null;
      } else {
        out[key] = inlineValue(text, at, end);
        this.expectNoContinuation(indent);
      }
    }
    return out;
  }

  private seq(indent: number): unknown[] {
    const out: unknown[] = [];
    const { text, starts, ends, indents } = this;
    while (this.i < starts.length && indents[this.i] === indent && isSeqItem(text, starts[this.i], ends[this.i])) {
      const start = starts[this.i];
      const end = ends[this.i];
      let at = start + 1;
      while (at < end && text.charCodeAt(at) === 32) at++;
      if (at === end || text.charCodeAt(at) === 35 /* # */) {
        this.i++;
        const next = this.i < starts.length ? indents[this.i] : -1;
        out.push(next > indent ? this.block(next) : null);
      } else if (startsWithKey(text, at, end)) {
        // `- key: value` starts a mapping whose keys line up with `key`.
        indents[this.i] = indent + (at - start);
        starts[this.i] = at;
        out.push(this.map(indent + (at - start)));
      } else {
        if (isSeqItem(text, at, end)) throw BAIL;
        this.i++;
        out.push(inlineValue(text, at, end));
        this.expectNoContinuation(indent);
      }
    }
    return out;
  }
}

/** Index of the `:` ending a plain key (letters, digits, `_`, `-`) at `from`, or -1. */
function keyEnd(text: string, from: number, end: number): number {
  const first = text.charCodeAt(from);
  if (!((first >= 65 && first <= 90) || (first >= 97 && first <= 122) || first === 95)) return -1;
  for (let i = from + 1; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 58 /* : */) return i;
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 45)) return -1;
  }
  return -1;
}

/** `key:` followed by a space or the end of the line. */
function startsWithKey(text: string, from: number, end: number): boolean {
  const colon = keyEnd(text, from, end);
  return colon !== -1 && (colon + 1 === end || text.charCodeAt(colon + 1) === 32);
}

function isSeqItem(text: string, from: number, end: number): boolean {
  return text.charCodeAt(from) === 45 /* - */ && (from + 1 === end || text.charCodeAt(from + 1) === 32);
}

/** The value after `key: ` or `- `, up to the end of the line (a trailing comment is allowed). */
function inlineValue(text: string, from: number, end: number): unknown {
  const c = text.charCodeAt(from);
  if (c === 34 /* " */ || c === 39 /* ' */ || c === 91 /* [ */ || c === 123 /* { */) {
    const r = new FlowReader(text, from, end);
    const value = r.node();
    r.skipSpaces();
    if (r.pos < end && !(text.charCodeAt(r.pos) === 35 && text.charCodeAt(r.pos - 1) === 32)) throw BAIL;
    return value;
  }
  // A plain scalar ends at ` #` (a comment); `: ` inside it would make it a mapping.
  let stop = end;
  for (let i = from + 1; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 35 /* # */ && text.charCodeAt(i - 1) === 32) {
      stop = i;
      break;
    }
    if (c === 58 /* : */ && (i + 1 === end || text.charCodeAt(i + 1) === 32)) throw BAIL;
  }
  while (stop > from && text.charCodeAt(stop - 1) === 32) stop--;
  return plainScalar(text.slice(from, stop));
}

function plainScalar(s: string): unknown {
  if (s === '' || PLAIN_START_BAD.has(s[0])) {
    if (INTEGER.test(s)) return Number(s);
    throw BAIL;
  }
  if (NULLS.has(s)) return null;
  const bool = BOOLS.get(s);
  return bool === undefined ? s : bool;
}

/** One-line flow collections and quoted scalars, between `pos` and `end`. */
class FlowReader {
  constructor(private readonly text: string, public pos: number, private readonly end: number) {}

  private peek(): number {
    return this.pos < this.end ? this.text.charCodeAt(this.pos) : -1;
  }

  skipSpaces(): void {
    while (this.peek() === 32) this.pos++;
  }

  node(): unknown {
    const c = this.peek();
    if (c === 91 /* [ */) return this.seq();
    if (c === 123 /* { */) return this.map();
    if (c === 34 /* " */ || c === 39 /* ' */) return this.quoted(c);
    return this.plain();
  }

  private quoted(quote: number): string {
    const close = this.text.indexOf(quote === 34 ? '"' : "'", this.pos + 1);
    if (close === -1 || close >= this.end) throw BAIL;
    const value = this.text.slice(this.pos + 1, close);
    if (quote === 34 && value.includes('\\')) throw BAIL;
    if (quote === 39 && close + 1 < this.end && this.text.charCodeAt(close + 1) === 39) throw BAIL; // '' escapes
    this.pos = close + 1;
    return value;
  }

  private plain(): unknown {
    const start = this.pos;
    for (; this.pos < this.end; this.pos++) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 44 /* , */ || c === 91 /* [ */ || c === 93 /* ] */ || c === 123 /* { */ || c === 125 /* } */) break;
      if (c === 35 /* # */ || c === 58 /* : */) throw BAIL;
    }
    let stop = this.pos;
    while (stop > start && this.text.charCodeAt(stop - 1) === 32) stop--;
    return plainScalar(this.text.slice(start, stop));
  }

  private seq(): unknown[] {
    const out: unknown[] = [];
    this.pos++;
    this.skipSpaces();
    if (this.peek() === 93 /* ] */) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpaces();
      out.push(this.node());
      this.skipSpaces();
      const c = this.peek();
      this.pos++;
      if (c === 93 /* ] */) return out;
      if (c !== 44 /* , */) throw BAIL;
      this.skipSpaces();
      if (this.peek() === 93) throw BAIL; // trailing comma
    }
  }

  private map(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.pos++;
    this.skipSpaces();
    if (this.peek() === 125 /* } */) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpaces();
      const colon = keyEnd(this.text, this.pos, this.end);
      if (colon === -1 || colon + 1 >= this.end || this.text.charCodeAt(colon + 1) !== 32) throw BAIL;
      const name = this.text.slice(this.pos, colon);
      if (name === '__proto__' || Object.prototype.hasOwnProperty.call(out, name)) throw BAIL;
      this.pos = colon + 1;
      this.skipSpaces();
      const c0 = this.peek();
      if (c0 === 44 || c0 === 125 || c0 === -1) throw BAIL;
      out[name] = this.node();
      this.skipSpaces();
      const c = this.peek();
      this.pos++;
      if (c === 125 /* } */) return out;
      if (c !== 44 /* , */) throw BAIL;
      this.skipSpaces();
      if (this.peek() === 125) throw BAIL;
    }
  }
}

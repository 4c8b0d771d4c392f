/**
 * The fast scanner for templates made only of text and simple helper calls with literal
 * arguments (the vast majority of models), which are then rendered without Handlebars.
 *
 * A scanned template is described by numbers alone, as offsets into its text: it costs a few
 * small typed-array slots instead of an object per part, tens of thousands of which would live
 * for the whole compile of a large project; and it is cheap to hand from the thread that read
 * and scanned the file (see project/load-worker.ts) to the one that compiles it. Strings are
 * sliced from the text only when a part is used.
 *
 * Layout, one part after another:
 *   text:   TEXT, start, end
 *   helper: code (HELPER_CODES), line, column, argc, hashc,
 *           argc x (kind, start, end), hashc x (keyStart, keyEnd, kind, start, end)
 * where kind is a LITERAL_KINDS index and start/end delimit the literal's text (a string's
 * without its quotes).
 */

export const TEXT = 0;
/** Index = the code of a helper in a scanned template (0 is TEXT). */
export const HELPER_CODES = ['', 'ref', 'source', 'config', 'var', 'env', 'is_incremental', 'this'] as const;
/** Literal kinds, by index. */
export const LITERAL_KINDS = ['string', 'number', 'true', 'false', 'null', 'undefined'] as const;

/** A scanned template's parts: `ops` from `from` (inclusive) to `to` (exclusive). */
export interface TemplateScan {
  ops: Int32Array;
  from: number;
  to: number;
}

/** Appends the parts of `text` to `out` and returns true, or leaves `out` as it was and returns false. */
export type TemplateScanner = (text: string, out: number[]) => boolean;

/**
 * Makes a scanner. Accepts only text and `{{helper literal... key=literal...}}` calls of the
 * built-in helpers (and `{{this}}`); returns false for anything else (blocks, partials,
 * comments, whitespace control, escapes, non-literal arguments), which then takes the
 * Handlebars path, so the two paths never disagree.
 *
 * Self-contained (it uses nothing from outside its own body): the project loader runs its
 * source text in a worker thread.
 */
export function makeTemplateScanner(): TemplateScanner {
  /** Literal tokens inside a mustache: strings, numbers, booleans, null, and key=value pairs. */
  const TOKEN = /\s*(?:([A-Za-z_][A-Za-z0-9_]*)=)?(?:"([^"\\]*)"|'([^'\\]*)'|(-?\d+(?:\.\d+)?)(?=[\s}])|(true|false|null|undefined)(?=[\s}]))/y;
  const HELPER_NAME = /\s*([A-Za-z_][A-Za-z0-9_]*)/y;
  const CODES = new Map([['ref', 1], ['source', 2], ['config', 3], ['var', 4], ['env', 5], ['is_incremental', 6], ['this', 7]]);
  const THIS = 7;
  const KEYWORDS = new Map([['true', 2], ['false', 3], ['null', 4], ['undefined', 5]]);
  /** Hash pairs are gathered here: they follow the arguments, whose number is known only at the end. */
  const pairs: number[] = [];
  return (text, out) => {
    const mark = out.length;
    const reject = () => {
      out.length = mark;
      return false;
    };
    let pos = 0;
    let line = 1;
    let lineStart = 0;
    /** Newlines before this offset are counted in `line`. */
    let counted = 0;
    const advanceLines = (to: number) => {
      for (let i = text.indexOf('\n', counted); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) {
        line++;
        lineStart = i + 1;
      }
      counted = to;
    };
    for (;;) {
      const open = text.indexOf('{{', pos);
      if (open === -1) {
        if (pos < text.length) out.push(0, pos, text.length);
        return true;
      }
      if (open > 0 && text[open - 1] === '\\') return reject();
      const next = text[open + 2];
      if (next === '{' || next === '~' || next === '!' || next === '#' || next === '/' || next === '>' || next === '^' || next === '&' || next === '*') return reject();
      if (open > pos) out.push(0, pos, open);
      advanceLines(open);
      const column = open - lineStart + 1;
      HELPER_NAME.lastIndex = open + 2;
      const name = HELPER_NAME.exec(text);
      const code = name ? CODES.get(name[1]) : undefined;
      if (code === undefined) return reject();
      const head = out.length;
      out.push(code, line, column, 0, 0);
      let at = HELPER_NAME.lastIndex;
      let argc = 0;
      pairs.length = 0;
      for (;;) {
        TOKEN.lastIndex = at;
        const tok = TOKEN.exec(text);
        if (!tok) break;
        const end = TOKEN.lastIndex;
        let kind: number;
        let start: number;
        let stop = end;
        if (tok[2] !== undefined || tok[3] !== undefined) {
          kind = 0;
          stop = end - 1;
          start = stop - (tok[2] ?? tok[3])!.length;
        } else if (tok[4] !== undefined) {
          kind = 1;
          start = end - tok[4].length;
        } else {
          kind = KEYWORDS.get(tok[5])!;
          start = end - tok[5].length;
        }
        if (tok[1]) {
          // key=literal: the key ends just before the `=` that precedes the literal (and its quote).
          const keyEnd = start - (kind === 0 ? 2 : 1);
          pairs.push(keyEnd - tok[1].length, keyEnd, kind, start, stop);
        } else if (pairs.length) {
          return reject(); // positional after hash: let Handlebars report it
        } else {
          out.push(kind, start, stop);
          argc++;
        }
        at = end;
      }
      while (text[at] === ' ' || text[at] === '\t' || text[at] === '\n' || text[at] === '\r') at++;
      if (!text.startsWith('}}', at) || text[at - 1] === '~' || text[at + 2] === '}') return reject();
      if (code === THIS && (argc || pairs.length)) return reject();
      out[head + 3] = argc;
      out[head + 4] = pairs.length / 5;
      for (let i = 0; i < pairs.length; i++) out.push(pairs[i]);
      advanceLines(at + 2);
      pos = at + 2;
    }
  };
}

/** The value of the literal at `ops[at]` (kind, start, end) in `text`. */
export function literalAt(text: string, ops: Int32Array, at: number): unknown {
  switch (ops[at]) {
    case 0:
      return text.slice(ops[at + 1], ops[at + 2]);
    case 1:
      return Number(text.slice(ops[at + 1], ops[at + 2]));
    case 2:
      return true;
    case 3:
      return false;
    case 4:
      return null;
    default:
      return undefined;
  }
}

/**
 * Identifier normalisation and blocklists, run as SQL on real DuckDB and real PostgreSQL.
 * Every vector is evaluated on both engines and must give the same, expected answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  blockedSql,
  DEFAULT_BLOCKLIST,
  parseBlockEntry,
  validateRegex,
  type BlockRule,
} from '../src/identity/blocklist.js';
import {
  isEmptySql,
  NORMALIZERS,
  normalizeSql,
  SUPPORTED_COUNTRIES,
  validateNormalizeOptions,
  type NormalizeOptions,
  type NormalizerName,
} from '../src/identity/normalize.js';
import { openWarehouse } from '../src/warehouse/registry.js';
import type { Warehouse } from '../src/warehouse/types.js';
import { createPgDatabase, dropPgDatabase, PG } from './helpers/project.js';

const engines: Warehouse[] = [];
let pgDatabase = '';

beforeAll(async () => {
  engines.push(await openWarehouse({ type: 'duckdb', path: ':memory:' }));
  pgDatabase = await createPgDatabase();
  engines.push(await openWarehouse({ type: 'postgres', host: PG.host, port: PG.port, user: PG.user, database: pgDatabase }));
}, 60_000);

afterAll(async () => {
  for (const wh of engines) await wh.close();
  if (pgDatabase) await dropPgDatabase(pgDatabase);
}, 60_000);

type Input = string | null;

/**
 * Evaluates `exprFor(column)` over `inputs` on every engine; returns each engine's results,
 * keyed by engine, as [input, output] pairs so a failure names the vector.
 * `sqlType` casts the inputs first, to feed non-text columns.
 */
async function evaluate(exprFor: (wh: Warehouse, column: string) => string, inputs: Input[], sqlType?: 'bigint' | 'double'): Promise<Record<string, [Input, unknown][]>> {
  const out: Record<string, [Input, unknown][]> = {};
  for (const wh of engines) {
    const d = wh.dialect;
    const rows = inputs.map((v, i) => {
      const literal = v === null ? 'NULL' : sqlType ? v : d.quoteString(v);
      return `(${i}, ${sqlType ? d.cast(literal, sqlType) : literal})`;
    });
    const sql = `select i, ${exprFor(wh, 'x')} as v from (values ${rows.join(', ')}) as t(i, x) order by i`;
    const result = await wh.query<{ i: number; v: unknown }>(sql);
    out[wh.type] = result.map((r) => [inputs[Number(r.i)], r.v]);
  }
  return out;
}

/** Asserts that every engine maps each input to its expected value. */
async function expectVectors(exprFor: (wh: Warehouse, column: string) => string, vectors: [Input, unknown][], sqlType?: 'bigint' | 'double'): Promise<void> {
  const got = await evaluate(exprFor, vectors.map(([input]) => input), sqlType);
  const want = Object.fromEntries(engines.map((wh) => [wh.type, vectors]));
  expect(got).toEqual(want);
}

function normalizeVectors(name: NormalizerName, opts: NormalizeOptions, vectors: [Input, string | null][], sqlType?: 'bigint' | 'double') {
  return expectVectors((wh, col) => normalizeSql(name, col, opts, wh.dialect), vectors, sqlType);
}

describe('email', () => {
  it('lower-cases, trims and validates (no folding by default)', async () => {
    await normalizeVectors('email', {}, [
      ['Alice@Example.COM', 'alice@example.com'],
      ['  bob@example.org ', 'bob@example.org'],
      ['\tcarol@example.net\n', 'carol@example.net'],
      ['\u00a0dave@x.io\u200b', 'dave@x.io'],
      ['a+tag@y.com', 'a+tag@y.com'],
      ['first.last@gmail.com', 'first.last@gmail.com'],
      ['First.Last@GoogleMail.com', 'first.last@googlemail.com'],
      ['ÉMILE@Exämple.de', 'émile@exämple.de'],
      ["o'brien@example.ie", "o'brien@example.ie"],
      ['no-at-sign.com', null],
      ['a@b', null],
      ['a@@b.com', null],
      ['a@b@c.com', null],
      ['a b@c.com', null],
      ['a@b .com', null],
      ['@b.com', null],
      ['a@.com', null],
      ['a@b.', null],
      ['', null],
      ['   ', null],
      [null, null],
      ['unknown', null],
      ['N/A', null],
    ]);
  });

  it('folds +tags when fold_plus is on', async () => {
    await normalizeVectors('email', { fold_plus: true }, [
      ['a+tag@y.com', 'a@y.com'],
      ['A+Tag+More@Y.com', 'a@y.com'],
      [' b+@y.com ', 'b@y.com'],
      ['+tag@y.com', null],
      ['plain@y.com', 'plain@y.com'],
      ['first.last+x@gmail.com', 'first.last@gmail.com'],
      ['a+b', null],
    ]);
  });

  it('folds Gmail dots and googlemail.com when fold_gmail_dots is on', async () => {
    await normalizeVectors('email', { fold_gmail_dots: true }, [
      ['First.Last@gmail.com', 'firstlast@gmail.com'],
      ['f.i.r.s.t@googlemail.com', 'first@gmail.com'],
      ['First.Last@GMAIL.COM', 'firstlast@gmail.com'],
      ['first.last@example.com', 'first.last@example.com'],
      ['first.last@gmail.com.au', 'first.last@gmail.com.au'],
      ['a.b@notgmail.com', 'a.b@notgmail.com'],
      ['first.last+x@gmail.com', 'firstlast+x@gmail.com'],
      ['.@gmail.com', null],
      ['not an email', null],
    ]);
  });

  it('applies both foldings together', async () => {
    await normalizeVectors('email', { fold_plus: true, fold_gmail_dots: true }, [
      [' First.Last+News@GoogleMail.com ', 'firstlast@gmail.com'],
      ['a.b+c@notgmail.com', 'a.b@notgmail.com'],
      ['firstlast@gmail.com', 'firstlast@gmail.com'],
    ]);
  });
});

describe('phone', () => {
  it('brings US layouts, international forms and junk to E.164 with the US default', async () => {
    const n = '+14155550142';
    await normalizeVectors('phone', {}, [
      ['+1 (415) 555-0142', n],
      ['415.555.0142', n],
      ['4155550142', n],
      ['001 415 555 0142', n],
      ['1-415-555-0142', n],
      ['(415) 555-0142', n],
      ['(415)555-0142', n],
      ['+1 415 555 0142', n],
      ['+14155550142', n],
      ['  +1 415 555 0142\t', n],
      ['415-555-0142 ext. 12', n],
      ['415-555-0142 x12', n],
      ['tel:+1-415-555-0142', n],
      ['4155550142.0', n],
      ['011 44 20 7946 0018', '+442079460018'],
      ['+44 20 7946 0018', '+442079460018'],
      ['+44 (0)20 7946 0018', '+442079460018'],
      ['0044 20 7946 0018', '+442079460018'],
      ['+49 30 1234567', '+49301234567'],
      ['+49 (0)30 1234567', '+49301234567'],
      ['+33 1 23 45 67 89', '+33123456789'],
      ['+39 06 1234 5678', '+390612345678'],
      ['+7 495 123-45-67', '+74951234567'],
      ['+44 20 7946 001', '+44207946001'],
      // Junk, too short, too long, impossible NANP numbers.
      ['0000000000', null],
      ['000-000-0000', null],
      ['1234567890', null],
      ['(015) 555-0142', null],
      ['415-155-0142', null],
      ['415-055-0142', null],
      ['+1 115 555 0142', null],
      ['555-0142', null],
      ['415555014', null],
      ['24155550142', null],
      ['+1 415 555 01422', null],
      ['+1234567890123456', null],
      ['+0 123 456 7890', null],
      ['+33 1 23 45 67 8', null],
      ['+44 20 794', null],
      ['+7 12345', null],
      ['1-800-FLOWERS', null],
      ['415-555-0142 / 415-555-0199', null],
      ['n/a', null],
      ['unknown', null],
      ['null', null],
      ['+', null],
      ['', null],
      [null, null],
    ]);
  });

  it('reads national numbers of other default countries', async () => {
    const cases: [string, [Input, string | null][]][] = [
      ['GB', [
        ['020 7946 0018', '+442079460018'],
        ['07911 123456', '+447911123456'],
        ['7911 123456', '+447911123456'],
        ['44 20 7946 0018', '+442079460018'],
        ['44 (0)20 7946 0018', '+442079460018'],
        ['+44 20 7946 0018', '+442079460018'],
        ['00 44 20 7946 0018', '+442079460018'],
        ['+1 415 555 0142', '+14155550142'],
        ['011 44 20 7946 0018', null],
        ['0', null],
        ['020 7946', null],
      ]],
      ['DE', [['030 1234567', '+49301234567'], ['0151 23456789', '+4915123456789'], ['+49 151 23456789', '+4915123456789']]],
      ['FR', [['01 23 45 67 89', '+33123456789'], ['06 12 34 56 78', '+33612345678'], ['06 12 34 56', null]]],
      ['AU', [['(02) 9876 5432', '+61298765432'], ['0412 345 678', '+61412345678']]],
      ['NL', [['06-12345678', '+31612345678'], ['020 123 4567', '+31201234567']]],
      ['ES', [['612 34 56 78', '+34612345678'], ['91 123 45 67', '+34911234567']]],
      ['IT', [['06 1234 5678', '+390612345678'], ['333 123 4567', '+393331234567']]],
      ['IN', [['098765 43210', '+919876543210'], ['98765 43210', '+919876543210']]],
      ['BR', [['(11) 91234-5678', '+5511912345678'], ['(011) 91234-5678', '+5511912345678'], ['(21) 2345-6789', '+552123456789']]],
      ['MX', [['55 1234 5678', '+525512345678'], ['+52 55 1234 5678', '+525512345678']]],
      ['CA', [['604-555-0199', '+16045550199'], ['1 604 555 0199', '+16045550199'], ['011 33 1 23 45 67 89', '+33123456789']]],
      ['gb', [['020 7946 0018', '+442079460018']]],
    ];
    for (const [country, vectors] of cases) await normalizeVectors('phone', { default_country: country }, vectors);
  });

  it('accepts numbers stored in numeric columns', async () => {
    await normalizeVectors('phone', {}, [['4155550142', '+14155550142'], ['14155550142', '+14155550142']], 'bigint');
    await normalizeVectors('phone', {}, [['4155550142', '+14155550142'], [null, null]], 'double');
    await normalizeVectors('phone', { default_country: 'GB' }, [['442079460018', '+442079460018']], 'double');
  });
});

describe('simple normalisers', () => {
  it('trim, lower, upper and none', async () => {
    await normalizeVectors('trim', {}, [['  Abc  ', 'Abc'], ['A b', 'A b'], ['\tx\n', 'x'], ['', null], ['   ', null], [null, null]]);
    await normalizeVectors('lower', {}, [['ABC ', 'abc'], [' MiXeD Case', 'mixed case'], ['', null], [' ', null], [null, null]]);
    await normalizeVectors('upper', {}, [[' abc', 'ABC'], ['x1-y', 'X1-Y'], ['', null], [null, null]]);
    await normalizeVectors('none', {}, [[' x ', ' x '], ['Case', 'Case'], ['  ', null], ['', null], ['\t', null], [null, null]]);
  });

  it('casts non-text inputs to text', async () => {
    await normalizeVectors('none', {}, [['42', '42'], [null, null]], 'bigint');
    await normalizeVectors('trim', {}, [['7', '7']], 'bigint');
    await normalizeVectors('email', {}, [['42', null]], 'bigint');
  });
});

describe('isEmptySql', () => {
  it('is true for NULL and blank values only', async () => {
    await expectVectors((wh, col) => isEmptySql(col, wh.dialect), [
      [null, true], ['', true], ['   ', true], ['\t\n', true], ['\u00a0', true], ['a', false], [' a ', false], ['0', false],
    ]);
  });

  it('casts with a dialect, so non-text columns work', async () => {
    await expectVectors((wh, col) => isEmptySql(col, wh.dialect, true), [['0', false], [null, true]], 'bigint');
  });

  it('agrees with the normalisers: empty inputs normalise to NULL', async () => {
    const blanks: Input[] = [null, '', ' ', '\t', '\u00a0\u200b', '\ufeff '];
    for (const name of NORMALIZERS) {
      await normalizeVectors(name, {}, blanks.map((b) => [b, null]));
    }
  });
});

describe('normalize options', () => {
  it('lists problems as messages', () => {
    expect(validateNormalizeOptions('email', { fold_plus: true, fold_gmail_dots: false })).toEqual([]);
    expect(validateNormalizeOptions('phone', { default_country: 'GB' })).toEqual([]);
    expect(validateNormalizeOptions('phone', { default_country: 'gb' })).toEqual([]);
    expect(validateNormalizeOptions('phone', {})).toEqual([]);
    // Undefined options and keys owned by the spec (limit, priority) are not problems.
    expect(validateNormalizeOptions('email', { default_country: undefined, fold_plus: undefined, limit: 3 })).toEqual([]);
    const [unknownCountry] = validateNormalizeOptions('phone', { default_country: 'XX' });
    expect(unknownCountry).toMatch(/unknown default_country "XX" \(supported: AU, BR, CA, DE, ES, FR, GB, IN, IT, MX, NL, US\)/);
    expect(validateNormalizeOptions('phone', { fold_plus: true })).toEqual(['fold_plus only applies to the email normaliser, not phone']);
    expect(validateNormalizeOptions('lower', { default_country: 'US' })).toEqual(['default_country only applies to the phone normaliser, not lower']);
    expect(validateNormalizeOptions('email', { fold_plus: 'yes' })).toEqual(['fold_plus must be true or false, got "yes"']);
    expect(validateNormalizeOptions('emial', {})[0]).toMatch(/unknown normaliser "emial"/);
  });

  it('supports the required countries and refuses unknown ones when generating SQL', () => {
    for (const c of ['US', 'CA', 'GB', 'DE', 'FR', 'AU', 'NL', 'ES', 'IT', 'IN', 'BR', 'MX']) expect(SUPPORTED_COUNTRIES[c]).toBeDefined();
    expect(() => normalizeSql('phone', 'x', { default_country: 'XX' }, engines[0].dialect)).toThrow(/unknown default_country "XX"/);
  });

  it('keeps the generated SQL compact', () => {
    for (const wh of engines) {
      expect(normalizeSql('phone', 'raw_value', { default_country: 'GB' }, wh.dialect).length).toBeLessThan(2500);
      expect(normalizeSql('email', 'raw_value', { fold_plus: true, fold_gmail_dots: true }, wh.dialect).length).toBeLessThan(2500);
    }
  });
});

describe('blocklist', () => {
  interface Scenario {
    idType: string;
    normalizer: NormalizerName;
    rules: BlockRule[];
    defaults: boolean;
    opts?: NormalizeOptions;
    /** Raw input -> blocked after normalisation. */
    vectors: [Input, boolean][];
  }

  async function expectBlocked(s: Scenario): Promise<void> {
    await expectVectors(
      (wh, col) => blockedSql(normalizeSql(s.normalizer, col, s.opts ?? {}, wh.dialect), s.idType, s.normalizer, s.rules, wh.dialect, s.defaults, s.opts),
      s.vectors,
    );
  }

  it('blocks placeholder emails by default, and nothing real', async () => {
    await expectBlocked({
      idType: 'email', normalizer: 'email', rules: [], defaults: true, vectors: [
        ['test@test.com', true], ['TEST@Test.com ', true], ['test@example.com', true], ['a@a.com', true], ['email@email.com', true],
        ['noreply@shop.com', true], ['no-reply@shop.com', true], ['donotreply@shop.com', true], ['do-not-reply@shop.com', true],
        ['unknown@shop.com', true], ['none@none.com', true], ['noemail@shop.com', true], ['no-email@shop.com', true], ['test@shop.com', true],
        ['jane@example.com', true], ['jane@example.org', true], ['jane@shop.test', true], ['jane@shop.invalid', true],
        ['jane@shop.com', false], ['testing@shop.com', false], ['noreplyx@shop.com', false], ['jane.test@shop.com', false],
        ['jane@example.company.com', false], ['nora@none.co.uk', false], ['a@a.co', false],
        // Rejected by the normaliser, so not the blocklist's to count.
        ['null', false], [null, false],
      ],
    });
  });

  it('applies no defaults when they are off', async () => {
    await expectBlocked({ idType: 'email', normalizer: 'email', rules: [], defaults: false, vectors: [['test@test.com', false], ['noreply@shop.com', false]] });
    await expectBlocked({ idType: 'customer_id', normalizer: 'none', rules: [], defaults: false, vectors: [['0', false], ['null', false]] });
  });

  it('matches user literals after normalisation and user regexes against the normalised value', async () => {
    const rules = ['Ops@Shop.com', '/^info@/', '/@(internal|staff)\\.shop\\.com$/', "o'hara@shop.com"].map(parseBlockEntry);
    await expectBlocked({
      idType: 'email', normalizer: 'email', rules, defaults: false, vectors: [
        ['ops@shop.com', true], [' OPS@shop.COM', true], ['info@anywhere.org', true], ['Info@Anywhere.org', true],
        ['jo@internal.shop.com', true], ['jo@staff.shop.com', true], ["O'Hara@shop.com", true],
        ['ops2@shop.com', false], ['jo@shop.com', false], ['myinfo@x.com', false], ['test@test.com', false],
      ],
    });
  });

  it('chooses type defaults by normaliser and by type name', async () => {
    await expectBlocked({ idType: 'work_email', normalizer: 'email', rules: [], defaults: true, vectors: [['noreply@corp.com', true], ['jane@corp.com', false]] });
    await expectBlocked({ idType: 'email', normalizer: 'lower', rules: [], defaults: true, vectors: [['NoReply@corp.com', true], ['jane@corp.com', false]] });
    // Email defaults do not leak into other types.
    await expectBlocked({ idType: 'username', normalizer: 'lower', rules: [], defaults: true, vectors: [['test@test.com', false], ['noreply@corp.com', false]] });
  });

  it('blocks placeholder phones by default, and nothing real', async () => {
    await expectBlocked({
      idType: 'phone', normalizer: 'phone', rules: [], defaults: true, vectors: [
        ['+1 222 222 2222', true], ['+1 999-999-9999', true], ['+7 000 000 0000', true], ['+49 30 10000000', true], ['+1 777 777 7777', true],
        ['+1 415 555 0142', false], ['+44 20 7946 0018', false], ['+1 212 200 0000', false], ['+49 30 1000000', false], ['+1 222 222 2223', false],
        ['0000000000', false], ['n/a', false],
      ],
    });
  });

  it('normalises phone literals with the type options', async () => {
    const rules = [parseBlockEntry('020 7946 0018'), parseBlockEntry('/^\\+4420/')];
    await expectBlocked({
      idType: 'phone', normalizer: 'phone', rules, defaults: true, opts: { default_country: 'GB' }, vectors: [
        ['+44 20 7946 0018', true], ['020 7946 0018', true], ['020 7946 0019', true], ['07911 123456', false], ['+1 415 555 0142', false],
      ],
    });
    // The same literal read with the US default is not a valid number, so it blocks nothing.
    await expectBlocked({ idType: 'phone', normalizer: 'phone', rules: [rules[0]], defaults: false, vectors: [['+44 20 7946 0018', false]] });
  });

  it('blocks placeholder words and zero-like keys for every type', async () => {
    await expectBlocked({
      idType: 'customer_id', normalizer: 'none', rules: [], defaults: true, vectors: [
        ['0', true], ['-1', true], ['000', true], ['---', true], ['0-0', true], ['NULL', true], ['None', true], ['nil', true], ['Undefined', true],
        ['unknown', true], ['anonymous', true], ['N/A', true], ['na', true], ['NaN', true], ['test', true],
        ['12345', false], ['C-0001', false], ['0a', false], ['10', false], ['tester', false], ['nana', false], ['anonymous1', false], ['', false],
      ],
    });
  });

  it('combines user rules with defaults, and is FALSE with neither', async () => {
    const rules = [parseBlockEntry('guest'), parseBlockEntry('/^tmp-/')];
    await expectBlocked({
      idType: 'user_id', normalizer: 'trim', rules, defaults: true, vectors: [
        ['guest', true], [' guest ', true], ['Guest', false], ['tmp-123', true], ['undefined', true], ['u-1', false],
      ],
    });
    for (const wh of engines) expect(blockedSql('v', 'user_id', 'trim', [], wh.dialect, false)).toBe('FALSE');
  });

  it('refuses a non-portable user regex when generating SQL', () => {
    expect(() => blockedSql('v', 'email', 'email', [parseBlockEntry('/(a)\\1/')], engines[0].dialect, true)).toThrow(/backreference/);
  });

  it('parses entries', () => {
    expect(parseBlockEntry('/^x$/')).toEqual({ kind: 'regex', value: '^x$' });
    expect(parseBlockEntry('test@test.com')).toEqual({ kind: 'literal', value: 'test@test.com' });
    expect(parseBlockEntry('/')).toEqual({ kind: 'literal', value: '/' });
    expect(parseBlockEntry('/path')).toEqual({ kind: 'literal', value: '/path' });
  });

  it('accepts portable regexes, including every default', () => {
    const defaults = [...DEFAULT_BLOCKLIST.all, ...Object.values(DEFAULT_BLOCKLIST.byType).flat()].filter((r) => r.kind === 'regex');
    for (const r of defaults) expect(validateRegex(r.value), r.value).toBeUndefined();
    for (const p of ['^x$', '^[0-9]{3}$', '[[:digit:]]+', '^(a|b)@', '\\d+\\.\\s', '[\\]a-]', '(?:ab)+', 'a*?b', '\\+1', 'x{255}', '\\Aabc']) {
      expect(validateRegex(p), p).toBeUndefined();
    }
  });

  it('refuses regexes that RE2 and PostgreSQL read differently, with a reason', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['(a)\\1', /backreference/],
      ['(?<n>a)\\k<n>', /\(\?\.\.\.\) group|named backreference/],
      ['a(?=b)', /lookaround/],
      ['a(?!b)', /lookaround/],
      ['(?<=a)b', /lookaround/],
      ['(?<!a)b', /lookaround/],
      ['\\bword\\b', /word boundary/],
      ['(?i)abc', /\(\?\.\.\.\) group/],
      ['a++', /possessive/],
      ['x{300}', /255/],
      ['\\p{L}+', /escape \\p/],
      ['[\\D]', /escape \\D inside brackets/],
      ['\\x41', /escape \\x/],
      ['[abc', /unclosed/],
      ['(abc', /not a valid regular expression/],
      ['abc\\', /lone backslash/],
      ['[[.a.]]', /collating/],
    ];
    for (const [pattern, reason] of cases) expect(validateRegex(pattern), pattern).toMatch(reason);
  });
});

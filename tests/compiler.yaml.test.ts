import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import jsYaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { parseYamlText } from '../src/project/schema.js';
import { NOT_SIMPLE, parseSimpleYaml } from '../src/project/simple-yaml.js';
import { CdpError } from '../src/errors.js';

/** What the full parser makes of a text: the value, or that it rejects it. */
function reference(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA }) };
  } catch {
    return { ok: false };
  }
}

/** The fast parser either gives up or agrees exactly with js-yaml. */
function expectAgrees(text: string): boolean {
  const fast = parseSimpleYaml(text);
  if (fast === NOT_SIMPLE) return false;
  const ref = reference(text);
  expect(ref.ok, `js-yaml rejects what the fast parser accepted: ${JSON.stringify(text)}`).toBe(true);
  expect(fast, JSON.stringify(text)).toStrictEqual((ref as { value: unknown }).value);
  return true;
}

describe('simple YAML fast path', () => {
  it('parses a typical property file exactly like js-yaml', () => {
    const text = [
      '# properties',
      'version: 2',
      'models:',
      '  - name: stg_orders   # staging',
      '    description: Orders, one row per order',
      '    config:',
      '      materialized: table',
      '      tags: [daily, "core"]',
      '      enabled: true',
      '    columns:',
      '    - name: id',
      '      tests: [not_null, unique]',
      '    - name: status',
      '      tests:',
      '        - accepted_values: { values: [placed, shipped, ~], quote: false }',
      '        - relationships: {to: ref(\'customers\'), field: id}',
      '      meta:',
      '',
      '  - name: empty',
    ].join('\n');
    expect(expectAgrees(text)).toBe(true);
  });

  it('gives up on YAML outside its subset, so js-yaml decides', () => {
    const outside = [
      'a: &x 1\nb: *x', 'a: !!str 1', 'a: |\n  text', 'a: >\n  text', 'a: 1.5', 'a: 2026-01-01', 'a: 0x1f', 'a: "tab\\t"',
      "a: 'it''s'", 'a: 1\na: 2', 'a: b\n  continued', '---\na: 1', 'a:\r\n  b: 1', 'a:\tb', '? a\n: b', '"a": 1', 'a: [1,\n  2]',
      'a: [x,]', 'a: {b: }', 'a: b: c', '- - a', '__proto__: 1', 'a: {b: 1, b: 2}', 'plain scalar', '',
    ];
    for (const text of outside) expect(parseSimpleYaml(text), JSON.stringify(text)).toBe(NOT_SIMPLE);
  });

  it('agrees with js-yaml on every YAML file in the repository it accepts', () => {
    const files = execFileSync('git', ['ls-files', '*.yml', '*.yaml'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    const accepted = files.filter((f) => expectAgrees(readFileSync(f, 'utf8')));
    expect(accepted.length).toBeGreaterThan(files.length / 2);
  });

  it('agrees with js-yaml on generated documents full of edge cases', () => {
    let state = 7;
    const rand = (n: number) => ((state = (state * 1103515245 + 12345) % 2147483648), state % n);
    const scalars = [
      'a', 'x y', 'true', 'True', 'FALSE', 'yes', 'on', 'null', 'Null', '~', '', '0', '12', '007', '-1', '+1', '1.5', '.inf', '1e3',
      '"q"', "'q'", '"a # b"', "'it''s'", '"esc\\n"', 'a#b', 'a #c', 'a: b', 'a:b', 'http://x', '[a, b]', '[]', '{}', '{a: 1}',
      '{a: [x, y]}', '[a, [b]]', '[a,]', '[a b]', '{a: }', '{a:1}', '&x a', '*x', '!t a', '|', '>', '- a', '-a', '?', '%x', '@a',
      'a,b', 'a]', 'select a, b', "it's", 'say "hi"', '[a, "b]"]', '{"a": 1}', '[a: b]', 'a  b', '{__proto__: 1}', 'é', '"', '[',
    ];
    const keys = ['a', 'b', 'name', 'my-key', 'true', 'null', '1', '"q"', 'a b', '__proto__', 'a:b'];
    const generate = (depth: number, indent: number, out: string[]): void => {
      const isSeq = rand(2) === 0;
      for (let i = 0, n = 1 + rand(4); i < n; i++) {
        const pad = ' '.repeat(indent + (rand(20) === 0 ? 1 : 0));
        const comment = rand(8) === 0 ? ' # c' : '';
        const nested = depth > 0 && rand(3) === 0;
        if (isSeq && nested && rand(2) === 0) {
          out.push(`${pad}-${comment}`);
          generate(depth - 1, indent + 2, out);
        } else if (isSeq && nested) {
          const sub: string[] = [];
          generate(depth - 1, indent + 2, sub);
          out.push(`${pad}- ${sub[0]!.trimStart()}`, ...sub.slice(1));
        } else if (isSeq) {
          out.push(`${pad}- ${scalars[rand(scalars.length)]}${comment}`);
        } else if (nested) {
          out.push(`${pad}${keys[rand(keys.length)]}:${comment}`);
          generate(depth - 1, rand(4) === 0 ? indent : indent + 2 + rand(2), out);
        } else {
          out.push(`${pad}${keys[rand(keys.length)]}: ${scalars[rand(scalars.length)]}${comment}`);
        }
        if (rand(10) === 0) out.push(rand(2) ? '' : '  # comment');
      }
    };
    let accepted = 0;
    for (let k = 0; k < 20000; k++) {
      const lines: string[] = [];
      generate(3, 0, lines);
      if (expectAgrees(lines.join('\n') + (rand(2) ? '\n' : ''))) accepted++;
    }
    expect(accepted).toBeGreaterThan(5000);
  });

  it('still reports syntax errors with their line through the full parser', () => {
    expect(() => parseYamlText('models:\n  - name: a\n   bad: [\n', 'models/x.yml')).toThrow(CdpError);
    let error: unknown;
    try {
      parseYamlText('a: 1\na: 2\n', 'models/x.yml');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CdpError);
    expect((error as CdpError).location).toMatchObject({ file: 'models/x.yml', line: 2 });
  });
});

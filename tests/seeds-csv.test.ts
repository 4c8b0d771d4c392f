import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CdpError } from '../src/errors.js';
import { inferCsvSchema, readCsvBatches, type InferredColumn } from '../src/seeds/csv.js';

let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cdp-seeds-csv-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function csv(content: string): Promise<string> {
  const file = join(dir, `seed_${++counter}.csv`);
  await writeFile(file, content);
  return file;
}

async function readAll(file: string, columns: InferredColumn[], batchSize?: number): Promise<unknown[][]> {
  const rows: unknown[][] = [];
  for await (const batch of readCsvBatches(file, columns, batchSize)) rows.push(...batch);
  return rows;
}

async function typesOf(content: string, overrides?: Parameters<typeof inferCsvSchema>[1]): Promise<Record<string, string>> {
  const columns = await inferCsvSchema(await csv(content), overrides);
  return Object.fromEntries(columns.map((c) => [c.name, c.type]));
}

async function cdpError(promise: Promise<unknown>): Promise<CdpError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(CdpError);
    return e as CdpError;
  }
  throw new Error('expected a CdpError');
}

describe('inferCsvSchema', () => {
  it('infers each type from all non-empty values', async () => {
    const types = await typesOf(
      [
        'int,big,dbl,mixed_num,bool,day,ts,txt,empty,day_and_ts',
        '1,1,1.5,1,true,2024-01-31,2024-01-31 10:00:00,hello,,2024-01-01',
        '-42,3000000000,-2e3,2.25,FALSE,2024-02-29,2024-01-31T10:00:00.123Z,42,,2024-01-02T03:04:05',
        '+7,-9223372036854775808,.5,3,True,1999-12-31,2024-01-31T10:00:00+02:00,2024-01-01,,',
        ',,,,,,,,,',
      ].join('\n'),
    );
    expect(types).toEqual({
      int: 'integer',
      big: 'bigint',
      dbl: 'double',
      mixed_num: 'double',
      bool: 'boolean',
      day: 'date',
      ts: 'timestamp',
      txt: 'text',
      empty: 'text',
      day_and_ts: 'timestamp',
    });
  });

  it('keeps the int32 / int64 boundaries exact', async () => {
    const types = await typesOf(
      ['a,b,c,d,e', '2147483647,2147483648,-2147483648,-2147483649,9223372036854775807', '0,0,0,0,9223372036854775808'].join('\n'),
    );
    // e overflows int64 and has no fractional values: an identifier, kept as text.
    expect(types).toEqual({ a: 'integer', b: 'bigint', c: 'integer', d: 'bigint', e: 'text' });
  });

  it('keeps codes with leading zeros as text', async () => {
    const types = await typesOf(['zip,phone,agent,zero,ratio', '01234,0000000000,007,0,00.5', '90210,0612345678,42,0,1.5'].join('\n'));
    expect(types).toEqual({ zip: 'text', phone: 'text', agent: 'text', zero: 'integer', ratio: 'text' });
  });

  it('falls back to text for anything irregular', async () => {
    const types = await typesOf(
      ['a,b,c,d,e,f,g', '2024-02-30,1.5,yes,2024-01-01 25:00:00,1e999,1,NaN', '2024-01-01,abc,no,2024-01-01 10:00:00,1,1.5.1,1'].join('\n'),
    );
    expect(types).toEqual({ a: 'text', b: 'text', c: 'text', d: 'text', e: 'text', f: 'text', g: 'text' });
  });

  it('ignores surrounding whitespace when recognising values', async () => {
    expect(await typesOf('a,b\n 1 , true\n2,false\n')).toEqual({ a: 'integer', b: 'boolean' });
  });

  it('trims header names and handles BOM, CRLF, quoting and blank lines', async () => {
    const file = await csv('\uFEFF id ,"name, full", note \r\n1,"Smith, J","line one\r\nline two"\r\n\r\n2,"O""Brien",plain\r\n');
    expect(await inferCsvSchema(file)).toEqual([
      { name: 'id', type: 'integer' },
      { name: 'name, full', type: 'text' },
      { name: 'note', type: 'text' },
    ]);
  });

  it('accepts a header-only file', async () => {
    const file = await csv('a,b\n');
    expect(await inferCsvSchema(file)).toEqual([{ name: 'a', type: 'text' }, { name: 'b', type: 'text' }]);
    expect(await readAll(file, [{ name: 'a', type: 'text' }, { name: 'b', type: 'text' }])).toEqual([]);
  });

  it('lets overrides win, including on columns named like Object.prototype members', async () => {
    expect(
      await typesOf('zip,amount,flag,constructor,payload\n01234,10,1,5,"{""a"": 1}"\n02345,11,0,6,[1]\n', {
        zip: 'integer',
        amount: 'decimal',
        flag: 'boolean',
        payload: 'json',
      }),
    ).toEqual({ zip: 'integer', amount: 'decimal', flag: 'boolean', constructor: 'integer', payload: 'json' });
    expect(await typesOf('n\n1\n2\n', { n: 'text' })).toEqual({ n: 'text' });
  });

  it('rejects an override for an unknown column, naming it and the file', async () => {
    const file = await csv('customer_id,email\n1,a@b.c\n');
    const err = await cdpError(inferCsvSchema(file, { customerid: 'bigint' }));
    expect(err.message).toContain('"customerid"');
    expect(err.message).toContain(file);
    expect(err.location?.file).toBe(file);
    expect(err.hint).toContain('did you mean "customer_id"?');
  });

  it('rejects an unknown override type', async () => {
    const file = await csv('a\n1\n');
    const err = await cdpError(inferCsvSchema(file, { a: 'varchar' as never }));
    expect(err.message).toContain('unknown type "varchar"');
    expect(err.hint).toContain('timestamp');
  });

  it('checks values against overrides during the scan, naming file, line, column and value', async () => {
    // The quoted newline on line 3 makes the bad record start on line 5.
    const file = await csv('id,qty,note\n1,5,x\n2,6,"multi\nline"\n3,five,y\n');
    const err = await cdpError(inferCsvSchema(file, { qty: 'integer' }));
    expect(err.message).toContain(`${file}:5`);
    expect(err.message).toContain('"five"');
    expect(err.message).toContain('column "qty"');
    expect(err.message).toContain('integer');
    expect(err.location).toEqual({ file, line: 5 });
  });

  it('suggests bigint when an integer override overflows 32 bits', async () => {
    const file = await csv('n\n1\n3000000000\n');
    const err = await cdpError(inferCsvSchema(file, { n: 'integer' }));
    expect(err.location?.line).toBe(3);
    expect(err.hint).toContain('bigint');
  });
});

describe('errors', () => {
  it('missing file', async () => {
    const file = join(dir, 'nope.csv');
    const err = await cdpError(inferCsvSchema(file));
    expect(err.message).toContain('does not exist');
    expect(err.location?.file).toBe(file);
    const err2 = await cdpError(readAll(file, [{ name: 'a', type: 'text' }]));
    expect(err2.message).toContain('does not exist');
  });

  it('a directory', async () => {
    const err = await cdpError(inferCsvSchema(dir));
    expect(err.message).toContain('is not a file');
  });

  it('empty file', async () => {
    const file = await csv('');
    const err = await cdpError(inferCsvSchema(file));
    expect(err.message).toContain('is empty');
    expect(err.location?.file).toBe(file);
  });

  it('no header row (only blank lines)', async () => {
    const file = await csv('\n\n\n');
    const err = await cdpError(inferCsvSchema(file));
    expect(err.message).toContain('has no header row');
    expect(err.message).toContain(file);
  });

  it('blank header name', async () => {
    const file = await csv('a, ,c\n1,2,3\n');
    const err = await cdpError(inferCsvSchema(file));
    expect(err.message).toContain('column 2 of the header has no name');
    expect(err.location).toEqual({ file, line: 1 });
  });

  it('duplicate header names, ignoring case and whitespace', async () => {
    const file = await csv('id,Email, email \n1,a,b\n');
    const err = await cdpError(inferCsvSchema(file));
    expect(err.message).toContain('duplicate column name "email" (columns 2 and 3)');
    expect(err.location).toEqual({ file, line: 1 });
  });

  it('ragged rows name the line, counting skipped blank lines', async () => {
    const file = await csv('a,b\n1,2\n\n3\n4,5\n');
    const err = await cdpError(inferCsvSchema(file));
    expect(err.message).toContain(`${file}:4`);
    expect(err.message).toContain('row has 1 field, the header has 2');
    expect(err.location).toEqual({ file, line: 4 });

    const tooWide = await csv('a,b\n1,2\n3,4,5\n');
    const err2 = await cdpError(readAll(tooWide, [{ name: 'a', type: 'integer' }, { name: 'b', type: 'integer' }]));
    expect(err2.location).toEqual({ file: tooWide, line: 3 });
    expect(err2.message).toContain('row has 3 fields');
  });

  it('malformed quoting becomes a CdpError with the file and a line', async () => {
    const file = await csv('a,b\n1,2\n3,"never closed\n4,5\n');
    const err = await cdpError(inferCsvSchema(file));
    expect(err.message).toContain(file);
    expect(err.message).toContain('malformed CSV');
    expect(err.location?.file).toBe(file);
    expect(typeof err.location?.line).toBe('number');
  });

  it('a schema that no longer matches the header', async () => {
    const file = await csv('a,c\n1,2\n');
    const err = await cdpError(readAll(file, [{ name: 'a', type: 'integer' }, { name: 'b', type: 'integer' }]));
    expect(err.message).toContain('changed since its schema was inferred');
    expect(err.hint).toContain('missing from the file: b');
    expect(err.hint).toContain('new in the file: c');
  });
});

describe('readCsvBatches', () => {
  it('converts values to typed JS values in column order', async () => {
    const file = await csv(
      [
        'id,big,price,active,day,ts,name,nothing',
        '1,9007199254740993,1.25,true,2024-02-29,2024-01-31 10:20:30,  padded ,',
        '-2,5,-3e2,FALSE,1999-12-31,2024-01-31T10:20:30.123456+02:00,"a, b",',
        ',,,,,2024-01-31T23:00:00Z,,',
        '4,12,.5,TRUE,2000-01-01,2024-06-01,x,',
      ].join('\n'),
    );
    const columns = await inferCsvSchema(file);
    expect(columns.map((c) => c.type)).toEqual(['integer', 'bigint', 'double', 'boolean', 'date', 'timestamp', 'text', 'text']);
    const rows = await readAll(file, columns);
    expect(rows).toEqual([
      [1, 9007199254740993n, 1.25, true, '2024-02-29', new Date('2024-01-31T10:20:30.000Z'), '  padded ', null],
      [-2, 5, -300, false, '1999-12-31', new Date('2024-01-31T08:20:30.123Z'), 'a, b', null],
      [null, null, null, null, null, new Date('2024-01-31T23:00:00.000Z'), null, null],
      [4, 12, 0.5, true, '2000-01-01', new Date('2024-06-01T00:00:00.000Z'), 'x', null],
    ]);
    expect(typeof rows[1][1]).toBe('number'); // safe values in a bigint column stay numbers
  });

  it('honours the requested column order and override types', async () => {
    const file = await csv('zip,n,flag,doc,when\n01234,007,yes,"{""k"": [1, 2]}",0099-03-04T05:06:07-0130\n,8,0,null,\n');
    const columns: InferredColumn[] = [
      { name: 'doc', type: 'json' },
      { name: 'zip', type: 'text' },
      { name: 'n', type: 'integer' },
      { name: 'flag', type: 'boolean' },
      { name: 'when', type: 'timestamp' },
    ];
    const rows = await readAll(file, columns);
    const early = new Date(Date.UTC(2000, 2, 4, 6, 36, 7));
    early.setUTCFullYear(99);
    expect(rows).toEqual([
      [{ k: [1, 2] }, '01234', 7, true, early],
      [null, null, 8, false, null],
    ]);
  });

  it('reports a value that does not parse under its type with file, line, column and value', async () => {
    const file = await csv('id,day\n1,2024-01-01\n2,2024-13-01\n');
    const err = await cdpError(readAll(file, [{ name: 'id', type: 'integer' }, { name: 'day', type: 'date' }]));
    expect(err.message).toBe(`${file}:3: value "2024-13-01" in column "day" is not a valid date`);
    expect(err.location).toEqual({ file, line: 3 });
  });

  it('streams a 200k-row file in bounded batches and can stop early', async () => {
    const file = join(dir, 'big.csv');
    const out = createWriteStream(file);
    out.write('id,customer_code,amount,active,signup_day,created_at,email\n');
    for (let i = 1; i <= 200_000; i++) {
      const day = String((i % 28) + 1).padStart(2, '0');
      const second = String(i % 60).padStart(2, '0');
      const line = `${i},${String(i % 1000).padStart(6, '0')},${(i % 977) / 4},${i % 2 === 0},2024-01-${day},2024-01-01T00:00:${second}Z,user${i}@example.com\n`;
      if (!out.write(line)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');

    const columns = await inferCsvSchema(file);
    expect(columns).toEqual([
      { name: 'id', type: 'integer' },
      { name: 'customer_code', type: 'text' },
      { name: 'amount', type: 'double' },
      { name: 'active', type: 'boolean' },
      { name: 'signup_day', type: 'date' },
      { name: 'created_at', type: 'timestamp' },
      { name: 'email', type: 'text' },
    ]);

    let batches = 0;
    let rows = 0;
    let idSum = 0;
    let maxBatch = 0;
    let last: unknown[] | undefined;
    for await (const batch of readCsvBatches(file, columns, 7_000)) {
      batches++;
      rows += batch.length;
      maxBatch = Math.max(maxBatch, batch.length);
      for (const row of batch) idSum += row[0] as number;
      last = batch[batch.length - 1];
    }
    expect(rows).toBe(200_000);
    expect(batches).toBe(Math.ceil(200_000 / 7_000));
    expect(maxBatch).toBe(7_000);
    expect(idSum).toBe((200_000 * 200_001) / 2);
    expect(last).toEqual([200_000, '000000', (200_000 % 977) / 4, true, '2024-01-25', new Date('2024-01-01T00:00:20Z'), 'user200000@example.com']);

    // Breaking out early must release the file rather than hang or read the rest.
    let seen = 0;
    for await (const batch of readCsvBatches(file, columns, 1_000)) {
      seen += batch.length;
      if (seen >= 3_000) break;
    }
    expect(seen).toBe(3_000);
  }, 60_000);
});

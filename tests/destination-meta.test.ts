/**
 * The Meta connector against a contract server over real HTTP: hashing rules, audience
 * changes, batching, sessions, and how platform failures map to the engine's outcome classes.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { factory, sessionId } from '../adapters/destination/meta/index.js';
import { metaHash } from '../src/destination/hashing.js';
import { FatalDestinationError, RetryableBatchError, type DeliveryContext, type Destination, type Operation } from '../src/destination/types.js';
import { startMetaServer, type MetaServer } from './contract/meta-server.js';

/** Independent of the code under test: the digest of an already-normalised literal. */
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

const AUDIENCE = '23850000000000123';
const TOKEN = 'EAAB-test-token-do-not-log';

let server: MetaServer;
let runs = 0;

function connector(extra: Record<string, unknown> = {}): Destination {
  return factory.create({ audience_id: AUDIENCE, access_token: TOKEN, base_url: server.url, ...extra }, '/tmp');
}

function ctx(runId = `run-${++runs}`, batchId = 'b1'): DeliveryContext {
  return { sync: 'vip_to_meta', runId, batchId, signal: new AbortController().signal };
}

const add = (key: string, fields: Record<string, unknown>): Operation => ({ op: 'add', key, fields });
const remove = (key: string, fields: Record<string, unknown>): Operation => ({ op: 'remove', key, fields });

beforeEach(async () => {
  server = await startMetaServer({ audienceId: AUDIENCE, accessToken: TOKEN });
});

afterEach(async () => {
  await server.close();
});

describe('Meta hashing (golden vectors)', () => {
  it('trims and lowercases emails', () => {
    expect(metaHash.email('Foo.Bar@Example.COM ')).toBe(sha('foo.bar@example.com'));
    expect(metaHash.email('not an email')).toBeUndefined();
  });

  it('hashes phones as digits with country code and no +', () => {
    expect(metaHash.phone('+1 (415) 555-0142')).toBe(sha('14155550142'));
    expect(metaHash.phone('(415) 555-0142')).toBe(sha('14155550142'));
    expect(metaHash.phone('0044 20 7946 0958')).toBe(sha('442079460958'));
    expect(metaHash.phone('+1 (415) 555-0142')).not.toBe(sha('+14155550142'));
    expect(metaHash.phone('12')).toBeUndefined();
  });

  it('hashes names lowercased, letters only', () => {
    expect(metaHash.name('  Mary-Jane ')).toBe(sha('maryjane'));
    expect(metaHash.name("O'Brien")).toBe(sha('obrien'));
    expect(metaHash.name('Zoë')).toBe(sha('zoë'));
  });
});

describe('Meta connector: audience changes', () => {
  it('adds and removes change the audience exactly, all values hashed', async () => {
    const dest = connector();
    const out = await dest.send(
      [
        add('1', { email: 'Foo.Bar@Example.COM ', phone: '+1 (415) 555-0142', first_name: 'Foo', last_name: 'Bar' }),
        add('2', { email: 'ann@example.org' }),
        add('3', { external_id: 'crm-42' }),
      ],
      ctx('run-a'),
    );
    expect(out).toEqual([
      { key: '1', status: 'ok' },
      { key: '2', status: 'ok' },
      { key: '3', status: 'ok' },
    ]);
    expect(server.state.emails).toEqual(new Set([sha('foo.bar@example.com'), sha('ann@example.org')]));
    expect(server.state.phones).toEqual(new Set([sha('14155550142')]));
    expect(server.state.externalIds).toEqual(new Set(['crm-42']));

    const removed = await dest.send([remove('2', { email: 'ann@example.org' }), remove('3', { external_id: 'crm-42' })], ctx('run-b'));
    expect(removed.every((o) => o.status === 'ok')).toBe(true);
    expect(server.state.emails).toEqual(new Set([sha('foo.bar@example.com')]));
    expect(server.state.externalIds).toEqual(new Set());
    expect(server.state.requests.map((r) => r.method)).toEqual(['POST', 'DELETE']);
    expect(server.state.requests[0].schema).toEqual(['EMAIL', 'PHONE', 'FN', 'LN', 'EXTERN_ID']);
    expect(server.state.violations).toEqual([]);
  });

  it('never sends plain text: raw and normalised PII appear in no request', async () => {
    const rows = [
      { email: ' Foo.Bar@Example.COM ', phone: '+1 (415) 555-0142', first_name: 'Foo', last_name: 'Bar' },
      { email: 'zed@example.net', phone: '020 7946 0958', first_name: 'Zed', last_name: 'Quux' },
    ];
    await connector().send(rows.map((f, i) => add(String(i), f)), ctx());
    const bodies = server.state.requests.map((r) => r.body).join('\n');
    expect(server.state.requests).toHaveLength(1);
    for (const needle of ['foo.bar', 'example', '4155550142', '415', '7946', 'zed', 'quux', 'Foo', 'Bar']) {
      expect(bodies.toLowerCase()).not.toContain(needle.toLowerCase());
    }
    expect(server.state.requests[0].tokenIn).toBe('body');
    expect(server.state.violations).toEqual([]);
  });

  it('the server itself refuses plain text and a Google-style (+) phone hash', async () => {
    await server.close();
    server = await startMetaServer({ audienceId: AUDIENCE, accessToken: TOKEN, expected: { PHONE: [sha('14155550142')] } });
    const post = (data: string[][], schema: string[]) =>
      fetch(`${server.url}/v21.0/${AUDIENCE}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ payload: { schema, data }, session: { session_id: 7, batch_seq: data.length, last_batch_flag: false }, access_token: TOKEN }),
      });
    expect((await post([['foo.bar@example.com']], ['EMAIL'])).status).toBe(400);
    expect((await post([['4155550142']], ['PHONE'])).status).toBe(400);
    expect((await post([[sha('+14155550142')]], ['PHONE'])).status).toBe(400);
    expect(server.state.violations).toHaveLength(3);
    expect(server.state.phones.size).toBe(0);

    // The connector's phone hash is the one the server expects.
    const out = await connector().send([add('p', { phone: '+1 (415) 555-0142' })], ctx());
    expect(out).toEqual([{ key: 'p', status: 'ok' }]);
    expect(server.state.phones).toEqual(new Set([sha('14155550142')]));
  });

  it('rejects rows without a usable identifier and does not send them', async () => {
    const out = await connector().send(
      [add('a', { email: 'nope', phone: '12' }), add('b', { first_name: 'Only', last_name: 'Names' }), { op: 'upsert', key: 'c', fields: { email: 'c@example.com' } }],
      ctx(),
    );
    expect(out).toEqual([
      { key: 'a', status: 'rejected', reason: expect.stringContaining('no usable identifier') },
      { key: 'b', status: 'rejected', reason: expect.stringContaining('no usable identifier') },
      { key: 'c', status: 'rejected', reason: expect.stringContaining('add and remove') },
    ]);
    expect(server.state.requests).toHaveLength(0);
  });
});

describe('Meta connector: batches and sessions', () => {
  it('keeps each request within 10,000 rows and numbers batches within one session', async () => {
    const dest = connector();
    expect(dest.capabilities.batchSize).toBe(10_000);
    const batch = Array.from({ length: 25_000 }, (_, i) => add(String(i), { email: `user${i}@example.com` }));
    const out = await dest.send(batch, ctx('run-big'));
    expect(out.filter((o) => o.status === 'ok')).toHaveLength(25_000);
    expect(server.state.requests.map((r) => r.rows)).toEqual([10_000, 10_000, 5_000]);
    expect(server.state.requests.map((r) => r.batchSeq)).toEqual([1, 2, 3]);
    expect(new Set(server.state.requests.map((r) => r.sessionId)).size).toBe(1);
    expect(server.state.emails.size).toBe(25_000);
    expect(server.state.violations).toEqual([]);
  });

  it('honours a batch_size override and rejects one above the limit at the server', async () => {
    const dest = connector({ batch_size: 40 });
    await dest.send(Array.from({ length: 100 }, (_, i) => add(String(i), { email: `u${i}@example.com` })), ctx());
    expect(server.state.requests.map((r) => r.rows)).toEqual([40, 40, 20]);

    await server.close();
    server = await startMetaServer({ audienceId: AUDIENCE, accessToken: TOKEN, maxRows: 10 });
    const out = await connector({ batch_size: 40 }).send(Array.from({ length: 11 }, (_, i) => add(String(i), { email: `u${i}@example.com` })), ctx());
    expect(out.every((o) => o.status === 'rejected' && o.reason.includes('at most 10'))).toBe(true);
    expect(server.state.violations).toHaveLength(1);
  });

  it('uses a stable session per run and method, and a new one per run', async () => {
    const dest = connector();
    const run = ctx('run-s');
    await dest.send([add('1', { email: 'a@example.com' }), remove('2', { email: 'b@example.com' })], run);
    await dest.send([add('3', { email: 'c@example.com' })], { ...run, batchId: 'b2' });
    await dest.send([add('4', { email: 'd@example.com' })], ctx('run-t'));
    const [post1, del1, post2, post3] = server.state.requests;
    expect([post1.method, del1.method, post2.method, post3.method]).toEqual(['POST', 'DELETE', 'POST', 'POST']);
    expect(post2.sessionId).toBe(post1.sessionId);
    expect(post2.batchSeq).toBe(2);
    expect(del1.sessionId).not.toBe(post1.sessionId);
    expect(post3.sessionId).not.toBe(post1.sessionId);
    expect(post3.batchSeq).toBe(1);
    expect(Number.isSafeInteger(sessionId('x'))).toBe(true);
    await dest.finish!(run);
    expect(server.state.violations).toEqual([]);
  });
});

describe('Meta connector: failures', () => {
  const one = [add('1', { email: 'a@example.com' })];

  it('a refused token (OAuthException 190) is fatal', async () => {
    const dest = factory.create({ audience_id: AUDIENCE, access_token: 'wrong', base_url: server.url }, '/tmp');
    const err = await dest.send(one, ctx()).catch((e) => e);
    expect(err).toBeInstanceOf(FatalDestinationError);
    expect(err.message).toContain('190');
    expect(err.message).not.toContain('wrong');
    expect(server.state.authFailures).toBe(1);
  });

  it('401 and permission errors are fatal', async () => {
    server.inject({ kind: 'status', status: 401, body: { error: { message: 'Unauthorized', code: 190 } } });
    await expect(connector().send(one, ctx())).rejects.toBeInstanceOf(FatalDestinationError);
    server.inject({ kind: 'status', status: 400, body: { error: { message: 'Permissions error', code: 200 } } });
    await expect(connector().send(one, ctx())).rejects.toBeInstanceOf(FatalDestinationError);
  });

  it('429 with Retry-After is retryable and carries the delay; the resend then lands', async () => {
    server.inject({ kind: 'status', status: 429, retryAfter: '3', times: 2 });
    const dest = connector();
    for (let i = 0; i < 2; i++) {
      const err = await dest.send(one, ctx('run-r')).catch((e) => e);
      expect(err).toBeInstanceOf(RetryableBatchError);
      expect(err.retryAfterMs).toBe(3000);
    }
    expect(await dest.send(one, ctx('run-r'))).toEqual([{ key: '1', status: 'ok' }]);
    expect(server.state.emails).toEqual(new Set([sha('a@example.com')]));
  });

  it('500, a reset connection, a timeout and Meta throttling codes are retryable', async () => {
    const dest = connector({ timeout_ms: 150 });
    server.inject({ kind: 'status', status: 500 });
    await expect(dest.send(one, ctx())).rejects.toBeInstanceOf(RetryableBatchError);
    server.inject({ kind: 'reset' });
    await expect(dest.send(one, ctx())).rejects.toBeInstanceOf(RetryableBatchError);
    server.inject({ kind: 'delay', ms: 1_000 });
    await expect(dest.send(one, ctx())).rejects.toBeInstanceOf(RetryableBatchError);
    server.inject({ kind: 'status', status: 400, body: { error: { message: 'Custom audience rate limit', code: 80003 } } });
    await expect(dest.send(one, ctx())).rejects.toBeInstanceOf(RetryableBatchError);
    expect(server.state.emails.size).toBe(0);
    expect(await dest.send(one, ctx())).toEqual([{ key: '1', status: 'ok' }]);
  });

  it('invalid entries reject exactly the rows Meta sampled', async () => {
    server.inject({ kind: 'invalid', values: [sha('bob@example.com')], reason: 'Invalid email format' });
    const out = await connector().send(
      [add('a', { email: 'ann@example.com' }), add('b', { email: 'bob@example.com' }), add('c', { email: 'cy@example.com' })],
      ctx(),
    );
    expect(out).toEqual([
      { key: 'a', status: 'ok' },
      { key: 'b', status: 'rejected', reason: expect.stringContaining('Invalid email format') },
      { key: 'c', status: 'ok' },
    ]);
    expect(server.state.emails).toEqual(new Set([sha('ann@example.com'), sha('cy@example.com')]));
  });

  it('a 400 error body rejects the batch with Meta\'s message', async () => {
    server.inject({ kind: 'status', status: 400, body: { error: { message: 'Invalid parameter', code: 100, error_subcode: 1713230, error_user_msg: 'Audience Upload Blocked' } } });
    const out = await connector().send([add('a', { email: 'a@example.com' }), add('b', { email: 'b@example.com' })], ctx());
    expect(out).toEqual([
      { key: 'a', status: 'rejected', reason: 'Meta error 100/1713230: Audience Upload Blocked' },
      { key: 'b', status: 'rejected', reason: 'Meta error 100/1713230: Audience Upload Blocked' },
    ]);
  });
});

describe('Meta connector: config', () => {
  it('validateConfig reports missing, malformed and over-limit keys without echoing secrets', () => {
    expect(factory.validateConfig({ audience_id: AUDIENCE, access_token: TOKEN })).toEqual([]);
    expect(factory.validateConfig({ audience_id: 123, access_token: TOKEN, api_version: 'v22.0', batch_size: 10_000 })).toEqual([]);
    const problems = factory.validateConfig({ access_token: '', batch_size: 20_000, concurrency: 0, api_version: '21', base_url: 'ftp://x', requests_per_second: -1 });
    expect(problems.map(([k]) => k).sort()).toEqual(['access_token', 'api_version', 'audience_id', 'base_url', 'batch_size', 'concurrency', 'requests_per_second']);
    expect(problems.find(([k]) => k === 'batch_size')![1]).toContain('10000');
    expect(factory.validateConfig({ audience_id: 'abc', access_token: TOKEN })).toEqual([['audience_id', 'audience_id must be a numeric id']]);
    expect(factory.validateConfig({ audience_id: 23850000000000123, access_token: TOKEN })[0][1]).toContain('quote it');
    const withSecret = factory.validateConfig({ audience_id: 'x', access_token: 42 });
    expect(JSON.stringify(withSecret)).not.toContain('42');
    expect(() => factory.create({ audience_id: 'x', access_token: TOKEN }, '/tmp')).toThrow(/audience_id must be a numeric id/);
  });

  it('declares audience capabilities with hashed identifiers', () => {
    const caps = connector().capabilities;
    expect(factory.type).toBe('meta');
    expect(caps.modes).toEqual(['audience']);
    expect(caps.supportsRemoval).toBe(true);
    expect(caps.identifiers).toEqual([
      { field: 'email', prepare: 'sha256_email' },
      { field: 'phone', prepare: 'sha256_phone_digits' },
      { field: 'external_id', prepare: 'plain' },
    ]);
  });
});

/**
 * The Google Ads Customer Match connector against a contract server over real HTTP: hashing
 * rules, the offline job lifecycle, batching, and how failures map to outcome classes.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { factory } from '../adapters/destination/google-ads/index.js';
import { googleHash } from '../src/destination/hashing.js';
import { FatalDestinationError, RetryableBatchError, type DeliveryContext, type Destination, type Operation } from '../src/destination/types.js';
import { startGoogleAdsServer, type GoogleAdsServer, type GoogleAdsServerOptions } from './contract/google-ads-server.js';

/** Independent of the code under test: the digest of an already-normalised literal. */
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

const CUSTOMER = '1234567890';
const LIST = '987654321';
const TOKEN = 'ya29.test-oauth-token';
const DEV_TOKEN = 'dev-token-test';
const BASE: GoogleAdsServerOptions = { customerId: CUSTOMER, userListId: LIST, accessToken: TOKEN, developerToken: DEV_TOKEN };

let server: GoogleAdsServer;
let runs = 0;

async function restart(options: Partial<GoogleAdsServerOptions>): Promise<void> {
  await server.close();
  server = await startGoogleAdsServer({ ...BASE, ...options });
}

function connector(extra: Record<string, unknown> = {}): Destination {
  return factory.create(
    { customer_id: '123-456-7890', user_list_id: LIST, developer_token: DEV_TOKEN, access_token: TOKEN, base_url: server.url, ...extra },
    '/tmp',
  );
}

function ctx(runId = `run-${++runs}`, batchId = 'b1'): DeliveryContext {
  return { sync: 'vip_to_google', runId, batchId, signal: new AbortController().signal };
}

const add = (key: string, fields: Record<string, unknown>): Operation => ({ op: 'add', key, fields });
const remove = (key: string, fields: Record<string, unknown>): Operation => ({ op: 'remove', key, fields });
const jobs = () => [...server.state.jobs.values()];

beforeEach(async () => {
  server = await startGoogleAdsServer(BASE);
});

afterEach(async () => {
  await server.close();
});

describe('Google hashing (golden vectors)', () => {
  it('trims and lowercases emails', () => {
    expect(googleHash.email('Foo.Bar@Example.COM ')).toBe(sha('foo.bar@example.com'));
    expect(googleHash.email('@example.com')).toBeUndefined();
  });

  it('hashes phones as E.164 with the +', () => {
    expect(googleHash.phone('+1 (415) 555-0142')).toBe(sha('+14155550142'));
    expect(googleHash.phone('415.555.0142')).toBe(sha('+14155550142'));
    expect(googleHash.phone('0044 20 7946 0958')).toBe(sha('+442079460958'));
    expect(googleHash.phone('+1 (415) 555-0142')).not.toBe(sha('14155550142'));
  });

  it('hashes names trimmed and lowercased', () => {
    expect(googleHash.name('  Foo ')).toBe(sha('foo'));
    expect(googleHash.name('Mary-Jane')).toBe(sha('mary-jane'));
    expect(googleHash.name('   ')).toBeUndefined();
  });
});

describe('Google Ads connector: job lifecycle and list changes', () => {
  it('creates one job per run, stages batches on it, and changes the list when finish() runs it', async () => {
    const dest = connector();
    const run = ctx('run-a');
    const first = await dest.send(
      [add('1', { email: 'Foo.Bar@Example.COM ', phone: '+1 (415) 555-0142', first_name: ' Foo', last_name: 'Bar ', country_code: 'us', postal_code: '94103' })],
      run,
    );
    const second = await dest.send([add('2', { email: 'ann@example.org' })], { ...run, batchId: 'b2' });
    expect([...first, ...second]).toEqual([
      { key: '1', status: 'ok' },
      { key: '2', status: 'ok' },
    ]);
    expect(jobs()).toHaveLength(1);
    expect(server.state.emails.size).toBe(0); // staged, not applied until the job runs

    await dest.finish!(run);
    expect(jobs()[0]).toMatchObject({ status: 'SUCCESS', runs: 1, kind: 'create' });
    expect(server.state.emails).toEqual(new Set([sha('foo.bar@example.com'), sha('ann@example.org')]));
    expect(server.state.phones).toEqual(new Set([sha('+14155550142')]));
    expect(server.state.names).toEqual(new Set([`${sha('foo')}:${sha('bar')}`]));
    expect(server.state.requests[0].body).toContain('"countryCode":"US"');

    // A new run gets a new job; removes take members out.
    const next = ctx('run-b');
    expect(await dest.send([remove('2', { email: 'ann@example.org' })], next)).toEqual([{ key: '2', status: 'ok' }]);
    await dest.finish!(next);
    expect(jobs()).toHaveLength(2);
    expect(jobs()[1]).toMatchObject({ kind: 'remove', status: 'SUCCESS', runs: 1 });
    expect(server.state.emails).toEqual(new Set([sha('foo.bar@example.com')]));
    expect(server.state.violations).toEqual([]);
  });

  it('splits adds and removes of one batch into two jobs (Google refuses mixed jobs)', async () => {
    const dest = connector();
    const run = ctx();
    await dest.send([add('1', { email: 'a@example.com' })], run);
    await dest.finish!(run);
    const run2 = ctx();
    const out = await dest.send([add('2', { email: 'b@example.com' }), remove('1', { email: 'a@example.com' })], run2);
    expect(out.map((o) => o.status)).toEqual(['ok', 'ok']);
    await dest.finish!(run2);
    expect(jobs().map((j) => [j.kind, j.status, j.runs])).toEqual([
      ['create', 'SUCCESS', 1],
      ['create', 'SUCCESS', 1],
      ['remove', 'SUCCESS', 1],
    ]);
    expect(server.state.emails).toEqual(new Set([sha('b@example.com')]));
    // finish() for a run that is done, or never sent, runs nothing twice.
    await dest.finish!(run2);
    await dest.finish!(ctx());
    expect(server.state.violations).toEqual([]);
  });

  it('concurrent first batches of a run share one job', async () => {
    const dest = connector();
    const run = ctx();
    await Promise.all([
      dest.send([add('1', { email: 'a@example.com' })], { ...run, batchId: 'x' }),
      dest.send([add('2', { email: 'b@example.com' })], { ...run, batchId: 'y' }),
    ]);
    expect(jobs()).toHaveLength(1);
    expect(jobs()[0].staged).toHaveLength(2);
  });

  it('sends login-customer-id when configured', async () => {
    await restart({ loginCustomerId: '1112223333' });
    const denied = await connector().send([add('1', { email: 'a@example.com' })], ctx()).catch((e) => e);
    expect(denied).toBeInstanceOf(FatalDestinationError);
    const run = ctx();
    expect(await connector({ login_customer_id: '111-222-3333' }).send([add('1', { email: 'a@example.com' })], run)).toEqual([{ key: '1', status: 'ok' }]);
  });
});

describe('Google Ads connector: batches and plain text', () => {
  it('keeps each addOperations request within the batch size, on one job', async () => {
    await restart({ maxOperations: 10_000 });
    const dest = connector();
    expect(dest.capabilities.batchSize).toBe(10_000);
    const run = ctx();
    const out = await dest.send(Array.from({ length: 25_000 }, (_, i) => add(String(i), { email: `user${i}@example.com` })), run);
    expect(out.filter((o) => o.status === 'ok')).toHaveLength(25_000);
    expect(server.state.requests.map((r) => r.operations)).toEqual([10_000, 10_000, 5_000]);
    await dest.finish!(run);
    expect(jobs()).toHaveLength(1);
    expect(server.state.emails.size).toBe(25_000);
    expect(server.state.violations).toEqual([]);
  });

  it('keeps requests under the identifier cap even when batch_size allows more', async () => {
    await restart({ maxIdentifiers: 100_000 });
    const dest = connector({ batch_size: 100_000 });
    const rows = Array.from({ length: 40_000 }, (_, i) => add(String(i), { email: `u${i}@example.com`, phone: `+1415555${String(i).padStart(4, '0')}`, first_name: 'A', last_name: 'B' }));
    const out = await dest.send(rows, ctx());
    expect(out.every((o) => o.status === 'ok')).toBe(true);
    expect(server.state.requests.map((r) => r.identifiers)).toEqual([99_999, 20_001]); // 3 identifiers a row
    expect(server.state.requests.reduce((n, r) => n + r.operations, 0)).toBe(40_000);
    expect(server.state.violations).toEqual([]);
  });

  it('never sends plain text: raw and normalised PII appear in no request', async () => {
    await connector().send([add('1', { email: ' Foo.Bar@Example.COM ', phone: '+1 (415) 555-0142', first_name: 'Foo', last_name: 'Bar' })], ctx());
    const body = server.state.requests.map((r) => r.body).join('\n').toLowerCase();
    for (const needle of ['foo', 'bar', 'example', '4155550142', '+1']) expect(body).not.toContain(needle);
    expect(server.state.violations).toEqual([]);
  });

  it('the server itself refuses plain text and a Meta-style (no +) phone hash', async () => {
    await restart({ expected: { hashedPhoneNumber: [sha('+14155550142')] } });
    const headers = { authorization: `Bearer ${TOKEN}`, 'developer-token': DEV_TOKEN, 'content-type': 'application/json' };
    const created = await fetch(`${server.url}/v21/customers/${CUSTOMER}/offlineUserDataJobs:create`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ job: { type: 'CUSTOMER_MATCH_USER_LIST', customerMatchUserListMetadata: { userList: `customers/${CUSTOMER}/userLists/${LIST}` } } }),
    });
    const { resourceName } = (await created.json()) as { resourceName: string };
    const addOps = (identifier: unknown) =>
      fetch(`${server.url}/v21/${resourceName}:addOperations`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ enablePartialFailure: true, operations: [{ create: { userIdentifiers: [identifier] } }] }),
      });
    expect((await addOps({ hashedEmail: 'foo@example.com' })).status).toBe(400);
    expect((await addOps({ hashedPhoneNumber: '+14155550142' })).status).toBe(400);
    expect((await addOps({ hashedPhoneNumber: sha('14155550142') })).status).toBe(400);
    expect((await addOps({ addressInfo: { hashedFirstName: sha('a'), hashedLastName: sha('b'), firstName: 'A' } })).status).toBe(400);
    expect(server.state.violations).toHaveLength(4);

    const out = await connector().send([add('p', { phone: '+1 (415) 555-0142' })], ctx());
    expect(out).toEqual([{ key: 'p', status: 'ok' }]);
  });

  it('rejects rows without a usable identifier and does not send them', async () => {
    const out = await connector().send(
      [add('a', { email: 'nope', phone: 'n/a' }), add('b', { first_name: 'Only' }), { op: 'delete', key: 'c', fields: { email: 'c@example.com' } }],
      ctx(),
    );
    expect(out).toEqual([
      { key: 'a', status: 'rejected', reason: expect.stringContaining('no usable identifier') },
      { key: 'b', status: 'rejected', reason: expect.stringContaining('no usable identifier') },
      { key: 'c', status: 'rejected', reason: expect.stringContaining('add and remove') },
    ]);
    expect(server.state.jobs.size).toBe(0);
  });
});

describe('Google Ads connector: failures', () => {
  const one = [add('1', { email: 'a@example.com' })];

  it('a wrong OAuth token, developer token or user list is fatal', async () => {
    await expect(connector({ access_token: 'wrong' }).send(one, ctx())).rejects.toBeInstanceOf(FatalDestinationError);
    await expect(connector({ developer_token: 'wrong' }).send(one, ctx())).rejects.toBeInstanceOf(FatalDestinationError);
    const err = await connector({ user_list_id: '1' }).send(one, ctx()).catch((e) => e);
    expect(err).toBeInstanceOf(FatalDestinationError);
    expect(err.message).toContain('INVALID_USER_LIST_ID');
    expect(server.state.authFailures).toBe(2);
    // An auth error Google reports as 400 is fatal too.
    server.inject({ kind: 'status', status: 400, path: ':addOperations', body: { error: { code: 400, message: 'bad', status: 'INVALID_ARGUMENT', details: [{ errors: [{ errorCode: { authorizationError: 'CUSTOMER_NOT_ENABLED' }, message: 'The customer account is not enabled.' }] }] } } });
    await expect(connector().send(one, ctx())).rejects.toBeInstanceOf(FatalDestinationError);
  });

  it('429 with Retry-After is retryable and carries the delay; the resend then lands', async () => {
    const dest = connector();
    const run = ctx();
    server.inject({ kind: 'status', status: 429, retryAfter: '2', path: ':addOperations' });
    const err = await dest.send(one, run).catch((e) => e);
    expect(err).toBeInstanceOf(RetryableBatchError);
    expect(err.retryAfterMs).toBe(2000);
    expect(await dest.send(one, run)).toEqual([{ key: '1', status: 'ok' }]);
    await dest.finish!(run);
    expect(jobs()).toHaveLength(1);
    expect(server.state.emails).toEqual(new Set([sha('a@example.com')]));
  });

  it('500, a reset connection and a timeout are retryable, also while creating the job', async () => {
    const dest = connector({ timeout_ms: 150 });
    const run = ctx();
    server.inject({ kind: 'status', status: 500, path: ':create' });
    await expect(dest.send(one, run)).rejects.toBeInstanceOf(RetryableBatchError);
    server.inject({ kind: 'reset', path: ':addOperations' });
    await expect(dest.send(one, run)).rejects.toBeInstanceOf(RetryableBatchError);
    server.inject({ kind: 'delay', ms: 1_000, path: ':addOperations' });
    await expect(dest.send(one, run)).rejects.toBeInstanceOf(RetryableBatchError);
    server.inject({ kind: 'status', status: 503, retryAfter: '1', path: ':run' });
    expect(await dest.send(one, run)).toEqual([{ key: '1', status: 'ok' }]);
    const err = await dest.finish!(run).catch((e) => e);
    expect(err).toBeInstanceOf(RetryableBatchError);
    expect(err.retryAfterMs).toBe(1000);
    await dest.finish!(run); // a retried finish() runs the job it could not run before
    expect(jobs()).toHaveLength(1);
    expect(jobs()[0]).toMatchObject({ status: 'SUCCESS', runs: 1 });
    expect(server.state.violations).toEqual([]);
  });

  it('a job that vanished is retryable and the resend creates a fresh one', async () => {
    const dest = connector();
    const run = ctx();
    await dest.send(one, run);
    server.inject({ kind: 'status', status: 404, path: ':addOperations', body: { error: { code: 404, message: 'not found', status: 'NOT_FOUND' } } });
    await expect(dest.send(one, run)).rejects.toBeInstanceOf(RetryableBatchError);
    await dest.send(one, run);
    expect(jobs()).toHaveLength(2);
  });

  it('partial failures reject exactly the failed operations', async () => {
    server.inject({ kind: 'invalid', values: [sha('bob@example.com')] });
    const dest = connector();
    const run = ctx();
    const out = await dest.send(
      [add('a', { email: 'ann@example.com' }), add('b', { email: 'bob@example.com' }), remove('x', { email: 'bob@example.com' }), add('c', { email: 'cy@example.com' })],
      run,
    );
    expect(out).toEqual([
      { key: 'a', status: 'ok' },
      { key: 'b', status: 'rejected', reason: expect.stringContaining('INVALID_SHA256_FORMAT') },
      { key: 'c', status: 'ok' },
      { key: 'x', status: 'rejected', reason: expect.stringContaining('INVALID_SHA256_FORMAT') },
    ]);
    await dest.finish!(run);
    expect(server.state.emails).toEqual(new Set([sha('ann@example.com'), sha('cy@example.com')]));
  });

  it('a request-level 400 rejects the batch with Google\'s message', async () => {
    server.inject({
      kind: 'status',
      status: 400,
      path: ':addOperations',
      body: { error: { code: 400, message: 'Request contains an invalid argument.', status: 'INVALID_ARGUMENT', details: [{ errors: [{ errorCode: { offlineUserDataJobError: 'INVALID_SHA256_FORMAT' }, message: 'malformed', location: { fieldPathElements: [{ fieldName: 'operations', index: 1 }] } }] }] } },
    });
    const out = await connector().send([add('a', { email: 'a@example.com' }), add('b', { email: 'b@example.com' })], ctx());
    expect(out[0]).toEqual({ key: 'a', status: 'rejected', reason: expect.stringContaining('Request contains an invalid argument.') });
    expect(out[1]).toEqual({ key: 'b', status: 'rejected', reason: 'Google Ads offlineUserDataJobError: INVALID_SHA256_FORMAT (malformed)' });
  });
});

describe('Google Ads connector: config', () => {
  it('validateConfig reports missing, malformed and over-limit keys without echoing secrets', () => {
    const good = { customer_id: '123-456-7890', user_list_id: LIST, developer_token: DEV_TOKEN, access_token: TOKEN };
    expect(factory.validateConfig(good)).toEqual([]);
    expect(factory.validateConfig({ ...good, customer_id: 1234567890, login_customer_id: '111-222-3333', api_version: 'v22', batch_size: 100_000 })).toEqual([]);
    const problems = factory.validateConfig({ customer_id: 'acme', developer_token: '', access_token: '  ', login_customer_id: 'x', api_version: 'v21.0', batch_size: 100_001 });
    expect(problems.map(([k]) => k).sort()).toEqual(['access_token', 'api_version', 'batch_size', 'customer_id', 'developer_token', 'login_customer_id', 'user_list_id']);
    expect(problems.find(([k]) => k === 'batch_size')![1]).toContain('100000');
    expect(JSON.stringify(factory.validateConfig({ ...good, access_token: 7 }))).not.toContain('7"');
    expect(() => factory.create({ ...good, user_list_id: 'list' }, '/tmp')).toThrow(/user_list_id must be a numeric id/);
  });

  it('declares audience capabilities with hashed identifiers', () => {
    const caps = connector().capabilities;
    expect(factory.type).toBe('google_ads');
    expect(caps.modes).toEqual(['audience']);
    expect(caps.supportsRemoval).toBe(true);
    expect(caps.concurrency).toBe(1);
    expect(caps.identifiers.map((i) => `${i.field}:${i.prepare}`)).toEqual(['email:sha256_email', 'phone:sha256_phone_e164', 'first_name:sha256_name', 'last_name:sha256_name']);
  });
});

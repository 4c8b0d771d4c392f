/**
 * The Klaviyo connector against a contract server on 127.0.0.1 that validates each request
 * as Klaviyo documents it (auth, revision header, JSON:API bodies, job limits) and keeps
 * profiles and list members, so every assertion is on what Klaviyo would hold afterwards, or
 * on the error class the engine acts on.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { factory } from '../adapters/destination/klaviyo/index.js';
import { FatalDestinationError, RetryableBatchError, type DeliveryContext, type Operation } from '../src/destination/types.js';
import { JOB_LIMIT, startKlaviyoServer, type KlaviyoServer } from './contract/klaviyo-server.js';
import { expectTransportFaultsRetryable } from './helpers/destination.js';

const KEY = 'pk_test_key';
const ctx: DeliveryContext = { sync: 'vip_to_klaviyo', runId: 'run-1', batchId: 'b-1', signal: new AbortController().signal };

let server: KlaviyoServer;
beforeEach(async () => {
  server = await startKlaviyoServer({ apiKey: KEY });
});
afterEach(async () => {
  await server.close();
});

const destination = (extra: Record<string, unknown> = {}) =>
  factory.create({ type: 'klaviyo', api_key: KEY, base_url: server.url, ...extra }, '/tmp');
// The sync key is the warehouse row's key; Klaviyo identifies profiles by the mapped email,
// phone_number or external_id.
const op = (kind: Operation['op'], email: string, fields: Record<string, unknown> = {}): Operation => ({
  op: kind,
  key: `pk:${email}`,
  fields: { email, ...fields },
});
const imports = () => server.requests.filter((r) => r.path === '/api/profile-bulk-import-jobs');
const jobSize = (r: { body: unknown }) => (r.body as { data: { attributes: { profiles: { data: unknown[] } } } }).data.attributes.profiles.data.length;

describe('klaviyo upsert', () => {
  it('imports profiles: standard attributes, location and custom properties, with auth and revision headers', async () => {
    const out = await destination().send(
      [op('upsert', 'ada@example.com', { first_name: 'Ada', city: 'London', 'location.country': 'UK', ltv: 120.5, signup: new Date('2026-01-02T00:00:00Z') }), op('upsert', 'bob@example.com')],
      ctx,
    );
    expect(out).toEqual([
      { key: 'pk:ada@example.com', status: 'ok' },
      { key: 'pk:bob@example.com', status: 'ok' },
    ]);
    expect(server.find('email', 'ada@example.com')!.attributes).toEqual({
      email: 'ada@example.com',
      first_name: 'Ada',
      location: { city: 'London', country: 'UK' },
      properties: { ltv: 120.5, signup: '2026-01-02T00:00:00.000Z' },
    });
    expect(server.state.jobs.size).toBe(1);
    const [call] = imports();
    expect(call.method).toBe('POST');
    expect(call.headers).toMatchObject({ authorization: `Klaviyo-API-Key ${KEY}`, revision: '2024-10-15', 'content-type': 'application/vnd.api+json' });
    expect(call.body).not.toHaveProperty('data.relationships');
  });

  it('drops null fields, so an import never clears a value (Klaviyo cannot set null in bulk)', async () => {
    const d = destination();
    await d.send([op('upsert', 'ada@example.com', { first_name: 'Ada', tier: 'gold', nested: { a: 1, b: 2 } })], ctx);
    const out = await d.send([op('upsert', 'ada@example.com', { first_name: null, tier: 'silver', nested: { a: null, b: 3 }, city: null })], ctx);
    expect(out).toEqual([{ key: 'pk:ada@example.com', status: 'ok' }]);
    expect(JSON.stringify(imports()[1].body)).not.toContain('null');
    expect(server.find('email', 'ada@example.com')!.attributes).toEqual({
      email: 'ada@example.com',
      first_name: 'Ada',
      properties: { tier: 'silver', nested: { b: 3 } },
    });
  });

  it('uses the configured revision; identifies by any mapped identifier; rows with none are rejected unsent', async () => {
    const out = await destination({ revision: '2025-01-15' }).send(
      [
        { op: 'upsert', key: 'row-1', fields: { external_id: 1001, first_name: 'Ext' } },
        { op: 'upsert', key: 'row-2', fields: { phone_number: '+447700900123', email: null } },
        { op: 'upsert', key: 'row-3', fields: { email: null, first_name: 'Nobody' } },
      ],
      ctx,
    );
    expect(out).toEqual([
      { key: 'row-1', status: 'ok' },
      { key: 'row-2', status: 'ok' },
      { key: 'row-3', status: 'rejected', reason: 'no email, phone_number, external_id value to identify the Klaviyo profile' },
    ]);
    expect(imports()[0].headers.revision).toBe('2025-01-15');
    expect(server.find('external_id', '1001')!.attributes).toEqual({ external_id: '1001', first_name: 'Ext' });
    expect(server.find('phone_number', '+447700900123')!.attributes).toEqual({ phone_number: '+447700900123' });
  });

  it('keeps to 10,000 profiles per job, or batch_size when smaller', async () => {
    const ops = Array.from({ length: JOB_LIMIT + 5 }, (_, i) => op('upsert', `u${i}@example.com`));
    expect((await destination().send(ops, ctx)).every((o) => o.status === 'ok')).toBe(true);
    expect(imports().map(jobSize)).toEqual([JOB_LIMIT, 5]);
    expect(server.state.profiles.size).toBe(JOB_LIMIT + 5);
    server.requests.length = 0;
    await destination({ batch_size: 40 }).send(ops.slice(0, 90), ctx);
    expect(imports().map(jobSize)).toEqual([40, 40, 10]);
  });

  it('keeps each job under 5 MB', async () => {
    const big = 'x'.repeat(700_000);
    const ops = Array.from({ length: 9 }, (_, i) => op('upsert', `big${i}@example.com`, { blob: big }));
    expect((await destination().send(ops, ctx)).every((o) => o.status === 'ok')).toBe(true);
    expect(imports().length).toBeGreaterThan(1);
    expect(imports().every((r) => r.bytes < 5 * 1024 * 1024)).toBe(true);
    expect(server.state.profiles.size).toBe(9);
  });

  it('the contract server refuses over-limit jobs and missing revision headers, as Klaviyo does', async () => {
    const headers = { authorization: `Klaviyo-API-Key ${KEY}`, 'content-type': 'application/vnd.api+json', revision: '2024-10-15' };
    const profiles = Array.from({ length: JOB_LIMIT + 1 }, (_, i) => ({ type: 'profile', attributes: { email: `x${i}@example.com` } }));
    const body = JSON.stringify({ data: { type: 'profile-bulk-import-job', attributes: { profiles: { data: profiles } } } });
    expect((await fetch(`${server.url}/api/profile-bulk-import-jobs`, { method: 'POST', headers, body })).status).toBe(400);
    const { revision: _, ...noRevision } = headers;
    const one = JSON.stringify({ data: { type: 'profile-bulk-import-job', attributes: { profiles: { data: profiles.slice(0, 1) } } } });
    expect((await fetch(`${server.url}/api/profile-bulk-import-jobs`, { method: 'POST', headers: noRevision, body: one })).status).toBe(400);
    expect(server.state.profiles.size).toBe(0);
  });
});

describe('klaviyo partial failures', () => {
  it('a 400 pointing at a profile rejects that row with the detail; the others are resent and imported', async () => {
    const out = await destination().send([op('upsert', 'ok1@example.com'), op('upsert', 'not-an-email'), op('upsert', 'ok2@example.com', { phone_number: '12345' })], ctx);
    expect(out).toEqual([
      { key: 'pk:ok1@example.com', status: 'ok' },
      { key: 'pk:not-an-email', status: 'rejected', reason: 'Invalid email address' },
      { key: 'pk:ok2@example.com', status: 'rejected', reason: expect.stringMatching(/Invalid phone number/) },
    ]);
    expect([...server.state.profiles.values()].map((p) => p.attributes.email)).toEqual(['ok1@example.com']);
    expect(imports()).toHaveLength(2);
  });
});

describe('klaviyo audience', () => {
  beforeEach(() => {
    server.state.lists.set('LIST1', new Set());
  });

  it('adds import into the list; removes look the profile up and leave the list; unknown removals are ok', async () => {
    const d = destination({ list_id: 'LIST1' });
    expect(d.capabilities).toMatchObject({ modes: ['upsert', 'audience'], supportsRemoval: true, batchSize: 1000 });
    await d.send([op('add', 'ada@example.com', { first_name: 'Ada' }), op('add', 'bob@example.com'), op('add', 'cy@example.com')], ctx);
    expect(server.members('LIST1')).toEqual(['ada@example.com', 'bob@example.com', 'cy@example.com']);
    expect(imports()[0].body).toMatchObject({ data: { relationships: { lists: { data: [{ type: 'list', id: 'LIST1' }] } } } });

    const out = await d.send([op('remove', 'BOB@example.com'), op('remove', 'nobody@example.com'), op('add', 'dee@example.com')], ctx);
    expect(out.map((o) => o.status)).toEqual(['ok', 'ok', 'ok']);
    expect(server.members('LIST1')).toEqual(['ada@example.com', 'cy@example.com', 'dee@example.com']);
    // The profile stays in Klaviyo: removal is list membership only.
    expect(server.find('email', 'bob@example.com')).toBeDefined();
    const deletes = server.requests.filter((r) => r.method === 'DELETE');
    expect(deletes.map((r) => r.path)).toEqual(['/api/lists/LIST1/relationships/profiles']);
    expect(deletes[0].body).toEqual({ data: [{ type: 'profile', id: server.find('email', 'bob@example.com')!.id }] });
  });

  it('follows lookup pages and keeps to 100 identifiers per lookup and 1,000 profiles per removal', async () => {
    await server.close();
    server = await startKlaviyoServer({ apiKey: KEY, maxPageSize: 7 });
    server.state.lists.set('LIST1', new Set());
    const d = destination({ list_id: 'LIST1', batch_size: 5000 });
    const emails = Array.from({ length: 1203 }, (_, i) => `m${i}@example.com`);
    await d.send(emails.map((e) => op('add', e)), ctx);
    expect(server.state.lists.get('LIST1')!.size).toBe(1203);
    const out = await d.send(emails.slice(0, 1201).map((e) => op('remove', e)), ctx);
    expect(out.every((o) => o.status === 'ok')).toBe(true);
    expect(server.members('LIST1')).toEqual(['m1201@example.com', 'm1202@example.com']);
    const lookups = server.requests.filter((r) => r.path === '/api/profiles');
    expect(lookups.every((r) => JSON.parse(r.query.get('filter')!.replace(/^any\(email,/, '').slice(0, -1)).length <= 100)).toBe(true);
    // 12 full lookups of 100 identifiers at 7 profiles a page, and one of a single identifier.
    expect(lookups).toHaveLength(12 * Math.ceil(100 / 7) + 1);
    const deletes = server.requests.filter((r) => r.method === 'DELETE').map((r) => (r.body as { data: unknown[] }).data.length);
    expect(deletes).toEqual([1000, 201]);
  });

  it('a removal whose identifier Klaviyo refuses to look up is rejected; the rest are removed', async () => {
    const d = destination({ list_id: 'LIST1' });
    await d.send([op('add', 'ada@example.com'), op('add', 'bob@example.com')], ctx);
    const out = await d.send([op('remove', 'ada@example.com'), op('remove', 'bad"email'), op('remove', 'bob@example.com')], ctx);
    expect(out.map((o) => o.status)).toEqual(['ok', 'rejected', 'ok']);
    expect(out[1]).toMatchObject({ reason: expect.stringMatching(/Invalid email address in filter/) });
    expect(server.members('LIST1')).toEqual([]);
  });

  it('removes profiles identified by external_id or phone number', async () => {
    const d = destination({ list_id: 'LIST1' });
    const byExternal: Operation = { op: 'add', key: 'row-1', fields: { external_id: 'c-1' } };
    const byPhone: Operation = { op: 'add', key: 'row-2', fields: { phone_number: '+447700900123' } };
    await d.send([byExternal, byPhone], ctx);
    expect(server.state.lists.get('LIST1')!.size).toBe(2);
    const out = await d.send([{ ...byExternal, op: 'remove' }, { ...byPhone, op: 'remove' }], ctx);
    expect(out.map((o) => o.status)).toEqual(['ok', 'ok']);
    expect(server.state.lists.get('LIST1')!.size).toBe(0);
    const filters = server.requests.filter((r) => r.path === '/api/profiles').map((r) => r.query.get('filter'));
    expect(filters).toEqual(['any(phone_number,["+447700900123"])', 'any(external_id,["c-1"])']);
  });

  it('a missing list is fatal', async () => {
    await expect(destination({ list_id: 'NOPE' }).send([op('add', 'ada@example.com')], ctx)).rejects.toBeInstanceOf(FatalDestinationError);
  });

  it('without list_id, audience and delete operations are rejected before sending', async () => {
    const d = destination();
    expect(d.capabilities).toMatchObject({ modes: ['upsert'], supportsRemoval: false, batchSize: 10_000 });
    const out = await d.send([op('add', 'a@example.com'), op('remove', 'b@example.com'), op('delete', 'c@example.com')], ctx);
    expect(out.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(server.requests).toHaveLength(0);
  });
});

describe('klaviyo errors the engine acts on', () => {
  const one = [op('upsert', 'ada@example.com', { first_name: 'Ada' })];

  it('a wrong key is fatal', async () => {
    const d = factory.create({ api_key: 'pk_wrong', base_url: server.url }, '/tmp');
    await expect(d.send(one, ctx)).rejects.toBeInstanceOf(FatalDestinationError);
  });

  it('429 is retryable with Retry-After; 5xx, resets and timeouts are retryable; the next attempt succeeds', async () => {
    const d = destination({ timeout_ms: 300 });
    await expectTransportFaultsRetryable(server, () => d.send(one, ctx), { header: '12', ms: 12_000 });
    expect(await d.send(one, ctx)).toEqual([{ key: 'pk:ada@example.com', status: 'ok' }]);
    expect(server.find('email', 'ada@example.com')!.attributes.first_name).toBe('Ada');
  });

  it('a throttled lookup fails the removal batch for retry', async () => {
    server.state.lists.set('LIST1', new Set());
    const d = destination({ list_id: 'LIST1' });
    await d.send([op('add', 'ada@example.com')], ctx);
    server.inject({ kind: 'status', status: 429, retryAfter: '1', path: '/api/profiles' });
    await expect(d.send([op('remove', 'ada@example.com')], ctx)).rejects.toMatchObject({ name: 'RetryableBatchError', retryAfterMs: 1000 });
    expect(server.members('LIST1')).toEqual(['ada@example.com']);
  });
});

describe('klaviyo validateConfig', () => {
  it('requires api_key; checks revision, limits and audience settings without echoing secrets', () => {
    expect(factory.type).toBe('klaviyo');
    expect(factory.validateConfig({ type: 'klaviyo', api_key: 'pk_x' })).toEqual([]);
    expect(factory.validateConfig({}).map(([k]) => k)).toEqual(['api_key']);
    const problems = factory.validateConfig({
      api_key: 'pk_secret_value',
      revision: new Date('2024-10-15'),
      list_id: '',
      batch_size: 10_001,
      requests_per_secnd: 2,
    });
    expect(problems.map(([k]) => k)).toEqual(['revision', 'list_id', 'batch_size', 'requests_per_secnd']);
    expect(problems.find(([k]) => k === 'batch_size')![1]).toMatch(/at most 10000/);
    expect(problems.find(([k]) => k === 'revision')![1]).toMatch(/in quotes/);
    expect(JSON.stringify(problems)).not.toContain('pk_secret_value');
  });

  it('capabilities follow the overrides; the default pace is 2.5 requests per second', () => {
    expect(factory.create({ api_key: 'k' }, '/tmp').capabilities).toMatchObject({ requestsPerSecond: 2.5, batchSize: 10_000 });
    expect(factory.create({ api_key: 'k', batch_size: 500, requests_per_second: 1 }, '/tmp').capabilities).toMatchObject({ requestsPerSecond: 1, batchSize: 500 });
    expect(() => factory.create({ api_key: 'k', batch_size: 20_000 }, '/tmp')).toThrow(/at most 10000/);
  });
});

/**
 * The HubSpot connector against a contract server on 127.0.0.1 that validates each request
 * as HubSpot documents it and keeps contacts and list memberships, so every assertion is on
 * what HubSpot would hold afterwards, or on the error class the engine acts on.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { factory } from '../adapters/destination/hubspot/index.js';
import { FatalDestinationError, RetryableBatchError, type DeliveryContext, type Operation } from '../src/destination/types.js';
import { BATCH_LIMIT, startHubSpotServer, type HubSpotServer } from './contract/hubspot-server.js';
import { expectTransportFaultsRetryable } from './helpers/destination.js';

const TOKEN = 'hs-test-token';
const ctx: DeliveryContext = { sync: 'vip_to_hubspot', runId: 'run-1', batchId: 'b-1', signal: new AbortController().signal };

let server: HubSpotServer;
beforeEach(async () => {
  server = await startHubSpotServer({ token: TOKEN });
});
afterEach(async () => {
  await server.close();
});

const destination = (extra: Record<string, unknown> = {}) =>
  factory.create({ type: 'hubspot', access_token: TOKEN, base_url: server.url, ...extra }, '/tmp');
// The sync key is the warehouse row's key; HubSpot matches on the mapped id property.
const upsert = (email: string, fields: Record<string, unknown> = {}): Operation => ({ op: 'upsert', key: `pk:${email}`, fields: { email, ...fields } });
const add = (email: string, fields: Record<string, unknown> = {}): Operation => ({ op: 'add', key: `pk:${email}`, fields: { email, ...fields } });
const remove = (email: string): Operation => ({ op: 'remove', key: `pk:${email}`, fields: { email, firstname: 'last sent' } });
const upsertCalls = () => server.requests.filter((r) => r.path.endsWith('/batch/upsert'));

describe('hubspot upsert', () => {
  it('creates and updates contacts by email, with properties as strings and nulls clearing', async () => {
    const d = destination();
    const first = await d.send(
      [upsert('ada@example.com', { firstname: 'Ada', lifetime_value: 120.5, vip: true, signup: new Date('2026-01-02T03:04:05Z') }), upsert('bob@example.com', { firstname: 'Bob' })],
      ctx,
    );
    expect(first).toEqual([
      { key: 'pk:ada@example.com', status: 'ok' },
      { key: 'pk:bob@example.com', status: 'ok' },
    ]);
    expect(server.find('contacts', 'email', 'ada@example.com')?.properties).toEqual({
      email: 'ada@example.com',
      firstname: 'Ada',
      lifetime_value: '120.5',
      vip: 'true',
      signup: '2026-01-02T03:04:05.000Z',
    });

    await d.send([upsert('ada@example.com', { firstname: 'Ada L.', lifetime_value: null })], ctx);
    expect(server.state.objects.get('contacts')!.size).toBe(2);
    expect(server.find('contacts', 'email', 'ada@example.com')?.properties).toEqual({
      email: 'ada@example.com',
      firstname: 'Ada L.',
      vip: 'true',
      signup: '2026-01-02T03:04:05.000Z',
    });
    const body = upsertCalls()[0].body as { inputs: { idProperty: string; id: string }[] };
    expect(upsertCalls()[0].path).toBe('/crm/v3/objects/contacts/batch/upsert');
    expect(body.inputs[0]).toMatchObject({ idProperty: 'email', id: 'ada@example.com' });
  });

  it('keeps to 100 inputs per request, or batch_size when smaller', async () => {
    const ops = Array.from({ length: 230 }, (_, i) => upsert(`u${i}@example.com`, { n: i }));
    expect((await destination().send(ops, ctx)).every((o) => o.status === 'ok')).toBe(true);
    expect(upsertCalls().map((r) => (r.body as { inputs: unknown[] }).inputs.length)).toEqual([100, 100, 30]);
    expect(server.state.objects.get('contacts')!.size).toBe(230);

    server.requests.length = 0;
    const small = destination({ batch_size: 40 });
    expect(small.capabilities.batchSize).toBe(40);
    await small.send(ops.slice(0, 90), ctx);
    expect(upsertCalls().map((r) => (r.body as { inputs: unknown[] }).inputs.length)).toEqual([40, 40, 10]);
  });

  it('the contract server refuses more than 100 inputs, as HubSpot does', async () => {
    const inputs = Array.from({ length: BATCH_LIMIT + 1 }, (_, i) => ({ idProperty: 'email', id: `x${i}@example.com`, properties: {} }));
    const res = await fetch(`${server.url}/crm/v3/objects/contacts/batch/upsert`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs }),
    });
    expect(res.status).toBe(400);
    expect(server.state.objects.get('contacts')!.size).toBe(0);
  });

  it('upserts other object types by their own unique property', async () => {
    const d = destination({ object_type: 'companies', id_property: 'domain' });
    const op: Operation = { op: 'upsert', key: 'company-1', fields: { domain: 'acme.com', name: 'Acme' } };
    expect(await d.send([op], ctx)).toEqual([{ key: 'company-1', status: 'ok' }]);
    expect(server.find('companies', 'domain', 'acme.com')?.properties).toEqual({ domain: 'acme.com', name: 'Acme' });
  });
});

describe('hubspot identifiers', () => {
  it('rows sharing an email go as one input (HubSpot refuses duplicate ids); rows without one are rejected unsent', async () => {
    const out = await destination().send(
      [upsert('ada@example.com', { firstname: 'Ada' }), { op: 'upsert', key: 'other-row', fields: { email: 'ADA@example.com', lastname: 'Lovelace' } }, { op: 'upsert', key: 'no-email', fields: { email: null, firstname: 'X' } }],
      ctx,
    );
    expect(out).toEqual([
      { key: 'pk:ada@example.com', status: 'ok' },
      { key: 'other-row', status: 'ok' },
      { key: 'no-email', status: 'rejected', reason: 'no email value to match the contacts record on' },
    ]);
    expect((upsertCalls()[0].body as { inputs: unknown[] }).inputs).toHaveLength(1);
    expect(server.find('contacts', 'email', 'ada@example.com')?.properties).toEqual({ email: 'ada@example.com', firstname: 'Ada', lastname: 'Lovelace' });
  });
});

describe('hubspot partial failures', () => {
  const batch = () => [upsert('good1@example.com', { firstname: 'G1' }), upsert('not-an-email', { firstname: 'X' }), upsert('good2@example.com', { firstname: 'G2' })];
  const expected = [
    { key: 'pk:good1@example.com', status: 'ok' },
    { key: 'pk:not-an-email', status: 'rejected', reason: 'Email address not-an-email is invalid' },
    { key: 'pk:good2@example.com', status: 'ok' },
  ];

  it('a 400 naming the bad input: that row is rejected, the others resent and stored', async () => {
    expect(await destination().send(batch(), ctx)).toEqual(expected);
    expect(upsertCalls()).toHaveLength(2);
    expect([...server.state.objects.get('contacts')!.values()].map((r) => r.properties.email).sort()).toEqual(['good1@example.com', 'good2@example.com']);
  });

  it('a 207 multi-status: the named row is rejected, the rest applied in one request', async () => {
    server.options.invalidRowStyle = 'multi-status';
    expect(await destination().send(batch(), ctx)).toEqual(expected);
    expect(upsertCalls()).toHaveLength(1);
    expect(server.state.objects.get('contacts')!.size).toBe(2);
  });

  it('a 400 naming nothing: the batch is halved until the bad row is alone', async () => {
    server.options.invalidRowStyle = 'opaque';
    const out = await destination().send(batch(), ctx);
    expect(out.map((o) => o.status)).toEqual(['ok', 'rejected', 'ok']);
    expect(out[1]).toMatchObject({ reason: expect.stringContaining('Property values were not valid') });
    expect(server.state.objects.get('contacts')!.size).toBe(2);
  });
});

describe('hubspot audience', () => {
  beforeEach(() => {
    server.state.lists.set('42', { processingType: 'MANUAL', members: new Set() });
  });
  const listEmails = () =>
    [...server.state.lists.get('42')!.members].map((id) => server.state.objects.get('contacts')!.get(id)!.properties.email).sort();

  it('adds upsert the contact then join the list; removes leave it; unknown removals are ok', async () => {
    const d = destination({ list_id: '42' });
    expect(d.capabilities.modes).toEqual(['upsert', 'audience']);
    expect(d.capabilities.supportsRemoval).toBe(true);
    const added = await d.send([add('ada@example.com', { firstname: 'Ada' }), add('bob@example.com'), add('cy@example.com')], ctx);
    expect(added.every((o) => o.status === 'ok')).toBe(true);
    expect(listEmails()).toEqual(['ada@example.com', 'bob@example.com', 'cy@example.com']);
    expect(server.find('contacts', 'email', 'ada@example.com')?.properties.firstname).toBe('Ada');

    const mixed = await d.send([remove('bob@example.com'), remove('nobody@example.com'), add('dee@example.com')], ctx);
    expect(mixed).toEqual([
      { key: 'pk:bob@example.com', status: 'ok' },
      { key: 'pk:nobody@example.com', status: 'ok' },
      { key: 'pk:dee@example.com', status: 'ok' },
    ]);
    expect(listEmails()).toEqual(['ada@example.com', 'cy@example.com', 'dee@example.com']);
    // The contact stays in the CRM, untouched: removal is list membership only.
    expect(server.find('contacts', 'email', 'bob@example.com')?.properties).toEqual({ email: 'bob@example.com' });
    const membership = server.requests.filter((r) => r.path === '/crm/v3/lists/42/memberships/add-and-remove');
    expect(membership).toHaveLength(2);
    expect(membership.every((r) => r.method === 'PUT')).toBe(true);
  });

  it('looks record ids up when the upsert answer carries no properties', async () => {
    server.options.upsertReturnsProperties = false;
    const d = destination({ list_id: 42 });
    expect((await d.send([add('ada@example.com'), add('bob@example.com')], ctx)).every((o) => o.status === 'ok')).toBe(true);
    expect(listEmails()).toEqual(['ada@example.com', 'bob@example.com']);
    expect(server.requests.some((r) => r.path.endsWith('/batch/read'))).toBe(true);
  });

  it('a row rejected by the upsert does not reach the list', async () => {
    const out = await destination({ list_id: '42' }).send([add('ok@example.com'), add('bad@@example')], ctx);
    expect(out.map((o) => o.status)).toEqual(['ok', 'rejected']);
    expect(listEmails()).toEqual(['ok@example.com']);
  });

  it('a missing or dynamic list is fatal: every batch would fail the same way', async () => {
    await expect(destination({ list_id: '999' }).send([add('ada@example.com')], ctx)).rejects.toBeInstanceOf(FatalDestinationError);
    server.state.lists.set('7', { processingType: 'DYNAMIC', members: new Set() });
    await expect(destination({ list_id: '7' }).send([add('ada@example.com')], ctx)).rejects.toThrow(/DYNAMIC/);
  });

  it('without list_id there is no audience mode, and audience operations are rejected', async () => {
    const d = destination();
    expect(d.capabilities.modes).toEqual(['upsert']);
    expect(d.capabilities.supportsRemoval).toBe(false);
    const out = await d.send([add('a@example.com'), { op: 'delete', key: 'b', fields: { email: 'b@example.com' } }], ctx);
    expect(out.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(server.requests).toHaveLength(0);
  });
});

describe('hubspot errors the engine acts on', () => {
  const one = [upsert('ada@example.com', { firstname: 'Ada' })];

  it('a wrong token is fatal', async () => {
    const d = factory.create({ access_token: 'wrong', base_url: server.url }, '/tmp');
    const err = await d.send(one, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalDestinationError);
    expect(String((err as Error).message)).not.toContain('wrong');
  });

  it('429 is retryable with Retry-After; 5xx, resets and timeouts are retryable; the next attempt succeeds', async () => {
    const d = destination({ timeout_ms: 300 });
    await expectTransportFaultsRetryable(server, () => d.send(one, ctx), { header: '7', ms: 7000 });
    expect(await d.send(one, ctx)).toEqual([{ key: 'pk:ada@example.com', status: 'ok' }]);
    expect(server.find('contacts', 'email', 'ada@example.com')?.properties.firstname).toBe('Ada');
  });

  it('a failure in the membership step fails the whole batch for retry (adds are idempotent)', async () => {
    server.state.lists.set('42', { processingType: 'MANUAL', members: new Set() });
    const d = destination({ list_id: '42' });
    server.inject({ kind: 'status', status: 429, retryAfter: '2', path: '/memberships/' });
    const err = await d.send([add('ada@example.com')], ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'RetryableBatchError', retryAfterMs: 2000 });
    expect(await d.send([add('ada@example.com')], ctx)).toEqual([{ key: 'pk:ada@example.com', status: 'ok' }]);
    expect(server.state.lists.get('42')!.members.size).toBe(1);
  });
});

describe('hubspot validateConfig', () => {
  it('accepts a minimal entry and reports each problem by key, without echoing secrets', () => {
    expect(factory.type).toBe('hubspot');
    expect(factory.validateConfig({ type: 'hubspot', access_token: 'pat-na1-secret' })).toEqual([]);
    const problems = factory.validateConfig({ access_token: '', batch_size: 101, list_id: '', base_url: 'ftp://x', requests_per_second: 0, concurency: 2 });
    expect(problems.map(([k]) => k)).toEqual(['access_token', 'list_id', 'base_url', 'batch_size', 'requests_per_second', 'concurency']);
    expect(problems.find(([k]) => k === 'batch_size')![1]).toMatch(/at most 100/);
    expect(problems.find(([k]) => k === 'concurency')![1]).toMatch(/did you mean concurrency/);
    expect(factory.validateConfig({})).toEqual([['access_token', expect.stringMatching(/required/)]]);
    const typo = factory.validateConfig({ acess_token: 'pat-na1-secret' });
    expect(JSON.stringify(typo)).not.toContain('pat-na1-secret');
  });

  it('create refuses an invalid entry; capabilities follow the overrides', () => {
    expect(() => factory.create({ batch_size: 500 }, '/tmp')).toThrow(/access_token is required.*at most 100/);
    const d = factory.create({ access_token: 't', batch_size: 50, concurrency: 2, requests_per_second: 15 }, '/tmp');
    expect(d.capabilities).toMatchObject({ batchSize: 50, concurrency: 2, requestsPerSecond: 15, identifiers: [{ field: 'email', prepare: 'plain' }] });
    expect(factory.create({ access_token: 't', list_id: '1' }, '/tmp').capabilities.requestsPerSecond).toBe(5);
  });
});

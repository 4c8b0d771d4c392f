/**
 * The Braze connector against a contract server on 127.0.0.1 that validates each
 * /users/track request as Braze documents it and keeps users and attributes, so every
 * assertion is on what Braze would hold afterwards, or on the error class the engine acts on.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { factory } from '../adapters/destination/braze/index.js';
import { FatalDestinationError, type DeliveryContext, type Operation } from '../src/destination/types.js';
import { OBJECT_LIMIT, startBrazeServer, type BrazeServer } from './contract/braze-server.js';
import { expectTransportFaultsRetryable } from './helpers/destination.js';

const KEY = 'braze-test-key';
const ctx: DeliveryContext = { sync: 'vip_to_braze', runId: 'run-1', batchId: 'b-1', signal: new AbortController().signal };

let server: BrazeServer;
beforeEach(async () => {
  server = await startBrazeServer({ apiKey: KEY });
});
afterEach(async () => {
  await server.close();
});

const destination = (extra: Record<string, unknown> = {}) =>
  factory.create({ type: 'braze', api_key: KEY, rest_endpoint: server.url, ...extra }, '/tmp');
// The sync key is the warehouse row's key; Braze identifies users by the mapped external_id or email.
const op = (kind: Operation['op'], externalId: string, fields: Record<string, unknown> = {}): Operation => ({
  op: kind,
  key: `pk:${externalId}`,
  fields: { external_id: externalId, ...fields },
});
const trackCalls = () => server.requests.filter((r) => r.path === '/users/track');

describe('braze upsert', () => {
  it('creates and updates users by external_id; nulls unset; dates become ISO 8601', async () => {
    const d = destination();
    const out = await d.send(
      [op('upsert', 'u1', { email: 'ada@example.com', first_name: 'Ada', ltv: 120.5, signup: new Date('2026-01-02T03:04:05Z') }), op('upsert', 'u2', { first_name: 'Bob' })],
      ctx,
    );
    expect(out).toEqual([
      { key: 'pk:u1', status: 'ok' },
      { key: 'pk:u2', status: 'ok' },
    ]);
    expect(server.user({ external_id: 'u1' })).toEqual({
      external_id: 'u1',
      email: 'ada@example.com',
      attributes: { first_name: 'Ada', ltv: 120.5, signup: '2026-01-02T03:04:05.000Z' },
    });
    await d.send([op('upsert', 'u1', { first_name: 'Ada L.', ltv: null })], ctx);
    expect(server.state.users).toHaveLength(2);
    expect(server.user({ external_id: 'u1' })!.attributes).toEqual({ first_name: 'Ada L.', signup: '2026-01-02T03:04:05.000Z' });
    const call = trackCalls()[0];
    expect(call.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(call.method).toBe('POST');
  });

  it('identifies by email when no external_id is mapped; rows with neither are rejected unsent', async () => {
    const out = await destination().send(
      [
        { op: 'upsert', key: 'row-1', fields: { email: 'ada@example.com', first_name: 'Ada' } },
        { op: 'upsert', key: 'row-2', fields: { external_id: 42, email: null, first_name: 'Num' } },
        { op: 'upsert', key: 'row-3', fields: { external_id: null, email: null, first_name: 'Nobody' } },
      ],
      ctx,
    );
    expect(out).toEqual([
      { key: 'row-1', status: 'ok' },
      { key: 'row-2', status: 'ok' },
      { key: 'row-3', status: 'rejected', reason: 'no external_id or email value to identify the Braze user' },
    ]);
    expect(server.user({ email: 'ada@example.com' })).toEqual({ email: 'ada@example.com', attributes: { first_name: 'Ada' } });
    // Identifiers go as strings, and a null identifier is left out rather than sent.
    expect(server.user({ external_id: '42' })!.attributes).toEqual({ first_name: 'Num' });
    expect((trackCalls()[0].body as { attributes: unknown[] }).attributes).toHaveLength(2);
  });

  it('keeps to 75 attribute objects per request, or batch_size when smaller', async () => {
    const ops = Array.from({ length: 200 }, (_, i) => op('upsert', `u${i}`, { n: i }));
    expect((await destination().send(ops, ctx)).every((o) => o.status === 'ok')).toBe(true);
    expect(trackCalls().map((r) => (r.body as { attributes: unknown[] }).attributes.length)).toEqual([75, 75, 50]);
    expect(server.state.users).toHaveLength(200);
    server.requests.length = 0;
    await destination({ batch_size: 30 }).send(ops.slice(0, 70), ctx);
    expect(trackCalls().map((r) => (r.body as { attributes: unknown[] }).attributes.length)).toEqual([30, 30, 10]);
  });

  it('the contract server refuses more than 75 attribute objects, as Braze does', async () => {
    const attributes = Array.from({ length: OBJECT_LIMIT + 1 }, (_, i) => ({ external_id: `x${i}` }));
    const res = await fetch(`${server.url}/users/track`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ attributes }),
    });
    expect(res.status).toBe(400);
    expect(server.state.users).toHaveLength(0);
  });
});

describe('braze partial failures', () => {
  it('errors by index reject those rows; the rest are applied in the same request', async () => {
    const out = await destination().send(
      [op('upsert', 'u1', { email: 'ok@example.com' }), op('upsert', 'u2', { email: 'not-an-email' }), op('upsert', 'u3', { first_name: 'C' })],
      ctx,
    );
    expect(out).toEqual([
      { key: 'pk:u1', status: 'ok' },
      { key: 'pk:u2', status: 'rejected', reason: 'Invalid email address: not-an-email' },
      { key: 'pk:u3', status: 'ok' },
    ]);
    expect(trackCalls()).toHaveLength(1);
    expect(server.state.users.map((u) => u.external_id)).toEqual(['u1', 'u3']);
  });

  it('a request refused as a whole (400) rejects its rows with the reason', async () => {
    const out = await destination().send([op('upsert', 'u1', { email: 'nope' })], ctx);
    expect(out).toEqual([{ key: 'pk:u1', status: 'rejected', reason: 'Invalid email address: nope' }]);
    expect(server.state.users).toHaveLength(0);
  });
});

describe('braze audience', () => {
  it('a boolean attribute: true on add (with fields), false on remove; removals never create users', async () => {
    const d = destination({ audience_attribute: 'in_vip_segment' });
    expect(d.capabilities.modes).toEqual(['upsert', 'audience']);
    expect(d.capabilities.supportsRemoval).toBe(true);
    await d.send([op('add', 'u1', { first_name: 'Ada' }), op('add', 'u2')], ctx);
    expect(server.user({ external_id: 'u1' })!.attributes).toEqual({ first_name: 'Ada', in_vip_segment: true });
    expect(server.user({ external_id: 'u2' })!.attributes).toEqual({ in_vip_segment: true });

    const out = await d.send([op('remove', 'u2', { first_name: 'stale' }), op('remove', 'ghost')], ctx);
    expect(out.map((o) => o.status)).toEqual(['ok', 'ok']);
    expect(server.user({ external_id: 'u2' })!.attributes).toEqual({ in_vip_segment: false });
    expect(server.user({ external_id: 'ghost' })).toBeUndefined();
    expect(server.state.users).toHaveLength(2);
  });

  it('an array attribute: the value is added and removed, other values kept', async () => {
    const d = destination({ audience_attribute: { name: 'segments', value: 'vip' } });
    await destination().send([op('upsert', 'u1', { segments: ['newsletter'] })], ctx);
    await d.send([op('add', 'u1'), op('add', 'u2')], ctx);
    expect(server.user({ external_id: 'u1' })!.attributes.segments).toEqual(['newsletter', 'vip']);
    expect(server.user({ external_id: 'u2' })!.attributes.segments).toEqual(['vip']);
    await d.send([op('remove', 'u1')], ctx);
    expect(server.user({ external_id: 'u1' })!.attributes.segments).toEqual(['newsletter']);
    expect(server.user({ external_id: 'u2' })!.attributes.segments).toEqual(['vip']);
  });

  it('without audience_attribute, audience and delete operations are rejected before sending', async () => {
    const d = destination();
    expect(d.capabilities.modes).toEqual(['upsert']);
    const out = await d.send([op('add', 'u1'), op('delete', 'u2')], ctx);
    expect(out.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(server.requests).toHaveLength(0);
  });
});

describe('braze errors the engine acts on', () => {
  const one = [op('upsert', 'u1', { first_name: 'Ada' })];

  it('a wrong key is fatal', async () => {
    const d = factory.create({ api_key: 'wrong', rest_endpoint: server.url }, '/tmp');
    await expect(d.send(one, ctx)).rejects.toBeInstanceOf(FatalDestinationError);
  });

  it('429 is retryable with Retry-After; 5xx, resets and timeouts are retryable; the next attempt succeeds', async () => {
    const d = destination({ timeout_ms: 300 });
    await expectTransportFaultsRetryable(server, () => d.send(one, ctx), { header: '3', ms: 3000 });
    expect(await d.send(one, ctx)).toEqual([{ key: 'pk:u1', status: 'ok' }]);
    expect(server.user({ external_id: 'u1' })!.attributes).toEqual({ first_name: 'Ada' });
  });
});

describe('braze validateConfig', () => {
  it('requires api_key and rest_endpoint; checks limits and audience settings', () => {
    expect(factory.type).toBe('braze');
    expect(factory.validateConfig({ type: 'braze', api_key: 'k', rest_endpoint: 'https://rest.iad-01.braze.com' })).toEqual([]);
    expect(factory.validateConfig({}).map(([k]) => k)).toEqual(['api_key', 'rest_endpoint']);
    const problems = factory.validateConfig({
      api_key: 'secret-key-value',
      rest_endpoint: 'rest.iad-01.braze.com',
      batch_size: 76,
      audience_attribute: { name: 'segments' },
      rest_endpoit: 'https://x',
    });
    expect(problems.map(([k]) => k)).toEqual(['rest_endpoint', 'audience_attribute', 'batch_size', 'rest_endpoit']);
    expect(factory.validateConfig({ api_key: '${env:BRAZE_KEY}', rest_endpoint: '${env:BRAZE_ENDPOINT}' })).toEqual([]);
    expect(problems.find(([k]) => k === 'batch_size')![1]).toMatch(/at most 75/);
    expect(JSON.stringify(problems)).not.toContain('secret-key-value');
    expect(factory.validateConfig({ api_key: 'k', rest_endpoint: 'https://x', audience_attribute: 42 })).toEqual([['audience_attribute', expect.any(String)]]);
  });

  it('capabilities follow the overrides', () => {
    const d = factory.create({ api_key: 'k', rest_endpoint: 'https://x', batch_size: 50, requests_per_second: 100 }, '/tmp');
    expect(d.capabilities).toMatchObject({ batchSize: 50, requestsPerSecond: 100, supportsRemoval: false });
    expect(factory.create({ api_key: 'k', rest_endpoint: 'https://x' }, '/tmp').capabilities).toMatchObject({ batchSize: 75, requestsPerSecond: 1000 });
    expect(() => factory.create({ api_key: 'k' }, '/tmp')).toThrow(/rest_endpoint is required/);
  });
});

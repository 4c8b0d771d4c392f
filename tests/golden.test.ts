/**
 * Golden records on real engines: hand-made source tables, a source_records mapping and a
 * profiles table, and the exact rows every survivorship rule and trait must produce. The
 * expectations are written once and must hold on DuckDB and PostgreSQL alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CdpError } from '../src/errors.js';
import { validateGoldenSpec, type GoldenSpec } from '../src/golden/spec.js';
import { goldenRecordSql, type GoldenSource } from '../src/golden/sql.js';
import { openWarehouse, type TargetConfig } from '../src/warehouse/registry.js';
import type { Row, Warehouse } from '../src/warehouse/types.js';
import { PG, createPgDatabase, dropPgDatabase } from './helpers/project.js';

// Timestamps must come back as UTC whatever the local zone.
process.env.TZ = 'Asia/Kolkata';

const SCHEMA = 'golden_test';
const CRM = 'stg_crm_contacts';
const ORDERS = 'stg_orders';
const EVENTS = 'stg_events';

const SETUP = [
  `CREATE SCHEMA ${SCHEMA}`,
  `CREATE TABLE ${SCHEMA}.stg_crm_contacts (contact_id INTEGER, first_name TEXT, email TEXT, phone TEXT, address TEXT, score INTEGER, updated_at TIMESTAMP)`,
  `INSERT INTO ${SCHEMA}.stg_crm_contacts VALUES
    (1, 'Ann', 'ann@crm.com', '111', '1 Main St', 10, '2024-01-01 00:00:00'),
    (2, 'Bob', 'bob@old.com', '333', NULL, 5, '2024-02-01 00:00:00'),
    (10, 'Bobby', 'bob@new.com', NULL, '9 Elm Rd', NULL, '2024-02-01 00:00:00'),
    (3, NULL, NULL, NULL, NULL, NULL, '2024-05-01 00:00:00'),
    (4, 'Cyrus', NULL, '655', 'Short Ln', 7, '2020-01-01 00:00:00')`,
  // "order" is reserved: the key column is quoted by the generator.
  `CREATE TABLE ${SCHEMA}.stg_orders ("order" INTEGER, billing_first_name TEXT, email TEXT, phone TEXT, shipping_address TEXT, amount DECIMAL(10, 2), status TEXT, ordered_at TIMESTAMP, updated_at TIMESTAMP)`,
  `INSERT INTO ${SCHEMA}.stg_orders VALUES
    (100, 'Annie', 'ann@orders.com', '111', '1 Main Street Apt 2', 10.00, 'completed', '2024-01-01 00:00:00', '2024-03-01 00:00:00'),
    (101, NULL, 'ann@crm.com', '222', NULL, 20.50, 'completed', '2024-03-01 00:00:00', '2024-03-02 00:00:00'),
    (102, 'Robert', 'bob@orders.com', '444', NULL, 30.00, 'cancelled', '2024-02-01 00:00:00', '2024-02-01 00:00:00'),
    (103, 'Cy', 'cy@orders.com', '566', 'Long Way', 5.00, 'pending', '2020-01-01 00:00:00', NULL),
    (104, NULL, NULL, '700', NULL, 40.00, 'completed', '2024-01-01 00:00:00', '2024-01-01 00:00:00'),
    (105, NULL, NULL, '777', NULL, 60.00, 'completed', '2024-06-01 00:00:00', '2024-06-01 00:00:00'),
    (1, NULL, NULL, NULL, NULL, 1.00, 'completed', '2023-12-31 00:00:00', NULL),
    (999, 'Zed', 'z@z.com', '999', 'Nowhere', 500.00, 'completed', '2024-01-01 00:00:00', '2030-01-01 00:00:00')`,
  `CREATE TABLE ${SCHEMA}.stg_events (event_id TEXT, channel TEXT, is_mobile BOOLEAN)`,
  `INSERT INTO ${SCHEMA}.stg_events VALUES
    ('e1', 'web', false), ('e3', NULL, NULL), ('e2', 'app', true), ('e10', 'email', NULL), ('e11', 'app', false)`,
  `CREATE TABLE ${SCHEMA}.customer_source_records (source TEXT, record_key TEXT, profile_id TEXT)`,
  // Order 999 maps to no profile. Order 1 and contact 1 share a key but not a profile, so a
  // join that ignored `source` would show up as p1 gaining an order.
  `INSERT INTO ${SCHEMA}.customer_source_records VALUES
    ('stg_crm_contacts', '1', 'p1'), ('stg_crm_contacts', '2', 'p2'), ('stg_crm_contacts', '10', 'p2'),
    ('stg_crm_contacts', '3', 'p3'), ('stg_crm_contacts', '4', 'p3'),
    ('stg_orders', '100', 'p1'), ('stg_orders', '101', 'p1'), ('stg_orders', '102', 'p2'), ('stg_orders', '103', 'p3'),
    ('stg_orders', '104', 'p6'), ('stg_orders', '105', 'p6'), ('stg_orders', '1', 'p5'),
    ('stg_events', 'e1', 'p1'), ('stg_events', 'e3', 'p1'), ('stg_events', 'e2', 'p5'), ('stg_events', 'e10', 'p5'), ('stg_events', 'e11', 'p5')`,
  `CREATE TABLE ${SCHEMA}.customer_profiles (profile_id TEXT, created_at TIMESTAMP)`,
  `INSERT INTO ${SCHEMA}.customer_profiles VALUES ('p1', NULL), ('p2', NULL), ('p3', NULL), ('p4', NULL), ('p5', NULL), ('p6', NULL)`,
];

const SPEC: GoldenSpec = {
  name: 'customer_golden',
  entity: 'customer',
  provenance: true,
  attributes: {
    first_name: { rule: 'most_recent', from: { [CRM]: 'first_name', [ORDERS]: 'billing_first_name' } },
    email: { rule: 'source_priority', priority: [CRM, ORDERS], from: { [CRM]: 'email', [ORDERS]: 'email' } },
    first_email: { rule: 'oldest', from: { [CRM]: 'email', [ORDERS]: 'email' } },
    emails: { rule: 'collect', from: { [CRM]: 'email', [ORDERS]: 'email' } },
    phone: { rule: 'most_frequent', from: { [CRM]: 'phone', [ORDERS]: 'phone' } },
    address: { rule: 'longest', from: { [CRM]: 'address', [ORDERS]: 'shipping_address' } },
    first_seen: { rule: 'min', from: { [CRM]: 'updated_at', [ORDERS]: 'ordered_at' } },
    last_seen: { rule: 'max', from: { [CRM]: 'updated_at', [ORDERS]: 'ordered_at' } },
    score: { rule: 'custom', sql: 'sum(value)', type: 'integer', from: { [CRM]: 'score', [ORDERS]: 'floor(amount)' } },
    email_sources: { rule: 'custom', sql: 'count(DISTINCT source)', from: { [CRM]: 'email', [ORDERS]: 'email' } },
    last_channel: { rule: 'most_recent', from: { [EVENTS]: 'channel' } },
  },
  traits: {
    order_count: { from: ORDERS, agg: 'count' },
    completed_orders: { from: ORDERS, agg: 'count', where: "status = 'completed'" },
    lifetime_value: { from: ORDERS, agg: 'sum', expr: 'amount', where: "status = 'completed'" },
    avg_order_value: { from: ORDERS, agg: 'avg', expr: 'amount' },
    first_order_at: { from: ORDERS, agg: 'min', expr: 'ordered_at' },
    last_order_at: { from: ORDERS, agg: 'max', expr: 'ordered_at' },
    orders_with_email: { from: ORDERS, agg: 'count', expr: 'email' },
    distinct_channels: { from: EVENTS, agg: 'count_distinct', expr: 'channel' },
    used_mobile: { from: EVENTS, agg: 'bool_or', expr: 'is_mobile' },
  },
};

const ts = (day: string) => new Date(`${day}T00:00:00Z`);

const NO_ATTRIBUTES = {
  first_name: null, first_name__source: null,
  email: null, email__source: null,
  first_email: null, first_email__source: null,
  emails: null, emails__source: null,
  phone: null, phone__source: null,
  address: null, address__source: null,
  first_seen: null, first_seen__source: null,
  last_seen: null, last_seen__source: null,
  score: null, score__source: null,
  email_sources: null, email_sources__source: null,
  last_channel: null, last_channel__source: null,
};
const NO_ORDERS = {
  order_count: 0, completed_orders: 0, lifetime_value: null, avg_order_value: null,
  first_order_at: null, last_order_at: null, orders_with_email: 0,
};
const NO_EVENTS = { distinct_channels: 0, used_mobile: null };

const EXPECTED: Row[] = [
  {
    profile_id: 'p1',
    // Annie's record is newer.
    first_name: 'Annie', first_name__source: ORDERS,
    email: 'ann@crm.com', email__source: CRM,
    first_email: 'ann@crm.com', first_email__source: CRM,
    emails: ['ann@crm.com', 'ann@orders.com'], emails__source: [CRM, ORDERS],
    // 111 twice beats the newer 222 once; the newest 111 row names the source.
    phone: '111', phone__source: ORDERS,
    address: '1 Main Street Apt 2', address__source: ORDERS,
    // Both sources say 2024-01-01; the order was updated more recently.
    first_seen: ts('2024-01-01'), first_seen__source: ORDERS,
    last_seen: ts('2024-03-01'), last_seen__source: ORDERS,
    score: 40, score__source: [CRM, ORDERS],
    email_sources: 2, email_sources__source: [CRM, ORDERS],
    last_channel: 'web', last_channel__source: EVENTS,
    order_count: 2, completed_orders: 2, lifetime_value: 30.5, avg_order_value: 15.25,
    first_order_at: ts('2024-01-01'), last_order_at: ts('2024-03-01'), orders_with_email: 2,
    distinct_channels: 1, used_mobile: false,
  },
  {
    profile_id: 'p2',
    // Three records updated at the same instant: source name, then record key as text ('10' < '2').
    first_name: 'Bobby', first_name__source: CRM,
    email: 'bob@new.com', email__source: CRM,
    first_email: 'bob@new.com', first_email__source: CRM,
    emails: ['bob@new.com', 'bob@old.com', 'bob@orders.com'], emails__source: [CRM, ORDERS],
    // One each, seen at the same time: the smaller value.
    phone: '333', phone__source: CRM,
    address: '9 Elm Rd', address__source: CRM,
    first_seen: ts('2024-02-01'), first_seen__source: CRM,
    last_seen: ts('2024-02-01'), last_seen__source: CRM,
    score: 35, score__source: [CRM, ORDERS],
    email_sources: 2, email_sources__source: [CRM, ORDERS],
    last_channel: null, last_channel__source: null,
    ...NO_ORDERS,
    order_count: 1, avg_order_value: 30, first_order_at: ts('2024-02-01'), last_order_at: ts('2024-02-01'), orders_with_email: 1,
    ...NO_EVENTS,
  },
  {
    profile_id: 'p3',
    // Cy has no updated_at, so the 2020 record wins.
    first_name: 'Cyrus', first_name__source: CRM,
    // The CRM has no email for p3: fall back to the next source.
    email: 'cy@orders.com', email__source: ORDERS,
    first_email: 'cy@orders.com', first_email__source: ORDERS,
    emails: ['cy@orders.com'], emails__source: [ORDERS],
    // One each: 655 was seen at a known time, 566 never.
    phone: '655', phone__source: CRM,
    // Equal length: the record with a known update time.
    address: 'Short Ln', address__source: CRM,
    first_seen: ts('2020-01-01'), first_seen__source: CRM,
    last_seen: ts('2024-05-01'), last_seen__source: CRM,
    score: 12, score__source: [CRM, ORDERS],
    email_sources: 1, email_sources__source: [ORDERS],
    last_channel: null, last_channel__source: null,
    ...NO_ORDERS,
    order_count: 1, avg_order_value: 5, first_order_at: ts('2020-01-01'), last_order_at: ts('2020-01-01'), orders_with_email: 1,
    ...NO_EVENTS,
  },
  { profile_id: 'p4', ...NO_ATTRIBUTES, ...NO_ORDERS, ...NO_EVENTS },
  {
    profile_id: 'p5',
    ...NO_ATTRIBUTES,
    first_seen: ts('2023-12-31'), first_seen__source: ORDERS,
    last_seen: ts('2023-12-31'), last_seen__source: ORDERS,
    score: 1, score__source: [ORDERS],
    // No updated_at anywhere: record key as text, 'e10' first.
    last_channel: 'email', last_channel__source: EVENTS,
    order_count: 1, completed_orders: 1, lifetime_value: 1, avg_order_value: 1,
    first_order_at: ts('2023-12-31'), last_order_at: ts('2023-12-31'), orders_with_email: 0,
    distinct_channels: 2, used_mobile: true,
  },
  {
    profile_id: 'p6',
    ...NO_ATTRIBUTES,
    // One each: the more recently seen value, although it sorts after 700.
    phone: '777', phone__source: ORDERS,
    first_seen: ts('2024-01-01'), first_seen__source: ORDERS,
    last_seen: ts('2024-06-01'), last_seen__source: ORDERS,
    score: 100, score__source: [ORDERS],
    order_count: 2, completed_orders: 2, lifetime_value: 100, avg_order_value: 50,
    first_order_at: ts('2024-01-01'), last_order_at: ts('2024-06-01'), orders_with_email: 0,
    ...NO_EVENTS,
  },
];

interface Engine {
  name: string;
  open(): Promise<{ wh: Warehouse; close(): Promise<void> }>;
}

const engines: Engine[] = [
  {
    name: 'duckdb',
    open: async () => {
      const wh = await openWarehouse({ type: 'duckdb', path: ':memory:' });
      return { wh, close: () => wh.close() };
    },
  },
  {
    name: 'postgres',
    open: async () => {
      const database = await createPgDatabase();
      const target: TargetConfig = { type: 'postgres', ...PG, database };
      const wh = await openWarehouse(target);
      return {
        wh,
        close: async () => {
          await wh.close();
          await dropPgDatabase(database);
        },
      };
    },
  },
];

/** Rows in profile order, with arrays sorted: `collect` promises a set, not an order. */
function canonical(rows: Row[]): Row[] {
  return rows
    .map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Array.isArray(v) ? [...v].sort() : v])))
    .sort((a, b) => String(a.profile_id).localeCompare(String(b.profile_id)));
}

describe.each(engines)('golden records on $name', (engine) => {
  let wh: Warehouse;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ wh, close } = await engine.open());
    for (const sql of SETUP) await wh.execute(sql);
  }, 60_000);

  afterAll(async () => {
    await close?.();
  }, 60_000);

  const context = () => {
    const rel = (name: string) => wh.dialect.relation({ schema: SCHEMA, name });
    const sources: Record<string, GoldenSource> = {
      [CRM]: { name: CRM, relation: rel(CRM), key: 'contact_id', updatedAt: 'updated_at' },
      [ORDERS]: { name: ORDERS, relation: rel(ORDERS), key: 'order', updatedAt: 'updated_at' },
      [EVENTS]: { name: EVENTS, relation: rel(EVENTS), key: 'event_id' },
    };
    return { sourceRecords: rel('customer_source_records'), profiles: rel('customer_profiles'), sources, dialect: wh.dialect };
  };

  it('picks one value per attribute and rule, with provenance and traits, for every profile', async () => {
    const rows = await wh.query(goldenRecordSql(SPEC, context()));
    expect(rows).toHaveLength(6);
    expect(Object.keys(rows[0])).toEqual([
      'profile_id',
      ...Object.keys(SPEC.attributes).flatMap((a) => [a, `${a}__source`]),
      ...Object.keys(SPEC.traits ?? {}),
    ]);
    expect(canonical(rows)).toStrictEqual(canonical(EXPECTED));
  });

  it('is one statement that materializes as a table', async () => {
    const sql = goldenRecordSql(SPEC, context());
    expect(sql).not.toMatch(/NULLS (LAST|FIRST)/i);
    expect(sql).not.toContain(';');
    const target = { schema: SCHEMA, name: 'customer_golden' };
    await wh.execute(wh.dialect.createTableAs(target, sql));
    const rows = await wh.query(`SELECT * FROM ${wh.dialect.relation(target)}`);
    expect(canonical(rows)).toStrictEqual(canonical(EXPECTED));
  });

  it('ranks unlisted sources after the priority list, and omits provenance when off', async () => {
    const spec: GoldenSpec = {
      name: 'customer_addresses',
      entity: 'customer',
      attributes: {
        address: { rule: 'source_priority', priority: [ORDERS], from: { [CRM]: 'address', [ORDERS]: 'shipping_address' } },
        name_length: { rule: 'max', type: 'bigint', from: { [CRM]: 'length(first_name)', [ORDERS]: 'length(billing_first_name)' } },
      },
    };
    const rows = await wh.query(goldenRecordSql(spec, context()));
    expect(canonical(rows)).toStrictEqual([
      // The order's address wins for p3 although it has no update time: priority comes first.
      { profile_id: 'p1', address: '1 Main Street Apt 2', name_length: 5 },
      { profile_id: 'p2', address: '9 Elm Rd', name_length: 6 },
      { profile_id: 'p3', address: 'Long Way', name_length: 5 },
      { profile_id: 'p4', address: null, name_length: null },
      { profile_id: 'p5', address: null, name_length: null },
      { profile_id: 'p6', address: null, name_length: null },
    ]);
  });

  it('builds traits alone, defaulting counts to 0 for profiles without rows', async () => {
    const spec: GoldenSpec = {
      name: 'customer_traits',
      entity: 'customer',
      attributes: {},
      traits: { big_orders: { from: ORDERS, agg: 'count', where: 'amount >= 40' }, any_big: { from: ORDERS, agg: 'bool_or', expr: 'amount >= 40' } },
    };
    const rows = await wh.query(goldenRecordSql(spec, context()));
    expect(canonical(rows)).toStrictEqual([
      { profile_id: 'p1', big_orders: 0, any_big: false },
      { profile_id: 'p2', big_orders: 0, any_big: false },
      { profile_id: 'p3', big_orders: 0, any_big: false },
      { profile_id: 'p4', big_orders: 0, any_big: null },
      { profile_id: 'p5', big_orders: 0, any_big: false },
      { profile_id: 'p6', big_orders: 2, any_big: true },
    ]);
  });
});

describe('goldenRecordSql', () => {
  it('names a source missing from the context', async () => {
    const { DuckDbDialect } = await import('../adapters/warehouse/duckdb/dialect.js');
    const spec: GoldenSpec = { name: 'g', entity: 'customer', attributes: { x: { rule: 'min', from: { stg_missing: 'x' } } } };
    const build = () => goldenRecordSql(spec, { sourceRecords: '"sr"', profiles: '"p"', sources: {}, dialect: new DuckDbDialect() });
    expect(build).toThrow(CdpError);
    expect(build).toThrow('golden record g: unknown source "stg_missing" at attributes.x.from.stg_missing');
  });
});

describe('validateGoldenSpec', () => {
  const known = [CRM, ORDERS, EVENTS];
  const validate = (raw: unknown) => validateGoldenSpec(raw, known);
  const base = (extra: Record<string, unknown>) => ({ name: 'customer_golden', entity: 'customer', ...extra });

  it('accepts the full example spec', () => {
    expect(validate(SPEC)).toEqual([]);
  });

  it('suggests the closest rule and agg', () => {
    expect(
      validate(
        base({
          attributes: { email: { rule: 'most_recnt', from: { [CRM]: 'email' } } },
          traits: { total: { from: ORDERS, agg: 'summ', expr: 'amount' }, n: { from: ORDERS, agg: 'median', expr: 'amount' } },
        }),
      ),
    ).toEqual([
      {
        path: ['attributes', 'email', 'rule'],
        message: 'unknown rule "most_recnt"',
        hint: 'did you mean "most_recent"? expected one of: most_recent, oldest, most_frequent, source_priority, longest, min, max, collect, custom',
      },
      { path: ['traits', 'total', 'agg'], message: 'unknown agg "summ"', hint: 'did you mean "sum"? expected one of: count, count_distinct, sum, avg, min, max, bool_or' },
      { path: ['traits', 'n', 'agg'], message: 'unknown agg "median"', hint: 'expected one of: count, count_distinct, sum, avg, min, max, bool_or' },
    ]);
  });

  it('requires priority for source_priority, naming only sources in from', () => {
    expect(validate(base({ attributes: { email: { rule: 'source_priority', from: { [CRM]: 'email', [ORDERS]: 'email' } } } }))).toEqual([
      {
        path: ['attributes', 'email', 'priority'],
        message: 'rule source_priority needs `priority`',
        hint: 'list the sources from most to least trusted, e.g. `priority: [stg_crm_contacts, stg_orders]`',
      },
    ]);
    expect(validate(base({ attributes: { email: { rule: 'source_priority', priority: [ORDERS, 'stg_crm_contact', EVENTS], from: { [CRM]: 'email', [ORDERS]: 'email' } } } }))).toEqual([
      { path: ['attributes', 'email', 'priority', 1], message: 'priority names source "stg_crm_contact", which is not in `from`', hint: 'did you mean "stg_crm_contacts"?' },
      { path: ['attributes', 'email', 'priority', 2], message: 'priority names source "stg_events", which is not in `from`', hint: 'sources in `from`: stg_crm_contacts, stg_orders' },
    ]);
  });

  it('rejects unknown sources with a suggestion', () => {
    expect(validate(base({ attributes: { email: { rule: 'min', from: { stg_order: 'email' } } }, traits: { n: { from: 'raw_things', agg: 'count' } } }))).toEqual([
      { path: ['attributes', 'email', 'from', 'stg_order'], message: 'unknown source "stg_order"', hint: 'did you mean "stg_orders"?' },
      { path: ['traits', 'n', 'from'], message: 'unknown source "raw_things"', hint: 'known sources: stg_crm_contacts, stg_orders, stg_events' },
    ]);
  });

  it('requires sql for custom and expr for aggregates other than count', () => {
    expect(validate(base({ attributes: { score: { rule: 'custom', from: { [CRM]: 'score' } } }, traits: { ltv: { from: ORDERS, agg: 'sum' } } }))).toEqual([
      {
        path: ['attributes', 'score', 'sql'],
        message: 'rule custom needs `sql`',
        hint: "an aggregate over the candidate rows' columns value, updated_at, source, record_key, e.g. `sql: \"max(value)\"`",
      },
      { path: ['traits', 'ltv', 'expr'], message: 'agg sum needs `expr`', hint: "a column name or SQL expression over the source's columns" },
    ]);
  });

  it('rejects duplicate, reserved and invalid names', () => {
    const attr = { rule: 'min', from: { [CRM]: 'email' } };
    expect(
      validate(
        base({
          provenance: true,
          attributes: { email: attr, 'first-name': attr, profile_id: attr, Phone: attr },
          traits: { email: { from: ORDERS, agg: 'count' }, phone: { from: ORDERS, agg: 'count' }, email__source: { from: ORDERS, agg: 'count' } },
        }),
      ),
    ).toEqual([
      { path: ['attributes', 'first-name'], message: 'invalid attribute name "first-name"', hint: 'use letters, digits and underscores, starting with a letter or underscore' },
      { path: ['attributes', 'profile_id'], message: 'attribute name "profile_id" is reserved', hint: 'every golden table already has a profile_id column' },
      { path: ['traits', 'email'], message: 'trait "email" clashes with attributes.email', hint: 'attribute and trait names become columns of one table, so they must be unique (case-insensitively)' },
      { path: ['traits', 'phone'], message: 'trait "phone" clashes with attributes.Phone', hint: 'attribute and trait names become columns of one table, so they must be unique (case-insensitively)' },
      { path: ['traits', 'email__source'], message: 'trait "email__source" clashes with attributes.email', hint: 'attribute and trait names become columns of one table, so they must be unique (case-insensitively)' },
    ]);
  });

  it('reports misplaced and misspelt keys and a bad spec name', () => {
    expect(
      validate({
        name: 'customer golden',
        entity: 'customer',
        provenance: 'yes',
        attributes: {
          email: { rule: 'most_recent', prority: [CRM], from: { [CRM]: 'email' } },
          phone: { rule: 'max', priority: [CRM], sql: 'max(value)', from: {} },
        },
      }),
    ).toEqual([
      { path: ['name'], message: 'invalid name "customer golden"', hint: 'use letters, digits and underscores, starting with a letter or underscore' },
      { path: ['provenance'], message: '`provenance` must be true or false' },
      { path: ['attributes', 'email', 'prority'], message: 'unknown key "prority"', hint: 'did you mean "priority"?' },
      { path: ['attributes', 'phone', 'from'], message: '`from` must be a non-empty mapping of source model to column or SQL expression' },
      { path: ['attributes', 'phone', 'priority'], message: '`priority` only applies to rule source_priority', hint: 'remove it, or use `rule: source_priority`' },
      { path: ['attributes', 'phone', 'sql'], message: '`sql` only applies to rule custom', hint: 'remove it, or use `rule: custom`' },
    ]);
  });

  it('rejects a spec that is not a mapping or defines nothing', () => {
    expect(validate(['x'])).toEqual([{ path: [], message: 'a golden-record spec must be a mapping', hint: 'expected keys: name, entity, attributes, traits' }]);
    expect(validate(base({}))).toEqual([
      {
        path: ['attributes'],
        message: 'the spec defines no attributes and no traits',
        hint: 'add at least one attribute (e.g. `email: { rule: most_recent, from: { <model>: email } }`) or trait',
      },
    ]);
  });
});

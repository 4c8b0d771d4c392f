/**
 * Benchmark data: the demo population as CSVs (generated once per size and kept under
 * bench/.work), loaded into a DuckDB file with DuckDB's own CSV reader. The loader is not what
 * is measured, so the fastest path is used: typed `read_csv`, then the staging models' cleaning
 * as plain SQL (the same expressions models/staging/*.sql produce through macros/).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEMO_SOURCES, generateDemoData, type DemoColumn } from '../../src/demo/generator.js';
import type { Warehouse } from '../../src/warehouse/types.js';

export interface DataInfo {
  dir: string;
  people: number;
  rows: Record<string, number>;
  generateSeconds: number;
}

export const RAW_SCHEMA = 'raw';
export const STAGING_SCHEMA = 'analytics';

/** Generates the demo CSVs for `people` unless a finished generation is already there. */
export async function ensureDemoData(workDir: string, people: number): Promise<DataInfo> {
  const dir = path.join(workDir, `identity-${people}`);
  const marker = path.join(dir, 'generated.json');
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, 'utf8')) as DataInfo;
  rmSync(dir, { recursive: true, force: true });
  const start = performance.now();
  const summary = await generateDemoData({ people, outDir: path.join(dir, 'raw'), truthFile: path.join(dir, 'ground_truth.csv') });
  const info: DataInfo = {
    dir, people,
    rows: Object.fromEntries(summary.files.map((f) => [f.name, f.rows])),
    generateSeconds: (performance.now() - start) / 1000,
  };
  writeFileSync(marker, JSON.stringify(info, null, 2));
  return info;
}

function duckType(c: DemoColumn): string {
  switch (c.type) {
    case 'text': return 'VARCHAR';
    case 'integer': return 'INTEGER';
    case 'double': return 'DOUBLE';
    case 'decimal': return `DECIMAL(${c.precision ?? 18},${c.scale ?? 2})`;
    case 'boolean': return 'BOOLEAN';
    case 'date': return 'DATE';
    case 'timestamp': return 'TIMESTAMP';
  }
}

const cleanText = (c: string) => `case when lower(trim(${c})) in ('', 'null', 'n/a', 'unknown', 'none') then null else trim(${c}) end`;
const cleanEmail = (c: string) => `nullif(regexp_replace(lower(${c}), '[[:space:]]', '', 'g'), '')`;
const digitsOnly = (c: string) => `nullif(regexp_replace(${c}, '[^0-9]', '', 'g'), '')`;

/** The select lists of models/staging/*.sql with their macros expanded (DuckDB spelling). */
const STAGING: Record<string, { from: string; select: string[] }> = {
  stg_crm_contacts: {
    from: 'raw_crm_contacts',
    select: [
      'contact_id', `${cleanText('customer_id')} as customer_id`, `${cleanText('first_name')} as first_name`,
      `${cleanText('last_name')} as last_name`, `${cleanEmail('email')} as email`, `${cleanText('phone')} as phone`,
      `${digitsOnly('phone')} as phone_digits`, `${cleanText('company_name')} as company_name`,
      `lower(${cleanText('company_domain')}) as company_domain`, `${cleanText('crm_account_id')} as crm_account_id`,
      `${cleanText('job_title')} as job_title`, 'created_at', 'updated_at',
    ],
  },
  stg_orders: {
    from: 'raw_orders',
    select: [
      'order_id', `${cleanText('customer_id')} as customer_id`, `${cleanEmail('email')} as email`, `${cleanText('phone')} as phone`,
      'ordered_at', 'amount', 'upper(currency) as currency', 'lower(status) as status',
    ],
  },
  stg_events: {
    from: 'raw_events',
    select: ['event_id', 'anonymous_id', `${cleanText('user_id')} as user_id`, `${cleanEmail('email')} as email`, 'event_type', 'occurred_at', 'channel'],
  },
  stg_support_tickets: {
    from: 'raw_support_tickets',
    select: ['ticket_id', `${cleanEmail('email')} as email`, `${cleanText('phone')} as phone`, 'subject', 'created_at', 'lower(status) as status'],
  },
  stg_email_subscriptions: {
    from: 'raw_email_subscriptions',
    select: ['subscription_id', `${cleanEmail('email')} as email`, 'list_name', 'lower(status) as status', 'consent_marketing', 'consent_updated_at', 'source'],
  },
};

export const STAGING_MODELS = Object.keys(STAGING);

export interface LoadTimes {
  readCsvSeconds: number;
  stagingSeconds: number;
  rows: Record<string, number>;
}

/** Loads the CSVs of `info` into RAW_SCHEMA and builds the staging tables in STAGING_SCHEMA. */
export async function loadWarehouse(wh: Warehouse, info: DataInfo): Promise<LoadTimes> {
  const lit = (s: string) => wh.dialect.quoteString(s);
  for (const schema of [RAW_SCHEMA, STAGING_SCHEMA]) await wh.execute(`create schema if not exists ${schema}`);
  let start = performance.now();
  for (const src of DEMO_SOURCES) {
    const columns = src.columns.map((c) => `${lit(c.name)}: ${lit(duckType(c))}`).join(', ');
    // allow_quoted_nulls=false keeps `""` (a junk blank) apart from an empty field (NULL), as the generator means it.
    await wh.execute(`create or replace table ${RAW_SCHEMA}.${src.name} as select * from read_csv(${lit(path.join(info.dir, 'raw', src.file))}, ` +
      `header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, columns = {${columns}})`);
  }
  const readCsvSeconds = (performance.now() - start) / 1000;
  start = performance.now();
  const rows: Record<string, number> = {};
  for (const [name, m] of Object.entries(STAGING)) {
    await wh.execute(`create or replace table ${STAGING_SCHEMA}.${name} as select ${m.select.join(', ')} from ${RAW_SCHEMA}.${m.from}`);
    const [{ n }] = await wh.query<{ n: number }>(`select count(*) as n from ${STAGING_SCHEMA}.${name}`);
    rows[name] = Number(n);
  }
  await wh.execute('checkpoint');
  return { readCsvSeconds, stagingSeconds: (performance.now() - start) / 1000, rows };
}

/**
 * `cdp init`: a small project that builds and tests as is on embedded DuckDB.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CdpError } from '../errors.js';

const FILES: Record<string, (name: string) => string> = {
  'cdp.config.yaml': (name) => `# composable-cdp project settings. Reference: the README's "Config reference".
name: ${name}
target: dev
targets:
  dev:
    type: duckdb            # embedded; the file lives in .cdp/dev.duckdb
  # prod:
  #   type: postgres
  #   host: 127.0.0.1
  #   port: 5432
  #   user: postgres
  #   password: \${env:PGPASSWORD}   # secrets only as references
  #   database: analytics
schema: analytics
threads: 4
vars:
  min_order_amount: 0
`,
  'seeds/raw_customers.csv': () => `customer_id,email,first_name,signed_up_at
1, Ada@Example.com ,Ada,2026-01-03 10:00:00
2,grace@example.com,Grace,2026-02-11 09:30:00
3,linus@example.com,Linus,2026-03-05 17:45:00
`,
  'seeds/raw_orders.csv': () => `order_id,customer_id,amount,ordered_at
100,1,25.50,2026-03-01 12:00:00
101,1,14.00,2026-03-09 08:10:00
102,2,99.90,2026-04-02 19:20:00
`,
  'models/staging/stg_customers.sql': () => `select
  customer_id,
  lower(trim(email)) as email,
  first_name,
  signed_up_at
from {{ref "raw_customers"}}
`,
  'models/staging/stg_orders.sql': () => `select order_id, customer_id, amount, ordered_at
from {{ref "raw_orders"}}
where amount >= {{var "min_order_amount"}}
`,
  'models/marts/customer_orders.sql': () => `{{config materialized="table"}}
select
  c.customer_id,
  c.email,
  count(o.order_id) as order_count,
  coalesce(sum(o.amount), 0) as lifetime_value
from {{ref "stg_customers"}} as c
left join {{ref "stg_orders"}} as o on o.customer_id = c.customer_id
group by c.customer_id, c.email
`,
  'models/schema.yml': () => `models:
  - name: stg_customers
    description: One row per customer, emails cleaned.
    columns:
      - name: customer_id
        tests: [unique, not_null]
  - name: customer_orders
    description: Orders and lifetime value per customer.
    columns:
      - name: customer_id
        tests:
          - unique
          - relationships: { to: stg_customers, field: customer_id }
      - name: lifetime_value
        tests:
          - expression: { expression: "lifetime_value >= 0" }
`,
  'macros/README.md': () => `Put Handlebars partials here as *.sql (use them as {{> file_name}})
and helper modules as *.js or *.ts (each exported function becomes a helper).

Where warehouses spell SQL differently, give a macro a per-warehouse form: a helper exported
as bigquery__my_macro, or a partial bigquery__my_macro.sql, replaces my_macro when the target
is BigQuery (prefixes: duckdb__, postgres__, bigquery__, snowflake__). The built-in helpers
{{regexp_replace "expr" "pattern" "replacement"}} and {{timestamp_minus "expr" 30 "day"}}
already write each warehouse's own syntax.
`,
  'syncs/.gitkeep': () => '',
  '.gitignore': () => `.cdp/\ntarget/\n`,
};

export function scaffoldProject(dir: string): { dir: string; files: string[] } {
  if (existsSync(path.join(dir, 'cdp.config.yaml'))) {
    throw new CdpError(`${dir} already has a cdp.config.yaml`, { hint: 'choose a new directory: cdp init my_project' });
  }
  if (existsSync(dir) && readdirSync(dir).some((f) => !f.startsWith('.'))) {
    throw new CdpError(`${dir} is not empty`, { hint: 'choose a new or empty directory so nothing is overwritten' });
  }
  const raw = path.basename(path.resolve(dir)).replace(/[^A-Za-z0-9_]/g, '_');
  const name = /^[A-Za-z_]/.test(raw) ? raw : `project_${raw}`;
  const files: string[] = [];
  for (const [rel, content] of Object.entries(FILES)) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content(name));
    files.push(rel);
  }
  return { dir, files };
}

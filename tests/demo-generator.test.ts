import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CdpError } from '../src/errors.js';
import { DEMO_SOURCES, DEMO_TRUTH_COLUMNS, generateDemoData, type DemoDataSummary } from '../src/demo/generator.js';
import { JUNK_EMAILS, JUNK_PHONES } from '../src/demo/vocab.js';

type Row = Record<string, string>;

let root: string;
let main: DemoDataSummary;
/** Parsed source rows keyed by source name, plus the owner of every record from the truth file. */
const rows = new Map<string, Row[]>();
const owner = new Map<string, string>();
let truthRows: Row[];

const PEOPLE = 2000;

async function readCsv(path: string): Promise<{ header: string[]; records: string[][] }> {
  // relax_column_count stays off: a quoting bug shows up as a ragged row and fails the parse.
  const records: string[][] = parse(await readFile(path), { relax_column_count: false });
  return { header: records[0], records: records.slice(1) };
}

async function readRows(path: string): Promise<Row[]> {
  const { header, records } = await readCsv(path);
  return records.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

function run(people: number, seed: number, name: string, truthFile = true): Promise<DemoDataSummary> {
  return generateDemoData({
    people,
    seed,
    outDir: join(root, name, 'seeds'),
    truthFile: truthFile ? join(root, name, 'truth', 'ground_truth.csv') : undefined,
  });
}

const normEmail = (e: string) => e.trim().toLowerCase();
const junkEmails = new Set(JUNK_EMAILS.map(normEmail));
const personOf = (source: string, key: string) => owner.get(`${source}|${key}`)!;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cdp-demo-'));
  main = await run(PEOPLE, 7, 'main');
  for (const file of main.files) rows.set(file.name, await readRows(file.path));
  truthRows = await readRows(main.truthFile);
  for (const t of truthRows) owner.set(`${t.source}|${t.record_key}`, t.person_id);
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('generateDemoData', () => {
  it('writes one CSV per DEMO_SOURCES entry with the declared header, and a summary that matches the files', async () => {
    expect(main.people).toBe(PEOPLE);
    expect(main.files.map((f) => f.name)).toEqual(DEMO_SOURCES.map((s) => s.name));
    for (const source of DEMO_SOURCES) {
      const file = main.files.find((f) => f.name === source.name)!;
      expect(file.path).toBe(join(root, 'main', 'seeds', source.file));
      const { header, records } = await readCsv(file.path);
      expect(header).toEqual(source.columns.map((c) => c.name));
      expect(source.columns[0].name).toBe(source.key);
      expect(records.length).toBe(file.rows);
    }
    const truth = await readCsv(main.truthFile);
    expect(truth.header).toEqual(DEMO_TRUTH_COLUMNS.map((c) => c.name));
    expect(truth.records.length).toBe(main.truthRows);
    expect(main.truthRows).toBe(main.files.reduce((n, f) => n + f.rows, 0));
  });

  it('is byte-identical for the same (people, seed) and differs for another seed', async () => {
    const again = await run(PEOPLE, 7, 'again');
    const other = await run(PEOPLE, 8, 'other');
    const paths = (s: DemoDataSummary) => [...s.files.map((f) => f.path), s.truthFile];
    const [a, b, c] = [paths(main), paths(again), paths(other)];
    let differences = 0;
    for (let i = 0; i < a.length; i++) {
      const bytes = await readFile(a[i]);
      expect((await readFile(b[i])).equals(bytes)).toBe(true);
      if (!(await readFile(c[i])).equals(bytes)) differences++;
    }
    expect(differences).toBe(a.length);
  });

  it('produces volumes per 1k people in the documented ranges, scaling linearly', async () => {
    const perK = (s: DemoDataSummary, name: string) => (s.files.find((f) => f.name === name)!.rows * 1000) / s.people;
    expect(perK(main, 'raw_crm_contacts')).toBeGreaterThanOrEqual(1050);
    expect(perK(main, 'raw_crm_contacts')).toBeLessThanOrEqual(1300);
    expect(perK(main, 'raw_orders')).toBeGreaterThanOrEqual(2000);
    expect(perK(main, 'raw_orders')).toBeLessThanOrEqual(4000);
    expect(perK(main, 'raw_events')).toBeGreaterThanOrEqual(10000);
    expect(perK(main, 'raw_events')).toBeLessThanOrEqual(20000);
    expect(perK(main, 'raw_support_tickets')).toBeGreaterThanOrEqual(300);
    expect(perK(main, 'raw_support_tickets')).toBeLessThanOrEqual(500);
    expect(perK(main, 'raw_email_subscriptions')).toBeGreaterThanOrEqual(700);
    expect(perK(main, 'raw_email_subscriptions')).toBeLessThanOrEqual(950);

    const bigger = await run(PEOPLE * 2, 7, 'bigger');
    for (const file of bigger.files) {
      const ratio = file.rows / main.files.find((f) => f.name === file.name)!.rows;
      expect(ratio, file.name).toBeGreaterThan(1.8);
      expect(ratio, file.name).toBeLessThan(2.2);
    }
  });

  it('maps every raw record to exactly one true person in the ground truth', () => {
    expect(owner.size).toBe(truthRows.length); // no (source, key) listed twice
    let records = 0;
    const problems: string[] = [];
    for (const source of DEMO_SOURCES) {
      const keys = new Set<string>();
      for (const r of rows.get(source.name)!) {
        const key = r[source.key];
        if (keys.has(key)) problems.push(`${source.name} key ${key} repeats`);
        keys.add(key);
        if (!/^P\d{7}$/.test(personOf(source.name, key) ?? '')) problems.push(`${source.name} ${key} has no person`);
        records++;
      }
    }
    expect(problems).toEqual([]);
    expect(records).toBe(truthRows.length); // and nothing in the truth that is not a record
    const people = new Set(truthRows.map((t) => t.person_id));
    expect(people.size).toBeGreaterThan(PEOPLE * 0.98);
    expect(people.size).toBeLessThanOrEqual(PEOPLE);
  });

  it('writes values in the declared logical types', () => {
    const patterns: Record<string, RegExp> = {
      timestamp: /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/,
      decimal: /^\d+\.\d{2}$/,
      boolean: /^(true|false)$/,
    };
    const problems = new Set<string>();
    for (const source of DEMO_SOURCES) {
      for (const r of rows.get(source.name)!) {
        for (const column of source.columns) {
          const value = r[column.name];
          const where = `${source.name}.${column.name}`;
          if (!column.nullable && value === '') problems.add(`${where} empty`);
          if (value !== '' && patterns[column.type] && !patterns[column.type].test(value)) problems.add(`${where}: ${value}`);
          if (column.type === 'timestamp' && !(value < '2026-06-30 00:00:00')) problems.add(`${where} after the reference date: ${value}`);
        }
      }
    }
    expect([...problems]).toEqual([]);
    const values = (source: string, column: string) => new Set(rows.get(source)!.map((r) => r[column]));
    expect([...values('raw_orders', 'status')].sort()).toEqual(['cancelled', 'completed', 'refunded']);
    expect([...values('raw_events', 'event_type')].sort()).toEqual(['add_to_cart', 'app_open', 'checkout', 'identify', 'login', 'page_view']);
    expect([...values('raw_events', 'channel')].sort()).toEqual(['app', 'web']);
    expect([...values('raw_email_subscriptions', 'status')].sort()).toEqual(['subscribed', 'unsubscribed']);
  });

  it('quotes fields with commas, quotes and edge whitespace, and keeps NULL distinct from empty strings', async () => {
    const tickets = await readFile(main.files.find((f) => f.name === 'raw_support_tickets')!.path, 'utf8');
    expect(tickets).toContain('"Order ""never arrived"""');
    expect(tickets).toContain('"Question about sizing, fit and returns"');
    const emails = rows.get('raw_support_tickets')!.map((r) => r.email);
    expect(emails.some((e) => e !== e.trim())).toBe(true);
    // Junk empty strings are written as "" while missing values are bare empty fields.
    expect(tickets).toMatch(/^T\d+,"",/m);
    expect(tickets).toMatch(/^T\d+,[^,]+,,/m);
  });

  it('makes emails and phones messy the way real data is', () => {
    const allEmails = [...rows.values()].flatMap((rs) => rs.map((r) => r.email).filter((e) => e !== undefined && e !== ''));
    expect(allEmails.filter((e) => /[A-Z]/.test(e)).length).toBeGreaterThan(allEmails.length * 0.05);
    expect(allEmails.filter((e) => e !== e.trim()).length).toBeGreaterThan(allEmails.length * 0.03);

    const phones = [...rows.values()].flatMap((rs) => rs.map((r) => r.phone).filter((p) => p !== undefined && p !== ''));
    const shapes = new Set(phones.map((p) => p.replace(/\d/g, '9')));
    for (const shape of ['+9 (999) 999-9999', '999.999.9999', '9999999999', '999 999 999 9999', '+99999999999']) {
      expect(shapes.has(shape), shape).toBe(true);
    }
    expect(phones.some((p) => p.startsWith('+44') || p.startsWith('0044'))).toBe(true);
    expect(phones.some((p) => p.startsWith('+49') || p.startsWith('0049'))).toBe(true);

    // One number, many layouts: some person's phone appears in 3+ formats.
    const formatsByNumber = new Map<string, Set<string>>();
    for (const r of rows.get('raw_orders')!) {
      const digits = r.phone.replace(/\D/g, '').slice(-10);
      if (digits.length === 10 && r.phone.includes('555')) {
        if (!formatsByNumber.has(digits)) formatsByNumber.set(digits, new Set());
        formatsByNumber.get(digits)!.add(r.phone);
      }
    }
    expect([...formatsByNumber.values()].some((s) => s.size >= 3)).toBe(true);
  });

  it('sprinkles junk placeholders and keeps junk-only records attributed', () => {
    const emails = new Set([...rows.values()].flatMap((rs) => rs.map((r) => r.email ?? '')));
    for (const junk of ['test@test.com', 'noreply@example.com', 'unknown', 'null', 'n/a']) expect(emails.has(junk), junk).toBe(true);
    const phones = new Set([...rows.values()].flatMap((rs) => rs.map((r) => r.phone ?? '')));
    expect(phones.has('0000000000')).toBe(true);
    const userIds = new Set(rows.get('raw_events')!.map((r) => r.user_id));
    expect(userIds.has('null') || userIds.has('undefined')).toBe(true);

    const junkOnly = rows.get('raw_orders')!.filter(
      (r) => r.customer_id === '' && junkEmails.has(normEmail(r.email)) && (JUNK_PHONES as readonly string[]).includes(r.phone),
    );
    expect(junkOnly.length).toBeGreaterThan(0);
    for (const r of junkOnly) expect(personOf('raw_orders', r.order_id)).toMatch(/^P\d{7}$/);
  });

  it('shares household emails between exactly two people and never collides real emails otherwise', () => {
    const peopleByEmail = new Map<string, Set<string>>();
    for (const source of DEMO_SOURCES) {
      for (const r of rows.get(source.name)!) {
        if (r.email === undefined) continue;
        const email = normEmail(r.email);
        if (junkEmails.has(email)) continue;
        if (!peopleByEmail.has(email)) peopleByEmail.set(email, new Set());
        peopleByEmail.get(email)!.add(personOf(source.name, r[source.key]));
      }
    }
    const shared = [...peopleByEmail.values()].filter((s) => s.size > 1);
    expect(shared.every((s) => s.size === 2)).toBe(true);
    // ~1% of people are in a pair that actually shows the shared address somewhere.
    expect(shared.length * 2).toBeGreaterThanOrEqual(PEOPLE * 0.005);
    expect(shared.length * 2).toBeLessThanOrEqual(PEOPLE * 0.025);
  });

  it('records the links a real stack would record: account emails, campaign clicks, B2B mobiles, real mailbox domains', () => {
    // Logged-in orders carry the account's address: one address per customer_id, apart from
    // junk and the household address a shared first order may carry.
    const addressesByCustomer = new Map<string, Set<string>>();
    for (const r of rows.get('raw_orders')!) {
      const email = normEmail(r.email);
      if (r.customer_id === '' || email === '' || junkEmails.has(email)) continue;
      if (!addressesByCustomer.has(r.customer_id)) addressesByCustomer.set(r.customer_id, new Set());
      addressesByCustomer.get(r.customer_id)!.add(email);
    }
    const customers = [...addressesByCustomer.values()];
    expect(customers.length).toBeGreaterThan(PEOPLE * 0.4);
    expect(customers.filter((s) => s.size === 1).length).toBeGreaterThan(customers.length * 0.97);

    // Campaign clicks: a session's first event carries an address, before any login.
    const clicks = rows.get('raw_events')!.filter((r) => (r.event_type === 'page_view' || r.event_type === 'app_open') && r.email !== '' && r.user_id === '');
    expect(clicks.length).toBeGreaterThan(PEOPLE * 0.1);

    const b2bContacts = rows.get('raw_crm_contacts')!.filter((c) => c.crm_account_id !== '');
    expect(b2bContacts.filter((c) => c.phone !== '').length).toBeGreaterThan(b2bContacts.length * 0.85);

    // Reserved domains cannot receive mail, so only junk placeholders use them.
    const reserved = [...rows.values()].flatMap((rs) => rs.map((r) => normEmail(r.email ?? ''))).filter((e) => /@example\.(com|net|org)$/.test(e) && !junkEmails.has(e));
    expect(reserved).toEqual([]);
  });

  it('spreads each person across sources with different identifier subsets', () => {
    const sourcesByPerson = new Map<string, Set<string>>();
    for (const t of truthRows) {
      if (!sourcesByPerson.has(t.person_id)) sourcesByPerson.set(t.person_id, new Set());
      sourcesByPerson.get(t.person_id)!.add(t.source);
    }
    const inThreePlus = [...sourcesByPerson.values()].filter((s) => s.size >= 3).length;
    expect(inThreePlus).toBeGreaterThan(PEOPLE * 0.5);

    const orders = rows.get('raw_orders')!;
    expect(orders.some((r) => r.customer_id === '' && r.email !== '')).toBe(true); // guest checkout
    expect(orders.some((r) => r.customer_id !== '' && r.email === '' && r.phone === '')).toBe(true);

    // Anonymous devices that later log in: the same anonymous_id with and without user_id.
    const states = new Map<string, Set<boolean>>();
    for (const r of rows.get('raw_events')!) {
      if (!states.has(r.anonymous_id)) states.set(r.anonymous_id, new Set());
      states.get(r.anonymous_id)!.add(r.user_id === '');
    }
    expect([...states.values()].filter((s) => s.size === 2).length).toBeGreaterThan(PEOPLE * 0.1);
  });

  it('models CRM duplicates, B2B accounts and employer changes', () => {
    const contacts = rows.get('raw_crm_contacts')!;
    const byPerson = new Map<string, Row[]>();
    for (const c of contacts) {
      const p = personOf('raw_crm_contacts', c.contact_id);
      if (!byPerson.has(p)) byPerson.set(p, []);
      byPerson.get(p)!.push(c);
    }
    const groups = [...byPerson.values()];
    expect(groups.filter((g) => g.length >= 2).length).toBeGreaterThan(byPerson.size * 0.1);
    // Duplicates disagree on spelling: typos, nicknames, casing.
    expect(groups.some((g) => new Set(g.map((c) => c.first_name)).size > 1)).toBe(true);

    const b2b = groups.filter((g) => g.some((c) => c.crm_account_id !== ''));
    expect(b2b.length / PEOPLE).toBeGreaterThan(0.25);
    expect(b2b.length / PEOPLE).toBeLessThan(0.35);
    expect(contacts.some((c) => /^A\d{5}$/.test(c.crm_account_id) && /^[a-z0-9-]+\.(com|io|de|co\.uk)$/.test(c.company_domain))).toBe(true);

    const accountSizes = new Map<string, number>();
    for (const c of contacts) if (c.crm_account_id) accountSizes.set(c.crm_account_id, (accountSizes.get(c.crm_account_id) ?? 0) + 1);
    expect(Math.max(...accountSizes.values())).toBeGreaterThanOrEqual(10);

    // Employer changes: the newer account's contact was touched after the older one.
    const movers = groups.filter((g) => new Set(g.map((c) => c.crm_account_id).filter(Boolean)).size >= 2);
    expect(movers.length).toBeGreaterThan(0);
    for (const g of movers) {
      const newest = g.reduce((a, b) => (b.updated_at > a.updated_at ? b : a));
      const oldest = g.reduce((a, b) => (b.created_at < a.created_at ? b : a));
      if (newest.crm_account_id && oldest.crm_account_id) expect(newest.updated_at > oldest.created_at).toBe(true);
    }
    expect(movers.some((g) => {
      const withAccount = g.filter((c) => c.crm_account_id);
      const first = withAccount.reduce((a, b) => (b.created_at < a.created_at ? b : a));
      const last = withAccount.reduce((a, b) => (b.created_at > a.created_at ? b : a));
      return first.crm_account_id !== last.crm_account_id && last.created_at > first.updated_at;
    })).toBe(true);
  });

  it('defaults the truth file to <outDir>/../ground_truth.csv', async () => {
    const summary = await run(50, 1, 'defaults', false);
    expect(summary.truthFile).toBe(join(root, 'defaults', 'ground_truth.csv'));
    expect((await stat(summary.truthFile)).size).toBeGreaterThan(0);
    expect(summary.seed).toBe(1);
  });

  it('rejects a bad population size with a CdpError', async () => {
    await expect(generateDemoData({ people: 0, outDir: join(root, 'bad') })).rejects.toBeInstanceOf(CdpError);
    await expect(generateDemoData({ people: 1.5, outDir: join(root, 'bad') })).rejects.toThrow(/whole number/);
  });
});

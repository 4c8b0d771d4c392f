/**
 * Turns one true Person into the raw records each source system would hold about them. Each
 * source sees a different subset of identifiers, typed differently: that is what identity
 * resolution has to undo, and the ground truth records who really owns every row.
 */
import { emailOrJunk, messyCompanyName, messyDomain, messyEmail, messyFirstName, messyLastName, phoneOrJunk } from './messy.js';
import type { Job, Person, Phone } from './people.js';
import { HEX_BYTES, IdSequence, type Rng } from './random.js';
import type { SourceWriter } from './csv-writer.js';
import { DAY, HOUR, REFERENCE_TS } from './time.js';
import { JUNK_USER_IDS, SUBSCRIPTION_SOURCES, TICKET_STATUSES, TICKET_SUBJECTS } from './vocab.js';

export interface SourceWriters {
  contacts: SourceWriter;
  orders: SourceWriter;
  events: SourceWriter;
  tickets: SourceWriter;
  subscriptions: SourceWriter;
}

/**
 * Id space per person. Volumes are random, so these are generous multiples of the means
 * (a single person can exceed them; the total cannot realistically) plus a fixed floor.
 */
const ID_SPACE_PER_PERSON = { contacts: 10, orders: 40, events: 200, tickets: 10, subscriptions: 10, devices: 10 } as const;
const ID_SPACE_FLOOR = 100_000;

/** Share of sessions, for a person on a list or with a job, that start from an email link. */
const CAMPAIGN_CLICK_SHARE = 0.15;

const ORDER_STATUSES: readonly (readonly [string, number])[] = [
  ['completed', 88],
  ['refunded', 7],
  ['cancelled', 5],
];

export class RecordFactory {
  private readonly contactIds: IdSequence;
  private readonly orderIds: IdSequence;
  private readonly eventIds: IdSequence;
  private readonly ticketIds: IdSequence;
  private readonly subscriptionIds: IdSequence;
  private readonly deviceIds: IdSequence;
  /** Shared in-store tablets: many customers log in on them, so one anonymous_id spans people. */
  private readonly kioskIds: string[] = [];
  private readonly deviceMask: number;

  constructor(
    people: number,
    private readonly rng: Rng,
    private readonly out: SourceWriters,
  ) {
    this.contactIds = new IdSequence('CT', people * ID_SPACE_PER_PERSON.contacts + ID_SPACE_FLOOR, rng);
    this.orderIds = new IdSequence('O', people * ID_SPACE_PER_PERSON.orders + ID_SPACE_FLOOR, rng);
    this.eventIds = new IdSequence('E', people * ID_SPACE_PER_PERSON.events + ID_SPACE_FLOOR, rng);
    this.ticketIds = new IdSequence('T', people * ID_SPACE_PER_PERSON.tickets + ID_SPACE_FLOOR, rng);
    this.subscriptionIds = new IdSequence('S', people * ID_SPACE_PER_PERSON.subscriptions + ID_SPACE_FLOOR, rng);
    this.deviceIds = new IdSequence('', people * ID_SPACE_PER_PERSON.devices + ID_SPACE_FLOOR, rng);
    this.deviceMask = rng.u32();
    const kiosks = Math.max(2, Math.ceil(people / 25000));
    for (let i = 0; i < kiosks; i++) this.kioskIds.push(this.anonymousId());
  }

  emit(p: Person): void {
    // Lists are chosen first: campaign clicks on the person's devices carry these addresses.
    const lists = this.planSubscriptions(p);
    this.contacts(p);
    this.orders(p);
    this.events(p, lists.map((l) => l.email));
    this.tickets(p);
    this.subscriptions(p, lists);
  }

  // ---- CRM -------------------------------------------------------------------------------

  private contacts(p: Person): void {
    const rng = this.rng;
    const b2b = p.jobs.length > 0;
    if (!b2b && !rng.chance(0.85)) return;

    const moved = p.jobs.length === 2 ? p.jobs[1] : undefined;
    const createdAt = Math.min(p.firstSeenAt + rng.int(5 * DAY), REFERENCE_TS - DAY);
    // An employer change shows up either as a fresh contact or as an edit of the existing one.
    const editInPlace = moved !== undefined && rng.chance(0.3);
    const firstJob = editInPlace ? moved : p.jobs[0];
    const editFloor = editInPlace ? moved!.startAt : createdAt;
    const editCeiling = moved && !editInPlace ? moved.startAt - HOUR : REFERENCE_TS - HOUR;
    const updatedAt = editFloor + rng.int(Math.max(1, editCeiling - editFloor));
    const mainEmail = firstJob && rng.chance(0.85) ? firstJob.workEmail : rng.chance(0.1) && p.altEmail ? p.altEmail : p.email;
    this.contact(p, createdAt, updatedAt, mainEmail, firstJob, 0.02);

    if (moved && !editInPlace) {
      const c = Math.min(moved.startAt + rng.int(5 * DAY), REFERENCE_TS - HOUR);
      this.contact(p, c, c + rng.int(Math.max(1, REFERENCE_TS - c)), moved.workEmail, moved, 0.01);
    }

    // Duplicates: another rep or an import created the same person again.
    const r = rng.next();
    const dups = r < 0.04 ? 2 : r < 0.2 ? 1 : 0;
    for (let i = 0; i < dups; i++) {
      const c = createdAt + rng.int(Math.max(1, REFERENCE_TS - HOUR - createdAt));
      const u = c + rng.int(Math.max(1, REFERENCE_TS - c));
      const job = jobAt(p, c);
      const pickEmail = rng.next();
      const email = pickEmail < 0.5 ? mainEmail : pickEmail < 0.85 ? p.altEmail ?? (job ? job.workEmail : p.email) : null;
      this.contact(p, c, u, email, job, 0.03);
    }
  }

  private contact(p: Person, createdAt: number, updatedAt: number, email: string | null, job: Job | undefined, junkRate: number): void {
    const rng = this.rng;
    // Sales reps call B2B contacts, so they keep the person's own mobile on nearly every one.
    const phone = job ? p.phone : this.phoneFor(p);
    const phoneShare = job ? 0.9 : 0.7;
    this.out.contacts.add(p.id, [
      this.contactIds.next(),
      p.customerId && rng.chance(0.75) ? p.customerId : null,
      messyFirstName(p.firstName, rng),
      messyLastName(p.lastName, rng),
      email === null ? null : emailOrJunk(email, rng, junkRate),
      rng.chance(phoneShare) ? phoneOrJunk(phone, rng, 0.04) : null,
      job && rng.chance(0.97) ? messyCompanyName(job.company, rng) : null,
      job && rng.chance(0.9) ? messyDomain(job.company.domain, rng) : null,
      job ? job.company.accountId : null,
      job && rng.chance(0.8) ? job.title : null,
      createdAt,
      Math.max(updatedAt, createdAt),
    ]);
  }

  // ---- Orders ----------------------------------------------------------------------------

  private orders(p: Person): void {
    const rng = this.rng;
    let count = p.customerId ? rng.count(3.4, 40) : rng.chance(0.55) ? 1 + rng.count(0.5, 5) : 0;
    // The shared family address is what a household shops with, so it shows up at least once.
    if (p.household && count === 0) count = 1;
    const start = p.signupAt ?? p.firstSeenAt;
    for (let i = 0; i < count; i++) {
      const at = start + rng.int(Math.max(1, REFERENCE_TS - HOUR - start));
      const loggedIn = p.customerId !== undefined && rng.chance(0.85);
      let customerId: string | null = null;
      if (loggedIn) customerId = rng.chance(0.003) ? rng.pick(JUNK_USER_IDS) : p.customerId!;
      let email: string | null = null;
      if (p.household && i === 0) email = messyEmail(p.household.email, rng);
      // The shop copies the account's address onto a logged-in order (a few channels, such as
      // phone orders, leave it out); a guest types whichever address comes to mind.
      else if (loggedIn) email = rng.chance(0.95) ? emailOrJunk(p.accountEmail!, rng, 0.01) : null;
      else if (rng.chance(0.93)) email = emailOrJunk(this.emailFor(p, at), rng, 0.04);
      // Delivery needs a phone number, and a guest checkout has no saved one to fall back on.
      const phone = rng.chance(loggedIn ? 0.3 : 0.75) ? phoneOrJunk(this.phoneFor(p), rng, 0.04) : null;
      this.out.orders.add(p.id, [
        this.orderIds.next(),
        customerId,
        email,
        phone,
        at,
        amount(rng),
        p.currency !== 'USD' && rng.chance(0.2) ? 'USD' : p.currency,
        rng.weighted(ORDER_STATUSES),
      ]);
    }
  }

  // ---- Events ----------------------------------------------------------------------------

  private events(p: Person, listEmails: string[]): void {
    const rng = this.rng;
    if (rng.chance(0.85)) {
      const devices = 1 + (rng.chance(0.4) ? 1 : 0) + (rng.chance(0.15) ? 1 : 0);
      for (let d = 0; d < devices; d++) this.device(p, rng.chance(0.7) ? 'web' : 'app', listEmails);
    }
    if (p.customerId && rng.chance(0.01)) {
      const at = Math.max(p.signupAt!, REFERENCE_TS - 400 * DAY) + rng.int(30 * DAY);
      this.session(p, rng.pick(this.kioskIds), 'app', Math.min(at, REFERENCE_TS - HOUR), 'login', null);
    }
  }

  private device(p: Person, channel: 'web' | 'app', listEmails: string[]): void {
    const rng = this.rng;
    const anonymousId = this.anonymousId();
    const sessions = 1 + rng.count(1.6, 40);
    const starts: number[] = [];
    for (let i = 0; i < sessions; i++) starts.push(p.firstSeenAt + rng.int(REFERENCE_TS - HOUR - p.firstSeenAt));
    starts.sort((a, b) => a - b);

    // The first session after signup may log in; from then on the device stays identified.
    let loginAt = -1;
    if (p.customerId && rng.chance(channel === 'app' ? 0.9 : 0.7)) {
      const first = starts.findIndex((s) => s >= p.signupAt!);
      if (first >= 0) loginAt = Math.min(sessions - 1, first + rng.int(2));
    }
    // A buggy client build sends a stringified null as user_id before login.
    const junkUserId = rng.chance(0.002) ? rng.pick(JUNK_USER_IDS) : null;
    // Devices that never log in mostly identify themselves another way (a newsletter form, a
    // guest checkout): one session carries the person's email. A few stay anonymous for good.
    const identifyAt = loginAt < 0 && rng.chance(0.93) ? rng.int(sessions) : -1;
    for (let i = 0; i < sessions; i++) {
      const state = loginAt < 0 || i < loginAt ? 'anonymous' : i === loginAt ? 'login' : 'identified';
      const landingEmail = this.campaignClick(p, listEmails, starts[i]);
      this.session(p, anonymousId, channel, starts[i], state, junkUserId, landingEmail);
      if (i === identifyAt) this.event(p, anonymousId, junkUserId, messyEmail(this.emailFor(p, starts[i]), rng), 'identify', starts[i] + 30 * 60, channel);
    }
  }

  /**
   * A session opened from a link in a newsletter, or for B2B contacts in a sales email sent
   * from the CRM: the click-tracking redirect identifies the device with the address the
   * email went to.
   */
  private campaignClick(p: Person, listEmails: string[], at: number): string | null {
    const rng = this.rng;
    const workEmail = jobAt(p, at)?.workEmail;
    const mailboxes = listEmails.length + (workEmail ? 1 : 0);
    if (mailboxes === 0 || !rng.chance(CAMPAIGN_CLICK_SHARE)) return null;
    const pick = rng.int(mailboxes);
    return messyEmail(pick < listEmails.length ? listEmails[pick] : workEmail!, rng);
  }

  private session(
    p: Person,
    anonymousId: string,
    channel: 'web' | 'app',
    start: number,
    state: 'anonymous' | 'login' | 'identified',
    junkUserId: string | null,
    landingEmail: string | null = null,
  ): void {
    const rng = this.rng;
    let t = start;
    let userId: string | null = state === 'identified' ? p.customerId! : junkUserId;

    t = this.event(p, anonymousId, userId, landingEmail, channel === 'app' ? 'app_open' : 'page_view', t, channel);
    const views = rng.count(2, 30);
    const loginAfter = state === 'login' ? rng.int(views + 1) : -1;
    for (let v = 0; v <= views; v++) {
      if (v === loginAfter) {
        userId = p.customerId!;
        // The login form's address is the account's; half the clients send it with the user id.
        const email = rng.chance(0.5) ? emailOrJunk(p.accountEmail!, rng, 0.02) : null;
        t = this.event(p, anonymousId, userId, email, 'login', t, channel);
      }
      if (v < views) {
        const email = rng.chance(0.01) ? messyEmail(this.emailFor(p, t), rng) : null;
        t = this.event(p, anonymousId, userId, email, 'page_view', t, channel);
      }
    }
    if (rng.chance(0.35)) {
      t = this.event(p, anonymousId, userId, null, 'add_to_cart', t, channel);
      if (rng.chance(0.4)) {
        // Guest checkout forms capture an email; identified sessions rarely repeat it.
        const withEmail = userId === null || userId === junkUserId ? rng.chance(0.5) : rng.chance(0.05);
        const email = withEmail ? emailOrJunk(this.emailFor(p, t), rng, 0.03) : null;
        this.event(p, anonymousId, userId, email, 'checkout', t, channel);
      }
    }
  }

  /** Writes one event and returns when the next one in the session happens. */
  private event(p: Person, anonymousId: string, userId: string | null, email: string | null, type: string, at: number, channel: string): number {
    this.out.events.add(p.id, [this.eventIds.next(), anonymousId, userId, email, type, Math.min(at, REFERENCE_TS - 1), channel]);
    return at + 5 + this.rng.int(240);
  }

  /** UUID v4 layout; the first group is a permuted counter, so ids are unique, not just likely unique. */
  private anonymousId(): string {
    // Multiplying by an odd constant and XOR with a per-run mask are bijections on 32 bits: the
    // head stays unique while looking random.
    const v = (Math.imul(this.deviceIds.nextNumber(), 0x9e3779b1) ^ this.deviceMask) >>> 0;
    const head = HEX_BYTES[v >>> 24] + HEX_BYTES[(v >>> 16) & 255] + HEX_BYTES[(v >>> 8) & 255] + HEX_BYTES[v & 255];
    const a = this.rng.hex8();
    const b = this.rng.hex8();
    const c = this.rng.hex8();
    return `${head}-${a.slice(0, 4)}-4${a.slice(5)}-${'89ab'[this.rng.int(4)]}${b.slice(0, 3)}-${b.slice(3)}${c.slice(0, 7)}`;
  }

  // ---- Support ---------------------------------------------------------------------------

  private tickets(p: Person): void {
    const rng = this.rng;
    if (!rng.chance(0.25)) return;
    const count = 1 + rng.count(0.6, 10);
    for (let i = 0; i < count; i++) {
      const at = p.firstSeenAt + rng.int(REFERENCE_TS - HOUR - p.firstSeenAt);
      this.out.tickets.add(p.id, [
        this.ticketIds.next(),
        emailOrJunk(this.emailFor(p, at), rng, 0.05),
        rng.chance(0.45) ? phoneOrJunk(this.phoneFor(p), rng, 0.05) : null,
        rng.pick(TICKET_SUBJECTS),
        at,
        at > REFERENCE_TS - 14 * DAY && rng.chance(0.6) ? 'open' : rng.weighted(TICKET_STATUSES),
      ]);
    }
  }

  // ---- Email lists -----------------------------------------------------------------------

  private planSubscriptions(p: Person): { list: string; email: string }[] {
    const rng = this.rng;
    const lists: { list: string; email: string }[] = [];
    const personal = () => (p.altEmail && rng.chance(0.15) ? p.altEmail : p.email);
    if (rng.chance(0.5)) lists.push({ list: 'newsletter', email: personal() });
    if (rng.chance(0.18)) lists.push({ list: 'promotions', email: personal() });
    if (rng.chance(0.08)) lists.push({ list: 'product_updates', email: personal() });
    if (p.jobs.length > 0 && rng.chance(0.22)) lists.push({ list: 'b2b_insights', email: p.jobs[p.jobs.length - 1].workEmail });
    return lists;
  }

  private subscriptions(p: Person, lists: { list: string; email: string }[]): void {
    for (const { list, email } of lists) this.subscription(p, list, email);
  }

  private subscription(p: Person, list: string, email: string): void {
    const rng = this.rng;
    const copies = rng.chance(0.02) ? 2 : 1; // re-imported list rows
    for (let i = 0; i < copies; i++) {
      const at = p.firstSeenAt + rng.int(REFERENCE_TS - HOUR - p.firstSeenAt);
      const subscribed = rng.chance(0.85);
      // Plus-addressing reaches the same mailbox but defeats plain string matching.
      const address = rng.chance(0.01) && email.endsWith('@gmail.com') ? email.replace('@', `+${list}@`) : email;
      this.out.subscriptions.add(p.id, [
        this.subscriptionIds.next(),
        emailOrJunk(address, rng, 0.01),
        list,
        subscribed ? 'subscribed' : 'unsubscribed',
        subscribed && rng.chance(0.92) ? 'true' : 'false',
        at,
        list === 'b2b_insights' && rng.chance(0.5) ? 'webinar' : i > 0 ? 'import' : rng.weighted(SUBSCRIPTION_SOURCES),
      ]);
    }
  }

  // ---- Shared helpers --------------------------------------------------------------------

  /** Which of their addresses a person typed at time `at`: personal, second, work or the household one. */
  private emailFor(p: Person, at: number): string {
    const rng = this.rng;
    const r = rng.next();
    if (p.household && r < 0.35) return p.household.email;
    const job = jobAt(p, at);
    if (job && r > 0.75) return job.workEmail;
    if (p.altEmail && r > 0.6 && r <= 0.75) return p.altEmail;
    return p.email;
  }

  private phoneFor(p: Person): Phone {
    const rng = this.rng;
    if (p.household?.phone && rng.chance(0.4)) return p.household.phone;
    if (p.altPhone && rng.chance(0.3)) return p.altPhone;
    return p.phone;
  }
}

/** The job a person held at a moment; undefined for consumers. */
function jobAt(p: Person, at: number): Job | undefined {
  if (p.jobs.length === 0) return undefined;
  return p.jobs.length === 2 && at >= p.jobs[1].startAt ? p.jobs[1] : p.jobs[0];
}

/** Basket value: log-normal around ~$45 with a long tail, two decimals. */
function amount(rng: Rng): string {
  const u = 1 - rng.next();
  const v = rng.next();
  const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  const value = Math.min(5000, Math.max(1, Math.exp(3.8 + 0.8 * normal)));
  return value.toFixed(2);
}

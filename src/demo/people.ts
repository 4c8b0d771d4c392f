/**
 * The true people behind the raw records. A Person holds canonical identifiers; sources then
 * show each record a messy, partial view of them (see messy.ts and records.ts).
 *
 * Uniqueness is structural rather than checked against a global set, so memory stays flat at
 * 1M people: every personal email ends in a per-person numeric tag (names contain no digits, so
 * the trailing digit run identifies the person) and every phone number comes from a
 * per-person slot of a permutation. The only deliberate collisions are household emails/phones
 * and junk placeholders.
 */
import { IdSequence, Rng } from './random.js';
import { DAY, HISTORY_START_TS, REFERENCE_TS } from './time.js';
import {
  COMPANY_VARIANTS,
  COMPANY_WORDS_A,
  COMPANY_WORDS_B,
  FIRST_NAMES,
  JOB_TITLES,
  LAST_NAMES,
  PERSONAL_DOMAINS,
  US_AREA_CODES,
} from './vocab.js';

export type Country = 'US' | 'UK' | 'DE';

export interface Phone {
  country: Country;
  /** National significant number, digits only (US: 10 digits). */
  digits: string;
}

export interface Company {
  accountId: string;
  name: string;
  domain: string;
  /** How this company builds work emails, so colleagues look consistent. */
  emailStyle: 0 | 1 | 2;
}

export interface Job {
  company: Company;
  title: string;
  startAt: number;
  workEmail: string;
}

export interface Person {
  index: number;
  id: string;
  firstName: string;
  lastName: string;
  country: Country;
  currency: string;
  /** Canonical (lowercase, trimmed) personal email. */
  email: string;
  altEmail?: string;
  phone: Phone;
  altPhone?: Phone;
  customerId?: string;
  /** The address the shop account was registered with: what its orders and logins carry. */
  accountEmail?: string;
  firstSeenAt: number;
  signupAt?: number;
  /** Zero jobs for consumers; two when the person changed employer (second is current). */
  jobs: Job[];
  /** Identifiers borrowed from the housemate generated just before this person. */
  household?: { email: string; phone?: Phone; ownerId: string };
  /** Set on the housemate who owns the shared email, so households stay pairs. */
  sharesHousehold?: boolean;
}

export const B2B_SHARE = 0.3;
export const EMPLOYER_CHANGE_SHARE = 0.05;
export const CUSTOMER_SHARE = 0.7;
/** Share of people who borrow their housemate's email; each such pair is two people. */
export const HOUSEHOLD_PARTNER_SHARE = 0.007;
const PEOPLE_PER_COMPANY = 20;

export function slug(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z]/g, '');
}

const FIRST_SLUGS = FIRST_NAMES.map(slug);
const LAST_SLUGS = LAST_NAMES.map(slug);

export function buildCompanies(people: number, rng: Rng): Company[] {
  const count = Math.max(3, Math.round((people * B2B_SHARE) / PEOPLE_PER_COMPANY));
  const combos = COMPANY_WORDS_A.length * COMPANY_WORDS_B.length * COMPANY_VARIANTS.length;
  // Shuffle the word combinations so small demos do not all start with the first words listed.
  const order = Array.from({ length: combos }, (_, i) => i);
  for (let i = combos - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const companies: Company[] = [];
  for (let i = 0; i < count; i++) {
    const n = order[i % combos];
    // Past the combinations, names repeat with a number, like "Acme Labs 2 Inc." (acme-labs-2.com).
    const round = Math.floor(i / combos);
    const a = COMPANY_WORDS_A[n % COMPANY_WORDS_A.length];
    const b = COMPANY_WORDS_B[Math.floor(n / COMPANY_WORDS_A.length) % COMPANY_WORDS_B.length];
    const variant = COMPANY_VARIANTS[Math.floor(n / (COMPANY_WORDS_A.length * COMPANY_WORDS_B.length))];
    const base = round === 0 ? `${a} ${b}` : `${a} ${b} ${round + 1}`;
    companies.push({
      accountId: 'A' + String(i + 1).padStart(5, '0'),
      name: `${base} ${variant.suffix}`,
      domain: `${base.toLowerCase().replace(/ /g, '-')}.${variant.tld}`,
      emailStyle: rng.int(3) as 0 | 1 | 2,
    });
  }
  return companies;
}

/** Long-tailed: a few big accounts with hundreds of contacts, many small ones. */
function pickCompany(companies: Company[], rng: Rng): Company {
  const u = rng.next();
  return companies[Math.floor(companies.length * u * u)];
}

export class PeopleFactory {
  private readonly tags: IdSequence;
  private readonly phoneSlots: IdSequence;
  private readonly customerIds: IdSequence;
  private readonly workEmails = new Set<string>();
  private previous?: Person;

  constructor(
    people: number,
    private readonly rng: Rng,
    private readonly companies: Company[],
  ) {
    this.tags = new IdSequence('', people, rng);
    this.phoneSlots = new IdSequence('', people, rng);
    this.customerIds = new IdSequence('C', people * 2, rng, 6);
  }

  /** People must be created in index order: households pair each person with the one before. */
  next(index: number): Person {
    const rng = this.rng;
    const first = rng.int(FIRST_NAMES.length);
    const last = rng.int(LAST_NAMES.length);
    const tag = String(this.tags.nextNumber());
    const slot = this.phoneSlots.nextNumber();
    const country: Country = rng.weighted<Country>([
      ['US', 94],
      ['UK', 3],
      ['DE', 3],
    ]);

    const email = personalEmail(FIRST_SLUGS[first], LAST_SLUGS[last], tag, rng, -1, '');
    const person: Person = {
      index,
      id: 'P' + String(index + 1).padStart(7, '0'),
      firstName: FIRST_NAMES[first],
      lastName: LAST_NAMES[last],
      country,
      currency: country === 'US' ? 'USD' : country === 'UK' ? 'GBP' : 'EUR',
      email: email.address,
      phone: phoneFromSlot(country, slot),
      firstSeenAt: HISTORY_START_TS + rng.int(REFERENCE_TS - 10 * DAY - HISTORY_START_TS),
      jobs: [],
    };

    if (rng.chance(0.15)) {
      person.altEmail = personalEmail(FIRST_SLUGS[first], LAST_SLUGS[last], tag, rng, email.pattern, email.domain).address;
    }
    if (rng.chance(0.1)) person.altPhone = phoneFromSlot(rng.chance(0.9) ? country : 'US', this.phoneSlots.space + slot);
    if (rng.chance(CUSTOMER_SHARE)) {
      person.customerId = this.customerIds.next();
      person.signupAt = Math.min(person.firstSeenAt + rng.int(60 * DAY), REFERENCE_TS - DAY);
    }
    if (rng.chance(B2B_SHARE)) this.assignJobs(person, FIRST_SLUGS[first], LAST_SLUGS[last]);
    if (person.customerId) {
      // Most people sign up with their main address; some with a second one or the work one.
      const r = rng.next();
      person.accountEmail = person.altEmail && r < 0.15 ? person.altEmail : person.jobs.length > 0 && r > 0.9 ? person.jobs[0].workEmail : person.email;
    }

    const prev = this.previous;
    if (prev && !prev.household && !prev.sharesHousehold && rng.chance(HOUSEHOLD_PARTNER_SHARE)) {
      prev.sharesHousehold = true;
      person.household = { email: prev.email, phone: rng.chance(0.4) ? prev.phone : undefined, ownerId: prev.id };
      if (rng.chance(0.8)) person.lastName = prev.lastName;
    }
    this.previous = person;
    return person;
  }

  private assignJobs(person: Person, firstSlug: string, lastSlug: string): void {
    const rng = this.rng;
    const company = pickCompany(this.companies, rng);
    person.jobs.push({
      company,
      title: rng.pick(JOB_TITLES),
      startAt: person.firstSeenAt - rng.int(3 * 365 * DAY),
      workEmail: this.workEmail(company, firstSlug, lastSlug),
    });
    const earliestMove = person.firstSeenAt + 30 * DAY;
    const latestMove = REFERENCE_TS - 7 * DAY;
    if (latestMove > earliestMove && this.companies.length > 1 && rng.chance(EMPLOYER_CHANGE_SHARE)) {
      let next = pickCompany(this.companies, rng);
      while (next === company) next = this.companies[rng.int(this.companies.length)];
      person.jobs.push({
        company: next,
        title: rng.pick(JOB_TITLES),
        startAt: earliestMove + rng.int(latestMove - earliestMove),
        workEmail: this.workEmail(next, firstSlug, lastSlug),
      });
    }
  }

  /** Colleagues with the same name get jane.doe2@, as a real mail admin would do. */
  private workEmail(company: Company, first: string, last: string): string {
    const local = company.emailStyle === 0 ? `${first}.${last}` : company.emailStyle === 1 ? `${first[0]}${last}` : `${first}`;
    let candidate = `${local}@${company.domain}`;
    for (let n = 2; this.workEmails.has(candidate); n++) candidate = `${local}${n}@${company.domain}`;
    this.workEmails.add(candidate);
    return candidate;
  }
}

const EMAIL_PATTERNS = 6;

function personalEmail(
  f: string,
  l: string,
  tag: string,
  rng: Rng,
  avoidPattern: number,
  avoidDomain: string,
): { address: string; pattern: number; domain: string } {
  let pattern = rng.int(EMAIL_PATTERNS);
  if (pattern === avoidPattern) pattern = (pattern + 1) % EMAIL_PATTERNS;
  let domain = rng.weighted(PERSONAL_DOMAINS);
  if (domain === avoidDomain) domain = rng.weighted(PERSONAL_DOMAINS);
  let local: string;
  switch (pattern) {
    case 0: local = `${f}.${l}${tag}`; break;
    case 1: local = `${f}${l}${tag}`; break;
    case 2: local = `${f[0]}${l}${tag}`; break;
    case 3: local = `${f}_${l}${tag}`; break;
    case 4: local = `${l}.${f}${tag}`; break;
    default: local = `${f}${tag}`; break;
  }
  return { address: `${local}@${domain}`, pattern, domain };
}

function phoneFromSlot(country: Country, slot: number): Phone {
  if (country === 'UK') return { country, digits: '77' + String(slot).padStart(8, '0') };
  if (country === 'DE') return { country, digits: '151' + String(slot).padStart(8, '0') };
  const area = US_AREA_CODES[slot % US_AREA_CODES.length];
  const rest = Math.floor(slot / US_AREA_CODES.length);
  // 555-0100..0199 is the fictional range, so small demos stay inside it; larger ones spill
  // over to the rest of 555 and then to later exchanges (beyond ~1M phone numbers).
  const exchange = 555 + Math.floor(rest / 10000);
  if (exchange > 999) throw new Error('phone number space exhausted');
  const line = ((rest % 10000) + 100) % 10000;
  return { country, digits: `${area}${exchange}${String(line).padStart(4, '0')}` };
}

/**
 * How a canonical identifier looks once a human or a form has typed it into one system:
 * case and whitespace noise, many phone layouts for one number, typos, nicknames and
 * placeholder junk. Every function takes the Rng so the noise is reproducible.
 */
import type { Company, Phone } from './people.js';
import type { Rng } from './random.js';
import { JUNK_EMAILS, JUNK_NAMES, JUNK_PHONES, NICKNAMES } from './vocab.js';

function capitalizeWords(s: string): string {
  return s.replace(/(^|[^a-z])([a-z])/g, (_m, sep: string, ch: string) => sep + ch.toUpperCase());
}

/** Email as typed: mostly clean, otherwise odd casing and stray whitespace (never altered letters). */
export function messyEmail(email: string, rng: Rng): string {
  const r = rng.next();
  if (r < 0.72) return email;
  if (r < 0.8) return capitalizeWords(email);
  if (r < 0.84) return email.toUpperCase();
  if (r < 0.9) return rng.chance(0.5) ? ` ${email}` : `${email} `;
  if (r < 0.94) return ` ${capitalizeWords(email)}  `;
  if (r < 0.97) return email.replace(/^./, (c) => c.toUpperCase());
  return `\t${email}`;
}

/** Email field with a small chance of a placeholder instead of the real address. */
export function emailOrJunk(email: string, rng: Rng, junkRate: number): string {
  return rng.chance(junkRate) ? rng.pick(JUNK_EMAILS) : messyEmail(email, rng);
}

export function junkPhone(rng: Rng): string {
  return rng.pick(JUNK_PHONES);
}

/** The same number in whichever layout this system or person happened to use. */
export function formatPhone(phone: Phone, rng: Rng): string {
  const d = phone.digits;
  if (phone.country === 'US') {
    const a = d.slice(0, 3);
    const e = d.slice(3, 6);
    const l = d.slice(6);
    switch (rng.int(10)) {
      case 0: return `+1 (${a}) ${e}-${l}`;
      case 1: return `${a}.${e}.${l}`;
      case 2: return d;
      case 3: return `001 ${a} ${e} ${l}`;
      case 4: return `+1${d}`;
      case 5: return `(${a}) ${e}-${l}`;
      case 6: return `${a}-${e}-${l}`;
      case 7: return `1-${a}-${e}-${l}`;
      case 8: return `+1 ${a} ${e} ${l}`;
      default: return `(${a})${e}-${l}`;
    }
  }
  const cc = phone.country === 'UK' ? '44' : '49';
  const split = phone.country === 'UK' ? 4 : 3;
  const head = d.slice(0, split);
  const tail = d.slice(split);
  switch (rng.int(5)) {
    case 0: return `+${cc} ${head} ${tail}`;
    case 1: return `+${cc}${d}`;
    case 2: return `00${cc} ${head} ${tail}`;
    // National layout: ambiguous without knowing the country, as in real exports.
    case 3: return `0${head} ${tail}`;
    default: return `+${cc} (0)${head} ${tail}`;
  }
}

export function phoneOrJunk(phone: Phone, rng: Rng, junkRate: number): string {
  return rng.chance(junkRate) ? junkPhone(rng) : formatPhone(phone, rng);
}

/** One keyboard slip: swap, drop, double or substitute a letter. */
export function typo(word: string, rng: Rng): string {
  if (word.length < 3) return word;
  const i = 1 + rng.int(word.length - 2);
  switch (rng.int(4)) {
    case 0: return word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2);
    case 1: return word.slice(0, i) + word.slice(i + 1);
    case 2: return word.slice(0, i) + word[i] + word.slice(i);
    default: return word.slice(0, i) + 'aeiourstn'[rng.int(9)] + word.slice(i + 1);
  }
}

/** A first name as entered: typos, nicknames, shouting, stray spaces, rarely a placeholder. */
export function messyFirstName(name: string, rng: Rng): string {
  const r = rng.next();
  if (r < 0.86) return name;
  if (r < 0.9) return typo(name, rng);
  if (r < 0.94) return NICKNAMES[name] ?? name;
  if (r < 0.96) return name.toUpperCase();
  if (r < 0.975) return name.toLowerCase();
  if (r < 0.99) return `${name} `;
  return rng.pick(JUNK_NAMES);
}

export function messyLastName(name: string, rng: Rng): string {
  const r = rng.next();
  if (r < 0.9) return name;
  if (r < 0.94) return typo(name, rng);
  if (r < 0.96) return name.toUpperCase();
  if (r < 0.975) return name.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
  if (r < 0.99) return ` ${name}`;
  return rng.pick(JUNK_NAMES);
}

/** Company names drift between records: legal suffix punctuation, casing, dropped suffix. */
export function messyCompanyName(company: Company, rng: Rng): string {
  const r = rng.next();
  if (r < 0.75) return company.name;
  const base = company.name.replace(/ (Inc\.|LLC|GmbH|Ltd)$/, '');
  if (r < 0.85) return base;
  if (r < 0.9) return company.name.replace(/ (Inc\.|LLC|GmbH|Ltd)$/, ', $1');
  if (r < 0.95) return company.name.toUpperCase();
  return `${base} ${company.name.endsWith('Inc.') ? 'Incorporated' : 'Co.'}`;
}

export function messyDomain(domain: string, rng: Rng): string {
  const r = rng.next();
  if (r < 0.85) return domain;
  if (r < 0.92) return `www.${domain}`;
  if (r < 0.97) return `https://${domain}/`;
  return domain.toUpperCase();
}

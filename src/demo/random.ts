/**
 * Seeded randomness for the demo data generator. Output must be byte-identical for a given
 * seed on every machine, so nothing here touches Math.random() or the clock.
 */

/** splitmix32: spreads a small integer seed over the whole 32-bit state space. */
function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Number#toString(16) is slow for this volume of ids; byte lookups are not. */
export const HEX_BYTES: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** sfc32 PRNG: fast, 128-bit state, passes PractRand well past what a demo needs. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    const mix = splitmix32((seed ^ Math.imul(stream + 1, 0x27d4eb2d)) >>> 0);
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix() | 1;
    // Discard the first outputs: sfc32 needs a few rounds before nearby seeds diverge.
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** Picks by relative weight; weights need not sum to 1. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let r = this.next() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    return items[items.length - 1][0];
  }

  /** Geometric count (0, 1, 2, ...) with the given mean, capped so per-person volumes stay bounded. */
  count(mean: number, cap: number): number {
    if (mean <= 0) return 0;
    const p = 1 / (mean + 1);
    const n = Math.floor(Math.log(1 - this.next()) / Math.log(1 - p));
    return n > cap ? cap : n;
  }

  /** Eight lowercase hex digits. */
  hex8(): string {
    const v = this.u32();
    return HEX_BYTES[v >>> 24] + HEX_BYTES[(v >>> 16) & 255] + HEX_BYTES[(v >>> 8) & 255] + HEX_BYTES[v & 255];
  }
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let f = 3; f * f <= n; f += 2) if (n % f === 0) return false;
  return true;
}

export function nextPrime(n: number): number {
  let p = Math.max(2, Math.ceil(n));
  while (!isPrime(p)) p++;
  return p;
}

/**
 * Hands out unique, non-sequential ids: n -> (A*n + B) mod P over a prime P is a bijection on
 * [0, P), so
 * ids never collide, yet consecutive records (often the same person) get unrelated-looking keys
 * and nothing in a key hints at who the record belongs to.
 */
export class IdSequence {
  private readonly prime: number;
  private readonly mult: number;
  private readonly width: number;
  private issued = 0;
  /** (mult * issued + offset) mod prime, kept incrementally: one add per id instead of a mulmod. */
  private current: number;

  constructor(
    private readonly prefix: string,
    capacity: number,
    rng: Rng,
    minWidth = 1,
  ) {
    this.prime = nextPrime(Math.max(capacity, 1000));
    this.mult = 1 + Math.floor(this.prime * (0.3 + 0.4 * rng.next()));
    this.current = rng.int(this.prime);
    this.width = Math.max(minWidth, String(this.prime - 1).length);
  }

  get count(): number {
    return this.issued;
  }

  /** Size of the permuted range: every number handed out is below it. */
  get space(): number {
    return this.prime;
  }

  /** The n-th value of the permutation, as a number in [0, P). */
  nextNumber(): number {
    if (this.issued >= this.prime) throw new Error(`id space for ${this.prefix} exhausted after ${this.issued} ids`);
    this.issued++;
    const value = this.current;
    this.current += this.mult;
    if (this.current >= this.prime) this.current -= this.prime;
    return value;
  }

  next(): string {
    return this.prefix + String(this.nextNumber()).padStart(this.width, '0');
  }
}

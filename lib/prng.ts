/**
 * The project's one seeded PRNG: sfc32 (Chris Doty-Humphrey's PractRand "small fast counting"
 * generator), so synthetic traces and procedural clips are byte-identical for a seed on every
 * platform and Node version (Math.random is neither seedable nor stable).
 *
 * `new Rng(a, b, c, d)` takes the whole 32-bit state, so distinct seed tuples never share a stream
 * prefix by construction (procedural clips seed it with (seed, split, clip)). `prng(seed, stream)`
 * derives the state from one integer through splitmix32 (synthetic traces, test networks).
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = NaN;

  constructor(a: number, b = 0, c = 0, d = 0x9e3779b9) {
    this.a = a >>> 0;
    this.b = b >>> 0;
    this.c = c >>> 0;
    this.d = d >>> 0;
    // Discard the first outputs: sfc32's first values are weakly mixed for small seeds.
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer uniform in [0, n) (n excluded, like an index). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer uniform in [lo, hi] (both included, like a range of values). */
  intBetween(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Standard normal (Box–Muller, both outputs used). */
  gauss(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = NaN;
      return s;
    }
    const u = 1 - this.next(); // (0, 1]: log is finite
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** sfc32 seeded from one integer; `stream` separates sub-sequences. */
export function prng(seed: number, stream = 0): Rng {
  const init = splitmix32((Math.trunc(seed) ^ Math.imul(stream + 1, 0x27d4eb2f)) >>> 0);
  return new Rng(init(), init(), init(), 1);
}

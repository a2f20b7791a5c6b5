/**
 * A small seeded PRNG (sfc32, seeded through splitmix32) so synthetic traces are byte-identical
 * for a seed on every platform and Node version (Math.random is neither seedable nor stable).
 */
export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number;
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

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 32-bit). `seed` is any integer; `stream` separates sub-sequences. */
export function prng(seed: number, stream = 0): Prng {
  const init = splitmix32((Math.trunc(seed) ^ Math.imul(stream + 1, 0x27d4eb2f)) >>> 0);
  let a = init(), b = init(), c = init(), d = 1;
  const u32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) u32(); // let the state mix
  const next = () => u32() / 4294967296;
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}

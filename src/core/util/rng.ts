/**
 * Seeded pseudo-random numbers. Seeds are explicit arguments everywhere (conventions §4): the same seed gives the
 * same stream on every machine and backend, because it is plain 32-bit integer arithmetic in JS.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer uniform in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** A new independent stream derived from this one. */
  fork(): Rng;
}

/** mulberry32 seeded through splitmix32 so that nearby seeds give unrelated streams. */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);
  let s = splitmix32(Math.floor(seed) >>> 0);
  let spare: number | null = null;
  const next = (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    normal: () => {
      if (spare !== null) {
        const v = spare;
        spare = null;
        return v;
      }
      let u = 0;
      while (u === 0) u = next();
      const w = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * w);
      return r * Math.cos(2 * Math.PI * w);
    },
    fork: () => createRng(Math.floor(next() * 4294967296)),
  };
  return rng;
}

function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Fills a Float32Array with U(-bound, bound). */
export function uniformArray(rng: Rng, n: number, bound: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.next() * 2 - 1) * bound;
  return out;
}

/**
 * A 32-bit seed for stream k of a seeded source, hashing all 53 bits of seed and index so that neighbouring seeds
 * or indices give unrelated streams (createRng only sees 32 bits). `salt` separates streams of one source.
 */
export function streamSeed(seed: number, k: number, salt: number): number {
  let h = Math.imul(0x811c9dc5 ^ salt, 0x01000193);
  for (const word of [seed >>> 0, Math.floor(seed / 4294967296) >>> 0, k >>> 0, Math.floor(k / 4294967296) >>> 0]) {
    h = Math.imul(h ^ word, 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca77);
    h ^= h >>> 13;
  }
  return h >>> 0;
}

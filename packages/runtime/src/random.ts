/**
 * Randomness as a dependency. Production seeds from the OS; tests pass a seed and get the same
 * sequence every run.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max). */
  int(min: number, max: number): number;
  /** A new independent stream derived from this one (for handing to a sub-component). */
  fork(): Random;
}

/** sfc32 seeded through splitmix32: small, fast, and good enough for scheduling jitter and tests. */
export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.next();
  }

  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t / 4294967296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min));
  }

  fork(): Random {
    return new SeededRandom(Math.floor(this.next() * 4294967296));
  }
}

/** A random source seeded from the OS, for production processes. */
export function systemRandom(): Random {
  const seed = crypto.getRandomValues(new Uint32Array(1))[0] ?? Date.now();
  return new SeededRandom(seed);
}

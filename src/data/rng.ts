/** A source of uniform random numbers in [0, 1). */
export interface Rng {
  next(): number;
}

/**
 * Mulberry32: a 32-bit-state generator, ample for data augmentation and cheap to
 * checkpoint — its whole state is one uint32, so a resumed training run replays
 * exactly the crops and flips it would have drawn.
 */
export class Mulberry32 implements Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  getState(): number {
    return this.state;
  }

  setState(state: number): void {
    if (!Number.isInteger(state) || state < 0 || state > 0xffffffff) {
      throw new RangeError(`Mulberry32 state must be a uint32, got ${state}`);
    }
    this.state = state;
  }
}

/** A uniform integer in [0, n) (like Python's randrange / torch.randint(0, n)). */
export function randInt(rng: Rng, n: number): number {
  return Math.floor(rng.next() * n);
}

/** A uniform float in [a, b) (like random.uniform / Tensor.uniform_). */
export function uniform(rng: Rng, a: number, b: number): number {
  return a + (b - a) * rng.next();
}

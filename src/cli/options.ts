import { kinds } from '../base/settings.js';
import { NOISE_LEVEL } from '../noise/gaussian.js';
import { parserOf } from './settings.js';

/** Value parsers for the options of commands without a settings declaration, by the same kinds and rules. */
export const parse = {
  /** An integer in [min, max]; the default max is the largest integer a double holds exactly. */
  int: (min: number, max?: number) => parserOf(kinds.integer(min, max)),
  /** A noise level σ: > 0 and small enough that x + σz stays finite in float32 (noise/gaussian.ts). */
  sigma: parserOf(NOISE_LEVEL),
  nonNegative: parserOf(kinds.nonNegative()),
};

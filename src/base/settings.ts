import { SettingError } from './errors.js';

/*
 * Settings are declared once per command (training/settings.ts, runs/smoothing-settings.ts):
 * each with its kind of value, default, help and whether it decides the results. From that one
 * declaration come the library's spec type (SpecOf) and its validation (checkSpec), the record
 * kept with the results (recordOf), the command line's options and the CLI reference page
 * (cli/settings.ts). A library message names a setting by its key through SettingError; the CLI
 * turns keys into flags in one place.
 */

/** A kind of value: the rule it follows (for messages), the check, and how a command line's text reads as one. */
export interface Kind<V> {
  /** What a valid value is, completing "must be …": "an integer ≥ 1". */
  readonly rule: string;
  readonly accepts: (value: unknown) => boolean;
  /** The value a command line's text stands for, or undefined when it follows no rule. */
  readonly read: (text: string) => V | undefined;
  /** The placeholder of the value in a usage line: `n <count>`. */
  readonly placeholder: string;
  /** The values a choice allows. */
  readonly choices?: readonly string[];
  /** An on/off switch: a flag without a value. */
  readonly switch?: true;
}

export interface Setting<V> {
  readonly kind: Kind<V>;
  /** One line: what the setting does. */
  readonly help: string;
  /** The default, when it is one value. */
  readonly default?: V;
  /** How the default is chosen when it depends on other settings ("the dataset's schedule"). */
  readonly defaultText?: string;
  /** A new run cannot start without it. */
  readonly required?: boolean;
  /** It decides the results, so it is recorded with them. */
  readonly decides: boolean;
  /** The command line's flag, without dashes, when it is not the kebab-cased key. */
  readonly flag?: string;
  /** What the setting belongs to, for the reference page ("consistency", "SmoothAdv", "adaptive"). */
  readonly group?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: a declaration holds settings of every value type
export type Declarations = Readonly<Record<string, Setting<any>>>;

/** The library's spec of a command: every setting optional, typed by its kind. */
export type SpecOf<D extends Declarations> = { -readonly [K in keyof D]?: D[K] extends Setting<infer V> ? V : never };

const show = (value: unknown): string => (typeof value === 'string' ? `"${value}"` : (JSON.stringify(value) ?? String(value)));

/**
 * Refuses a spec with a key that is not a setting or a value that breaks its rule (undefined means
 * "not given"); each problem is a SettingError naming the key.
 */
export function checkSpec(declarations: Declarations, spec: object): void {
  for (const [key, value] of Object.entries(spec)) {
    if (value === undefined) continue;
    const setting = declarations[key];
    if (setting === undefined) {
      throw new SettingError(
        key,
        (name) => `${name(key)} is not a setting here (the settings: ${Object.keys(declarations).map(name).join(', ')})`,
      );
    }
    if (!setting.kind.accepts(value))
      throw new SettingError(key, (name) => `${name(key)} must be ${setting.kind.rule}, got ${show(value)}`);
  }
}

/** The settings that decide the results, from a resolved configuration: what is recorded beside them. */
export function recordOf(declarations: Declarations, resolved: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(declarations).flatMap(([key, s]) => (s.decides && resolved[key] !== undefined ? [[key, resolved[key]]] : [])),
  );
}

/** A spec with every declared default filled in: those settings are then always present. */
export type Defaulted<D extends Declarations> = SpecOf<D> & {
  -readonly [K in keyof D as D[K] extends { default: unknown } ? K : never]-?: D[K] extends Setting<infer V> ? V : never;
};

/** The spec's value of each setting, else its declared default (the one place defaults are applied). */
export function withDefaults<D extends Declarations>(declarations: D, spec: SpecOf<D>): Defaulted<D> {
  const filled: Record<string, unknown> = { ...spec };
  for (const [key, s] of Object.entries(declarations)) if (filled[key] === undefined && s.default !== undefined) filled[key] = s.default;
  return filled as Defaulted<D>;
}

/** The given settings only: undefined values dropped, so "not given" and "left out" are one. */
export function given<T extends object>(spec: T): Partial<T> {
  return Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** Number('') is 0: an empty value is refused, not read as 0. */
const numberOf = (text: string): number | undefined => (text.trim() === '' ? undefined : Number(text));

function numeric(rule: string, placeholder: string, ok: (v: number) => boolean): Kind<number> {
  const accepts = (v: unknown) => isNumber(v) && ok(v);
  return {
    rule,
    placeholder,
    accepts,
    read: (text) => {
      const v = numberOf(text);
      return accepts(v) ? v : undefined;
    },
  };
}

function listOf(rule: string, placeholder: string, ok: (v: number, i: number, all: readonly number[]) => boolean): Kind<number[]> {
  const accepts = (v: unknown) => Array.isArray(v) && v.every((x, i) => isNumber(x) && ok(x, i, v));
  return {
    rule,
    placeholder,
    accepts,
    read(text) {
      const v = text.split(',').map(numberOf);
      return v.every((x) => x !== undefined) && accepts(v) ? (v as number[]) : undefined;
    },
  };
}

/** The kinds of value settings take. */
export const kinds = {
  /** An integer in [min, max]; the default max is the largest integer a double holds exactly. */
  integer(min: number, max = MAX_SAFE, placeholder = '<k>'): Kind<number> {
    return numeric(
      `an integer ≥ ${min}${max === MAX_SAFE ? '' : ` and ≤ ${max}`}`,
      placeholder,
      (v) => Number.isInteger(v) && v >= min && v <= max,
    );
  },
  positive(placeholder = '<x>'): Kind<number> {
    return numeric('a finite number > 0', placeholder, (v) => v > 0);
  },
  nonNegative(placeholder = '<x>'): Kind<number> {
    return numeric('a finite number ≥ 0', placeholder, (v) => v >= 0);
  },
  probability(placeholder = '<p>'): Kind<number> {
    return numeric('a number strictly between 0 and 1', placeholder, (v) => v > 0 && v < 1);
  },
  /** A finite number in [min, max], with the reason for the bound in the rule. */
  between(min: number, max: number, rule: string, placeholder: string): Kind<number> {
    return numeric(rule, placeholder, (v) => v >= min && v <= max);
  },
  /** Comma-separated integers ≥ 0, each larger than the one before (learning-rate milestones). */
  increasingEpochs(): Kind<number[]> {
    return listOf(
      'an increasing list of epochs, integers ≥ 0',
      '<epochs>',
      (v, i, all) => Number.isInteger(v) && v >= 0 && (i === 0 || v > all[i - 1]!),
    );
  },
  /** Comma-separated finite numbers ≥ 0. */
  nonNegativeList(placeholder: string): Kind<number[]> {
    return listOf('a comma-separated list of finite numbers ≥ 0', placeholder, (v) => v >= 0);
  },
  /** Comma-separated finite numbers (per-channel constants). */
  numberList(placeholder: string): Kind<number[]> {
    return listOf('a comma-separated list of finite numbers', placeholder, () => true);
  },
  choice<C extends string>(choices: readonly C[], placeholder = '<name>'): Kind<C> {
    const accepts = (v: unknown) => typeof v === 'string' && (choices as readonly string[]).includes(v);
    return {
      rule: `one of ${choices.join(', ')}`,
      placeholder,
      choices,
      accepts,
      read: (text) => (accepts(text) ? (text as C) : undefined),
    };
  },
  text(placeholder: string): Kind<string> {
    const accepts = (v: unknown) => typeof v === 'string' && v !== '';
    return { rule: 'a non-empty text', placeholder, accepts, read: (text) => (accepts(text) ? text : undefined) };
  },
  switch(): Kind<boolean> {
    return { rule: 'true or false', placeholder: '', switch: true, accepts: (v) => typeof v === 'boolean', read: () => true };
  },
};

import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Declarations, Kind, Setting, SpecOf } from '../base/settings.js';

/** The flag of a library key when the two are named alike: numNoise → --num-noise. */
export function kebabFlag(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Every declared setting's flag by key, filled as commands add their settings. */
const FLAGS = new Map<string, string>();

/**
 * Keys that no flag sets, in the words of a message: a result file's settings line records the
 * model and the data by content, and adaptive mode by the flags chosen.
 */
const WORDS: Readonly<Record<string, string>> = {
  modelFingerprint: 'the model whose fingerprint is',
  dataFingerprint: 'the data whose fingerprint is',
  adaptive: 'adaptive mode',
};

/** The one place where library keys become command-line words: a setting's flag. */
export function flagOf(key: string): string {
  return FLAGS.get(key) ?? WORDS[key] ?? kebabFlag(key);
}

const flagName = (key: string, s: Setting<unknown>) => s.flag ?? kebabFlag(key).slice(2);

/** The help line's note on the default. */
export function defaultNote(s: Setting<unknown>): string {
  if (s.required) return 'required';
  if (s.kind.switch) return s.default === true ? 'on' : 'off';
  if (s.default !== undefined) return `default ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)}`;
  return s.defaultText === undefined ? '' : `default ${s.defaultText}`;
}

/** A commander value parser by a kind's rule: the value, or a message naming the rule. */
export function parserOf<V>(kind: Kind<V>): (text: string) => V {
  return (text) => {
    const value = kind.read(text);
    if (value === undefined) throw new InvalidArgumentError(`expected ${kind.rule}, got "${text}".`);
    return value;
  };
}

/** Adds a commander option per declared setting: its flag, value parser (the kind's rule), choices and help. */
export function addSettings(cmd: Command, declarations: Declarations): Command {
  for (const [key, s] of Object.entries(declarations)) {
    const name = flagName(key, s);
    const note = defaultNote(s);
    const help = `${s.group ? `${s.group}: ` : ''}${s.help}${note ? ` (${note})` : ''}`;
    // A switch that is on by default is turned off: --no-nesterov.
    const negated = s.kind.switch && s.default === true;
    FLAGS.set(key, `--${negated ? 'no-' : ''}${name}`);
    const option = s.kind.switch
      ? new Option(`--${negated ? 'no-' : ''}${name}`, negated ? `turn off: ${help}` : help)
      : new Option(`--${name} ${s.kind.placeholder}`, help);
    if (s.kind.choices) option.choices([...s.kind.choices]);
    else if (!s.kind.switch) option.argParser(parserOf(s.kind));
    cmd.addOption(option);
  }
  return cmd;
}

/** The settings typed on the command line, by library key; the rest is left to the library's defaults. */
export function givenSettings<D extends Declarations>(cmd: Command, declarations: D): SpecOf<D> {
  const spec: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(declarations)) {
    const attribute = flagName(key, s).replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    if (cmd.getOptionValueSource(attribute) === 'cli') spec[key] = cmd.getOptionValue(attribute);
  }
  return spec as SpecOf<D>;
}

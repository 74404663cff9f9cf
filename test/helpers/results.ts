import { readFileSync } from 'node:fs';

/** The rows of a result TSV (header first) without smoothcert's settings line. */
export function resultRows(file: string): string[][] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.split('\t'));
}

/** The settings a result TSV records in its first line (`# smoothcert <command> <json>`). */
export function resultSettings(file: string): Record<string, unknown> {
  const first = readFileSync(file, 'utf8').split('\n', 1)[0]!;
  const match = /^# smoothcert \w+ (.*)$/.exec(first);
  if (!match) throw new Error(`${file} has no settings line`);
  return JSON.parse(match[1]!) as Record<string, unknown>;
}

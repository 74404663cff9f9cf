import { UserError } from '../base/errors.js';

/** Columns of a training run's log.tsv, as the reference implementation writes them. */
export const EPOCH_LOG_COLUMNS = ['epoch', 'time', 'lr', 'train_loss', 'train_acc', 'test_loss', 'test_acc'] as const;

/** One finished epoch of a training log. */
export type EpochRow = Record<(typeof EPOCH_LOG_COLUMNS)[number], number>;

/** The first line of a log.tsv since runs recorded their settings: `# smoothcert train <settings as JSON>`. */
export const TRAIN_SETTINGS_PREFIX = '# smoothcert train ';

/**
 * Parses the text of a log.tsv (files/epoch-log.ts writes it). As with certify TSVs, a last line
 * without its newline is a write in progress and is ignored; any other malformed line is a
 * UserError naming `file` and the line. The settings line, when present, is skipped (logs written
 * before it existed start with the header).
 */
export function parseTrainingLog(text: string, file: string): EpochRow[] {
  const lines = text.split('\n');
  lines.pop();
  const offset = lines[0]?.startsWith(TRAIN_SETTINGS_PREFIX) ? 1 : 0;
  if (offset === 1) lines.shift();
  const header = lines[0]?.replace(/\r$/, '');
  if (header !== EPOCH_LOG_COLUMNS.join('\t')) {
    const found = header === undefined ? 'no complete header line' : `header '${header.replaceAll('\t', '\\t')}'`;
    throw new UserError(`${file}: ${found}; a training log starts with '${EPOCH_LOG_COLUMNS.join('\\t')}'`);
  }
  return lines.slice(1).map((line, i) => {
    const fields = line.replace(/\r$/, '').split('\t');
    const where = `${file}, line ${i + 2 + offset}`;
    if (fields.length !== EPOCH_LOG_COLUMNS.length) {
      throw new UserError(`${where}: expected ${EPOCH_LOG_COLUMNS.length} tab-separated fields, found ${fields.length}`);
    }
    const row = {} as EpochRow;
    EPOCH_LOG_COLUMNS.forEach((name, j) => {
      const value = Number(fields[j]);
      if (fields[j]!.trim() === '' || Number.isNaN(value)) throw new UserError(`${where}: ${name} is not a number: '${fields[j]}'`);
      row[name] = value;
    });
    return row;
  });
}

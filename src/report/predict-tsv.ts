import { UserError } from '../base/errors.js';

/** Columns written by `smoothcert predict`. */
export const PREDICT_HEADER = ['idx', 'label', 'predict', 'correct', 'time'] as const;

/** One test example of PREDICT; `predict` is -1 on abstention. */
export interface PredictRow {
  readonly idx: number;
  readonly label: number;
  readonly predict: number;
  readonly correct: boolean;
}

/**
 * Parses the text of a predict TSV (after smoothcert's optional settings line). A last line
 * without its newline is a write in progress and is ignored.
 */
export function parsePredictTsv(text: string, file: string): PredictRow[] {
  const lines = text.split('\n');
  lines.pop();
  const first = lines[0]?.startsWith('#') ? 1 : 0;
  if (lines[first]?.replace(/\r$/, '') !== PREDICT_HEADER.join('\t')) {
    throw new UserError(`${file}: a predict TSV starts with '${PREDICT_HEADER.join('\\t')}'`);
  }
  return lines.slice(first + 1).map((line, i) => {
    const [idx, label, predict, correct] = line.split('\t').map(Number) as [number, number, number, number];
    const fields = line.split('\t').length;
    if (fields !== PREDICT_HEADER.length || ![idx, label, predict].every(Number.isInteger) || (correct !== 0 && correct !== 1)) {
      throw new UserError(`${file}, line ${first + i + 2}: not a predict row (idx, label, predict, correct, time)`);
    }
    return { idx, label, predict, correct: correct === 1 };
  });
}

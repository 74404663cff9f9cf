import { UserError } from '../errors.js';

/** Columns written by `smoothcert certify` (and by Cohen et al.'s certify.py). */
export const CERTIFY_HEADER = ['idx', 'label', 'predict', 'radius', 'correct', 'time'] as const;

/** One certified test example. `predict` is -1 (and `radius` 0) when CERTIFY abstained. */
export interface CertifyRow {
  readonly idx: number;
  readonly label: number;
  readonly predict: number;
  readonly radius: number;
  readonly correct: boolean;
}

/** The paper's two metrics for one certify file. `accuracy[i]` is the certified accuracy at `radii[i]`, in [0, 1]. */
export interface Summary {
  readonly file: string;
  readonly rows: readonly CertifyRow[];
  readonly radii: readonly number[];
  readonly accuracy: readonly number[];
  readonly acr: number;
}

const INTEGER = /^-?\d+$/;

function parseRow(fields: string[], where: string): CertifyRow {
  if (fields.length !== CERTIFY_HEADER.length) {
    throw new UserError(`${where}: expected ${CERTIFY_HEADER.length} tab-separated fields, found ${fields.length}`);
  }
  const [idxText, labelText, predictText, radiusText, correctText, timeText] = fields as [string, string, string, string, string, string];
  const integer = (name: string, text: string, min: number): number => {
    const value = Number(text);
    if (!INTEGER.test(text) || value < min) {
      throw new UserError(`${where}: ${name} must be an integer ≥ ${min}, got '${text}'`);
    }
    return value;
  };
  const idx = integer('idx', idxText, 0);
  const label = integer('label', labelText, 0);
  const predict = integer('predict', predictText, -1);
  const radius = Number(radiusText);
  if (radiusText.trim() === '' || !Number.isFinite(radius) || radius < 0) {
    throw new UserError(`${where}: radius must be a finite number ≥ 0, got '${radiusText}'`);
  }
  if (correctText !== '0' && correctText !== '1') {
    throw new UserError(`${where}: correct must be 0 or 1, got '${correctText}'`);
  }
  const correct = correctText === '1';
  // Cross-checks catch swapped columns or a file written by a different tool.
  if (correct !== (predict === label)) {
    throw new UserError(`${where}: correct is ${correctText} but predict ${predict} ${correct ? '≠' : '='} label ${label}`);
  }
  if (predict === -1 && radius !== 0) {
    throw new UserError(`${where}: an abstention (predict -1) must have radius 0, got ${radiusText}`);
  }
  if (timeText.trim() === '') {
    throw new UserError(`${where}: the time field is empty`);
  }
  return { idx, label, predict, radius, correct };
}

/**
 * Parses the text of a certify TSV. The writer appends whole lines only, so a last line without its
 * newline is a write cut short by an interruption: it is ignored. Any other malformed line is an error
 * naming `file` and the 1-based line number.
 */
export function parseCertifyTsv(text: string, file: string): CertifyRow[] {
  const lines = text.split('\n');
  lines.pop(); // '' when the text ends with a newline, otherwise the incomplete last line
  // smoothcert's settings line (files of the reference implementation have none).
  const first = lines[0]?.startsWith('#') ? 1 : 0;
  const expected = CERTIFY_HEADER.join('\t');
  const header = lines[first]?.replace(/\r$/, '');
  if (header !== expected) {
    const found = header === undefined ? 'no complete header line' : `header '${header.replaceAll('\t', '\\t')}'`;
    throw new UserError(`${file}: ${found}; a certify TSV starts with '${expected.replaceAll('\t', '\\t')}' (the output of 'smoothcert certify')`);
  }
  const rows: CertifyRow[] = [];
  const seen = new Set<number>();
  for (let i = first + 1; i < lines.length; i++) {
    const where = `${file}, line ${i + 1}`;
    const row = parseRow(lines[i]!.replace(/\r$/, '').split('\t'), where);
    // A resumed run that re-certified an example would count it twice.
    if (seen.has(row.idx)) throw new UserError(`${where}: idx ${row.idx} appears twice`);
    seen.add(row.idx);
    rows.push(row);
  }
  if (rows.length === 0) throw new UserError(`${file}: no certified examples (only a header)`);
  return rows;
}

function requireRows(rows: readonly CertifyRow[]): void {
  if (rows.length === 0) throw new RangeError('certified accuracy and ACR need at least one example');
}

/**
 * Approximate certified test accuracy at each radius r: the fraction of all examples that CERTIFY
 * classified correctly with radius ≥ r (Cohen et al.'s analyze.py; abstentions never count).
 */
export function certifiedAccuracy(rows: readonly CertifyRow[], radii: readonly number[]): number[] {
  requireRows(rows);
  const sorted = rows.filter((row) => row.correct).map((row) => row.radius).sort((a, b) => a - b);
  return radii.map((r) => {
    // Binary search for the first certified radius ≥ r; everything from there on counts.
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < r) lo = mid + 1;
      else hi = mid;
    }
    return (sorted.length - lo) / rows.length;
  });
}

/** ACR (Zhai et al.): mean over all examples of radius · 1[prediction = label]; abstentions count as 0. */
export function averageCertifiedRadius(rows: readonly CertifyRow[]): number {
  requireRows(rows);
  let sum = 0;
  for (const row of rows) if (row.correct) sum += row.radius;
  return sum / rows.length;
}

/** The most radii a grid may hold beyond 0. */
export const MAX_RADII = 100_000;

/** Radii 0, step, 2·step, … up to max (inclusive, within rounding): the columns of the paper's tables. */
export function radiusGrid(step: number, max: number): number[] {
  if (!(step > 0) || !Number.isFinite(step) || !(max >= 0) || !Number.isFinite(max)) {
    throw new UserError(`a radius grid needs step > 0 and max ≥ 0, got step ${step} and max ${max}`);
  }
  const count = Math.floor(max / step + 1e-9);
  // A table or plot has no use for more columns; asking for more is a typo, which would otherwise exhaust memory.
  if (count > MAX_RADII) {
    throw new UserError(`a radius grid with step ${step} up to ${max} has ${count + 1} radii (at most ${MAX_RADII + 1}); choose a larger step or a smaller maximum`);
  }
  // i·step rounded to 12 significant digits keeps 0.1·3 printing as 0.3.
  return Array.from({ length: count + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

import { UserError } from '../base/errors.js';

/** Columns written by `smoothcert certify` (and by Cohen et al.'s certify.py). */
export const CERTIFY_HEADER = ['idx', 'label', 'predict', 'radius', 'correct', 'time'] as const;

/** Columns of adaptive CERTIFY in radius mode: `samples` is the forward passes spent on the example, n0 included. */
export const ADAPTIVE_HEADER = ['idx', 'label', 'predict', 'radius', 'correct', 'samples', 'time'] as const;

/**
 * Columns of adaptive CERTIFY in decision mode: `certified` lists the radii at which the example
 * was certified, comma-separated (e.g. 0,0.25,0.5), or is '-' when none was.
 */
export const DECISION_HEADER = ['idx', 'label', 'predict', 'radius', 'correct', 'samples', 'certified', 'time'] as const;

const HEADERS: readonly (readonly string[])[] = [CERTIFY_HEADER, ADAPTIVE_HEADER, DECISION_HEADER];

/** One certified test example. `predict` is -1 (and `radius` 0) when CERTIFY abstained. */
export interface CertifyRow {
  readonly idx: number;
  readonly label: number;
  readonly predict: number;
  readonly radius: number;
  readonly correct: boolean;
  /** Adaptive CERTIFY only: forward passes used, n0 included. */
  readonly samples?: number;
  /** Adaptive CERTIFY in decision mode only: the radii certified. */
  readonly certified?: readonly number[];
}

/** The paper's two metrics for one certify file. `accuracy[i]` is the certified accuracy at `radii[i]`, in [0, 1]. */
export interface Summary {
  readonly file: string;
  readonly rows: readonly CertifyRow[];
  readonly radii: readonly number[];
  readonly accuracy: readonly number[];
  readonly acr: number;
  /** Total forward passes over all examples, when the file records them (adaptive CERTIFY). */
  readonly samples?: number;
}

const INTEGER = /^-?\d+$/;

function parseRow(fields: string[], columns: readonly string[], where: string): CertifyRow {
  if (fields.length !== columns.length) {
    throw new UserError(`${where}: expected ${columns.length} tab-separated fields, found ${fields.length}`);
  }
  const field = (name: string): string => fields[columns.indexOf(name)]!;
  const integer = (name: string, min: number): number => {
    const text = field(name);
    const value = Number(text);
    if (!INTEGER.test(text) || value < min) {
      throw new UserError(`${where}: ${name} must be an integer ≥ ${min}, got '${text}'`);
    }
    return value;
  };
  const idx = integer('idx', 0);
  const label = integer('label', 0);
  const predict = integer('predict', -1);
  const radiusText = field('radius');
  const radius = Number(radiusText);
  if (radiusText.trim() === '' || !Number.isFinite(radius) || radius < 0) {
    throw new UserError(`${where}: radius must be a finite number ≥ 0, got '${radiusText}'`);
  }
  const correctText = field('correct');
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
  if (field('time').trim() === '') {
    throw new UserError(`${where}: the time field is empty`);
  }
  const row: CertifyRow = { idx, label, predict, radius, correct };
  if (!columns.includes('samples')) return row;
  const samples = integer('samples', 1);
  if (!columns.includes('certified')) return { ...row, samples };
  return { ...row, samples, certified: parseCertified(field('certified'), radius, where) };
}

/** The `certified` field: '-' or comma-separated radii, each below the example's certified radius. */
function parseCertified(text: string, radius: number, where: string): number[] {
  if (text === '-') return [];
  return text.split(',').map((r) => {
    const value = Number(r);
    if (r.trim() === '' || !Number.isFinite(value) || value < 0) {
      throw new UserError(`${where}: certified must be '-' or comma-separated radii ≥ 0, got '${text}'`);
    }
    // Certified at r means radius > r (radii are written in full precision).
    if (value >= radius) throw new UserError(`${where}: certified lists radius ${r}, not below the certified radius ${radius}`);
    return value;
  });
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
  const header = lines[first]?.replace(/\r$/, '');
  const columns = HEADERS.find((h) => h.join('\t') === header);
  if (columns === undefined) {
    const found = header === undefined ? 'no complete header line' : `header '${header.replaceAll('\t', '\\t')}'`;
    const expected = HEADERS.map((h) => `'${h.join('\\t')}'`).join(' or ');
    throw new UserError(`${file}: ${found}; a certify TSV starts with ${expected} (the output of 'smoothcert certify')`);
  }
  const rows: CertifyRow[] = [];
  const seen = new Set<number>();
  for (let i = first + 1; i < lines.length; i++) {
    const where = `${file}, line ${i + 1}`;
    const row = parseRow(lines[i]!.replace(/\r$/, '').split('\t'), columns, where);
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
  const sorted = rows
    .filter((row) => row.correct)
    .map((row) => row.radius)
    .sort((a, b) => a - b);
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

/** Total forward passes over `rows`, or undefined when the rows do not record them (fixed-n CERTIFY). */
export function totalSamples(rows: readonly CertifyRow[]): number | undefined {
  let sum = 0;
  for (const row of rows) {
    if (row.samples === undefined) return undefined;
    sum += row.samples;
  }
  return sum;
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
    throw new UserError(
      `a radius grid with step ${step} up to ${max} has ${count + 1} radii (at most ${MAX_RADII + 1}); choose a larger step or a smaller maximum`,
    );
  }
  // i·step rounded to 12 significant digits keeps 0.1·3 printing as 0.3.
  return Array.from({ length: count + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

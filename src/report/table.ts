import { UserError } from '../base/errors.js';

export const TABLE_FORMATS = ['markdown', 'latex', 'csv'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

/**
 * One table row: a model's certified accuracy (fractions in [0, 1], one per radius) and its ACR, and
 * the forward passes spent when its certify file records them (adaptive CERTIFY).
 */
export interface TableRow {
  readonly label: string;
  readonly accuracy: readonly number[];
  readonly acr: number;
  readonly samples?: number;
}

/** How a format writes the forward-pass column: its heading, and the cell of a row without passes. */
interface PassesColumn {
  readonly heading: string;
  readonly missing: string;
}

/** Checks a user-given format name. */
export function parseTableFormat(name: string): TableFormat {
  const format = TABLE_FORMATS.find((f) => f === name);
  if (format === undefined) throw new UserError(`unknown table format '${name}'; use one of ${TABLE_FORMATS.join(', ')}`);
  return format;
}

/** A radius as a column heading: two decimals like the paper (0.00, 0.25), more when the radius needs them. */
export function formatRadius(r: number): string {
  const fixed = r.toFixed(2);
  return Number(fixed) === r ? fixed : String(r);
}

/** The paper's cell formats: certified accuracy in percent with one decimal, ACR with three decimals. */
const formatAccuracy = (fraction: number): string => (100 * fraction).toFixed(1);
const formatAcr = (acr: number): string => acr.toFixed(3);

/**
 * The formatted cells of each row, ACR first as in the paper's tables, and which of them are the column's best.
 * The forward passes, when some row has them, come last and are never bold: fewer passes for a different
 * accuracy is a trade-off, not a win. `heads` are the headings after Model and ACR.
 */
function cells(
  rows: readonly TableRow[],
  radii: readonly number[],
  passes: PassesColumn,
): { text: string[][]; best: boolean[][]; heads: string[] } {
  for (const row of rows) {
    if (row.accuracy.length !== radii.length) {
      throw new RangeError(`row '${row.label}' has ${row.accuracy.length} accuracies for ${radii.length} radii`);
    }
  }
  const text = rows.map((row) => [formatAcr(row.acr), ...row.accuracy.map(formatAccuracy)]);
  const best = text.map((r) => r.map(() => false));
  // Bold the best printed value per column, unless all rows print the same (nothing to single out).
  for (let c = 0; c < radii.length + 1; c++) {
    const column = text.map((r) => Number(r[c]));
    const max = Math.max(...column);
    if (column.every((v) => v === max)) continue;
    column.forEach((v, r) => {
      if (v === max) best[r]![c] = true;
    });
  }
  if (!rows.some((row) => row.samples !== undefined)) return { text, best, heads: radii.map(formatRadius) };
  rows.forEach((row, r) => {
    text[r]!.push(row.samples === undefined ? passes.missing : String(row.samples));
    best[r]!.push(false);
  });
  return { text, best, heads: [...radii.map(formatRadius), passes.heading] };
}

function markdown(rows: readonly TableRow[], radii: readonly number[]): string {
  const { text, best, heads } = cells(rows, radii, { heading: 'Forward passes', missing: '-' });
  const escapeCell = (s: string): string => s.replaceAll('\\', '\\\\').replaceAll('|', '\\|');
  const line = (values: string[]): string => `| ${values.join(' | ')} |`;
  const out = [
    line(['Model', 'ACR', ...heads]),
    line([':--', '--:', ...heads.map(() => '--:')]),
    ...rows.map((row, r) => line([escapeCell(row.label), ...text[r]!.map((v, c) => (best[r]![c] ? `**${v}**` : v))])),
  ];
  return `${out.join('\n')}\n`;
}

const LATEX_SPECIAL: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
};

function latex(rows: readonly TableRow[], radii: readonly number[]): string {
  const { text, best, heads } = cells(rows, radii, { heading: 'Forward passes', missing: '--' });
  const escapeLatex = (s: string): string => s.replace(/[\\&%$#_{}~^]/g, (ch) => LATEX_SPECIAL[ch]!);
  const line = (values: string[]): string => `${values.join(' & ')} \\\\`;
  const out = [
    `\\begin{tabular}{l${'r'.repeat(heads.length + 1)}}`,
    '\\toprule',
    line(['Model', 'ACR', ...heads]),
    '\\midrule',
    ...rows.map((row, r) => line([escapeLatex(row.label), ...text[r]!.map((v, c) => (best[r]![c] ? `\\textbf{${v}}` : v))])),
    '\\bottomrule',
    '\\end{tabular}',
  ];
  return `${out.join('\n')}\n`;
}

function csv(rows: readonly TableRow[], radii: readonly number[]): string {
  const { text, heads } = cells(rows, radii, { heading: 'forward passes', missing: '' });
  // RFC 4180: quote a field holding a comma, quote or line break; double the quotes inside.
  const quote = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const out = [['model', 'ACR', ...heads].join(','), ...rows.map((row, r) => [quote(row.label), ...text[r]!].join(','))];
  return `${out.join('\n')}\n`;
}

/**
 * Renders models × (ACR, certified accuracy at each radius) like the paper's Tables 1–6. Markdown and
 * LaTeX (booktabs: needs \usepackage{booktabs}) set each column's best value in bold; CSV is plain.
 */
export function renderTable(rows: readonly TableRow[], radii: readonly number[], format: TableFormat): string {
  switch (format) {
    case 'markdown':
      return markdown(rows, radii);
    case 'latex':
      return latex(rows, radii);
    case 'csv':
      return csv(rows, radii);
  }
}

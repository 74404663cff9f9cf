import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../src/base/errors.js';
import { formatRadius, parseTableFormat, renderTable, type TableRow } from '../../src/report/table.js';

// Two models at radii 0 and 0.5. Best per column: ACR → A (0.400 > 0.250); r = 0 → B (75.0 > 50.0);
// r = 0.5 → both print 25.0, so nothing is singled out.
const ROWS: TableRow[] = [
  { label: 'A', accuracy: [0.5, 0.25], acr: 0.4 },
  { label: 'B', accuracy: [0.75, 0.25], acr: 0.25 },
];
const RADII = [0, 0.5];

test('markdown: percent with one decimal, ACR with three, best per column bold', () => {
  assert.equal(
    renderTable(ROWS, RADII, 'markdown'),
    '| Model | ACR | 0.00 | 0.50 |\n' +
      '| :-- | --: | --: | --: |\n' +
      '| A | **0.400** | 50.0 | 25.0 |\n' +
      '| B | 0.250 | **75.0** | 25.0 |\n',
  );
});

test('latex: a booktabs tabular like the paper, with escaped labels', () => {
  const rows = [{ ...ROWS[0]!, label: 'Gauss_σ=0.5 & 10%' }, ROWS[1]!];
  assert.equal(
    renderTable(rows, RADII, 'latex'),
    '\\begin{tabular}{lrrr}\n' +
      '\\toprule\n' +
      'Model & ACR & 0.00 & 0.50 \\\\\n' +
      '\\midrule\n' +
      'Gauss\\_σ=0.5 \\& 10\\% & \\textbf{0.400} & 50.0 & 25.0 \\\\\n' +
      'B & 0.250 & \\textbf{75.0} & 25.0 \\\\\n' +
      '\\bottomrule\n' +
      '\\end{tabular}\n',
  );
});

test('csv: plain values, quoted labels where needed', () => {
  const rows = [{ ...ROWS[0]!, label: 'a,"b"' }, ROWS[1]!];
  assert.equal(renderTable(rows, RADII, 'csv'), 'model,ACR,0.00,0.50\n"a,""b""",0.400,50.0,25.0\nB,0.250,75.0,25.0\n');
});

test('a single row has nothing to compare and no bold; rounding follows the printed digits', () => {
  // 2/3 → 66.7 %, 0.673 → 67.3 %, ACR 1.2346 → 1.235 (values away from rounding ties).
  assert.equal(
    renderTable([{ label: 'm', accuracy: [2 / 3, 0.673], acr: 1.2346 }], [0, 0.125], 'markdown'),
    '| Model | ACR | 0.00 | 0.125 |\n| :-- | --: | --: | --: |\n| m | 1.235 | 66.7 | 67.3 |\n',
  );
});

test('radius headings and format names', () => {
  assert.equal(formatRadius(0), '0.00');
  assert.equal(formatRadius(2.25), '2.25');
  assert.equal(formatRadius(3.5), '3.50');
  assert.equal(formatRadius(0.125), '0.125');
  assert.equal(parseTableFormat('latex'), 'latex');
  assert.throws(
    () => parseTableFormat('html'),
    (err: unknown) => err instanceof UserError && /unknown table format 'html'.*markdown, latex, csv/.test(err.message),
  );
});

test('forward passes: a last, never bold column when some row records them', () => {
  const rows = [{ ...ROWS[0]!, samples: 1_234_500 }, ROWS[1]!];
  assert.equal(
    renderTable(rows, RADII, 'markdown'),
    '| Model | ACR | 0.00 | 0.50 | Forward passes |\n' +
      '| :-- | --: | --: | --: | --: |\n' +
      '| A | **0.400** | 50.0 | 25.0 | 1234500 |\n' +
      '| B | 0.250 | **75.0** | 25.0 | - |\n',
  );
  assert.equal(renderTable(rows, RADII, 'csv'), 'model,ACR,0.00,0.50,forward passes\nA,0.400,50.0,25.0,1234500\nB,0.250,75.0,25.0,\n');
  const latex = renderTable(rows, RADII, 'latex');
  assert.ok(latex.startsWith('\\begin{tabular}{lrrrr}\n'), latex);
  assert.ok(latex.includes('Model & ACR & 0.00 & 0.50 & Forward passes \\\\\n'), latex);
  assert.ok(latex.includes('B & 0.250 & \\textbf{75.0} & 25.0 & -- \\\\\n'), latex);
});

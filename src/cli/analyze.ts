import { existsSync } from 'node:fs';
import { dirname, parse } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../base/errors.js';
import { radiusGrid } from '../report/analyze.js';
import { summarize } from '../files/read-results.js';
import { plotFormat, writePlot } from '../files/plot.js';
import { parseTableFormat, renderTable, TABLE_FORMATS } from '../report/table.js';
import { writeFileAtomic } from '../files/atomic.js';
import { outputTarget } from '../files/output-path.js';

interface AnalyzeOptions {
  radii?: string;
  radiiStep?: string;
  radiiMax?: string;
  format: string;
  labels?: string;
  plot?: string;
  out?: string;
}

const DEFAULT_STEP = 0.25;
const DEFAULT_MAX = 2.5;

function nonNegative(text: string, option: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new UserError(`${option} expects numbers ≥ 0, got '${text}'`);
  }
  return value;
}

/** The table's radii: an explicit --radii list, or the even grid of --radii-step up to --radii-max. */
function radiiFromOptions(opts: Pick<AnalyzeOptions, 'radii' | 'radiiStep' | 'radiiMax'>): number[] {
  if (opts.radii !== undefined) {
    if (opts.radiiStep !== undefined || opts.radiiMax !== undefined) {
      throw new UserError('give either --radii or --radii-step/--radii-max, not both');
    }
    return opts.radii.split(',').map((r) => nonNegative(r, '--radii'));
  }
  const step = opts.radiiStep === undefined ? DEFAULT_STEP : nonNegative(opts.radiiStep, '--radii-step');
  if (step === 0) throw new UserError('--radii-step must be > 0');
  const max = opts.radiiMax === undefined ? DEFAULT_MAX : nonNegative(opts.radiiMax, '--radii-max');
  return radiusGrid(step, max);
}

/** Row labels: --labels, one per file, or each file's base name without its extension. */
function labelsFor(files: readonly string[], labels: string | undefined): string[] {
  const result = labels === undefined ? files.map((f) => parse(f).name) : labels.split(',');
  if (result.length !== files.length) {
    throw new UserError(`--labels has ${result.length} labels for ${files.length} files; give one per file`);
  }
  const duplicate = result.find((label, i) => result.indexOf(label) !== i);
  if (duplicate !== undefined) {
    throw new UserError(`two files share the label '${duplicate}'; name the rows apart with --labels a,b,…`);
  }
  return result;
}

/** An output file's directory must exist: checked before any work, so a typo costs nothing. */
function checkOutputDir(file: string, key: 'out' | 'plot'): void {
  outputTarget(file, 'file', key);
  const option = `--${key}`;
  const dir = dirname(file);
  if (!existsSync(dir)) throw new UserError(`${option} ${file}: directory ${dir} does not exist; create it first`);
}

async function analyze(files: string[], opts: AnalyzeOptions): Promise<void> {
  // Validate every option before reading any file, so a typo fails fast.
  const format = parseTableFormat(opts.format);
  const radii = radiiFromOptions(opts);
  const labels = labelsFor(files, opts.labels);
  if (opts.out !== undefined) checkOutputDir(opts.out, 'out');
  if (opts.plot !== undefined) {
    plotFormat(opts.plot);
    checkOutputDir(opts.plot, 'plot');
  }
  const summaries = files.map((file) => summarize(file, radii));
  const rows = summaries.map((s, i) => ({
    label: labels[i]!,
    accuracy: s.accuracy,
    acr: s.acr,
    ...(s.samples !== undefined && { samples: s.samples }),
  }));
  const table = renderTable(rows, radii, format);
  if (opts.out === undefined) process.stdout.write(table);
  else writeFileAtomic(opts.out, table);
  if (opts.plot !== undefined) {
    await writePlot(
      summaries.map((s, i) => ({ label: labels[i]!, rows: s.rows })),
      opts.plot,
    );
  }
}

/** `smoothcert analyze`: certified accuracy at radii and ACR from certify TSVs, as a table and a plot. */
export function register(program: Command): void {
  program
    .command('analyze')
    .summary('tabulate and plot certified accuracy and ACR from certify TSV files')
    .description(
      'Tabulates the ACR and the approximate certified test accuracy at each radius, one row per certify TSV ' +
        "(columns idx, label, predict, radius, correct, time), as in the paper's tables; optionally plots " +
        'certified accuracy against radius. TSVs of adaptive CERTIFY (with a samples column) add a column ' +
        'with the total forward passes.',
    )
    .argument('<files...>', 'certify TSV files, one table row each')
    .option('--radii <list>', 'comma-separated radii to tabulate, e.g. 0,0.5,1,1.5')
    .option('--radii-step <r>', `spacing of the radius grid starting at 0 (default ${DEFAULT_STEP})`)
    .option('--radii-max <r>', `largest radius of the grid (default ${DEFAULT_MAX})`)
    .option('--format <name>', `table format: ${TABLE_FORMATS.join(' | ')}`, 'markdown')
    .option('--labels <list>', 'comma-separated row labels, one per file (default: file names without extension)')
    .option('--plot <file>', 'also plot certified accuracy against radius, one curve per file (.svg or .png)')
    .option('--out <file>', 'write the table to this file instead of standard output')
    .addHelpText(
      'after',
      `
Definitions (an abstention is never certified):
  certified accuracy at r   percent of all examples predicted correctly
                            with certified radius >= r
  ACR                       mean over all examples of radius * 1[predict = label]
  forward passes            sum of the samples column (adaptive CERTIFY only;
                            '-' for a fixed-n file in the same table)

The best value of each column is bold in markdown and LaTeX. A last line
without a newline (a run still writing, or cut short) is ignored.

Examples:
  smoothcert analyze gaussian.tsv consistency.tsv --labels Gaussian,Consistency
  smoothcert analyze a.tsv b.tsv --format latex --radii-step 0.5 --radii-max 3.5
  smoothcert analyze a.tsv b.tsv --radii 0,0.5,1 --out table.md --plot curves.png`,
    )
    .action(analyze);
}

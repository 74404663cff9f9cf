import { type Command, Option } from 'commander';
import { basename } from 'node:path';
import { UserError } from '../base/errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import { outputTarget } from '../files/output-path.js';
import { commonRange, histogram } from '../report/histogram.js';
import { gapsSpec } from '../report/plot-spec.js';
import { writeSpec } from '../files/plot.js';
import { logProbGapsOf, type GapsOptions } from '../runs/gaps.js';
import { backendOption, useBackend } from './backend-option.js';
import { parse } from './options.js';

interface GapsCliOptions extends GapsOptions {
  model: string[];
  labels?: string;
  bins: number;
  out?: string;
  plot?: string;
  backend?: string;
}

/** A model's default label: its folder's name, or an .onnx file's without the extension (a folder such as gaussian-s0.5 keeps its ".5"). */
function modelName(path: string): string {
  return basename(path.replace(/\/+$/, ''), '.onnx');
}

/**
 * `smoothcert gaps`: the paper's Figure 1 for the user's own models — the histogram of the
 * log-probability gap over noise draws for one test image, several models on one plot.
 */
async function gapsCommand(o: GapsCliOptions): Promise<void> {
  const labels = o.labels === undefined ? o.model.map(modelName) : o.labels.split(',');
  if (labels.length !== o.model.length)
    throw new UserError(`--labels has ${labels.length} labels for ${o.model.length} models; give one per model`);
  if (o.out !== undefined) outputTarget(o.out, 'file', 'out');
  if (o.plot !== undefined) outputTarget(o.plot, 'file', 'plot');
  await useBackend(o.backend);
  const results = await logProbGapsOf(o.model, o);
  const { lo, hi } = commonRange(results.map((r) => r.gaps));
  const rows = ['model,sigma,bin_lo,bin_hi,count'];
  const series = results.map((r, k) => {
    const h = histogram(r.gaps, o.bins, lo, hi);
    const width = (hi - lo) / o.bins;
    h.counts.forEach((c, b) => rows.push(`${csvField(labels[k]!)},${r.sigma},${lo + b * width},${lo + (b + 1) * width},${c}`));
    const wrong = r.gaps.filter((g) => g < 0).length / r.gaps.length;
    process.stderr.write(
      `${labels[k]}: label ${r.label}, σ = ${r.sigma}, mean gap ${mean(r.gaps).toFixed(3)}, ` +
        `misclassified under noise ${(100 * wrong).toFixed(1)}% of ${r.gaps.length} draws\n`,
    );
    return { label: labels[k]!, histogram: h };
  });
  const csv = `${rows.join('\n')}\n`;
  if (o.out === undefined) process.stdout.write(csv);
  else writeFileAtomic(o.out, csv);
  if (o.plot !== undefined) await writeSpec(gapsSpec(series), o.plot);
}

function mean(v: Float64Array): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

function csvField(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function register(program: Command): void {
  program
    .command('gaps')
    .description(
      "the paper's Figure 1: histogram of the log-probability gap log F_y(x+δ) − max_{c≠y} log F_c(x+δ) over noise draws δ for one test image, per model",
    )
    .requiredOption(
      '--model <path>',
      'a smoothcert model folder or .onnx file; repeat for several models on one plot',
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .requiredOption('--index <i>', 'the test image (index in the split)', parse.int(0))
    .option('--labels <list>', 'legend labels, one per --model (default: the model names)')
    .option('--dataset <name>', 'fashion-mnist, mnist, cifar10 or imagenet', 'fashion-mnist')
    .addOption(new Option('--split <split>', 'dataset split').choices(['train', 'test']).default('test'))
    .option('--data-dir <dir>', 'folder with the dataset files')
    .option('--n <count>', 'noise draws (the paper uses 10000)', parse.int(1, 10_000_000), 10_000)
    .option('--sigma <s>', "noise level σ for every model (default: each model's own)", parse.sigma)
    .option('--seed <seed>', 'noise seed: every model sees the same draws', parse.int(0), 0)
    .option('--bins <k>', 'histogram bins (shared edges across models)', parse.int(1, 10_000), 60)
    .option('--batch <size>', 'noisy images per forward pass', parse.int(1, 100_000), 1000)
    .option('--out <file>', 'the histogram as CSV (model,sigma,bin_lo,bin_hi,count); default: stdout')
    .option('--plot <file>', 'the histograms as .svg or .png')
    .option(
      '--output <name>',
      'ONNX models with several outputs: the one with the class scores (logits or probabilities; read as log-probabilities either way)',
    )
    .addOption(backendOption())
    .action(gapsCommand);
}

import { Command, Option } from 'commander';
import { parseChannelList, parseInputLayout } from '../onnx/options.js';
import { runSmoothing, type SmoothingMode, type SmoothingRunOptions } from '../runs/smoothing.js';
import { backendOption, useBackend } from './backend-option.js';
import { interruptible } from './interrupt.js';
import { parse } from './options.js';
import { progress, type Progress } from './progress.js';

type SmoothingCliOptions = SmoothingRunOptions & { backend?: string };

/** Options shared by `certify` and `predict`. */
export function smoothingOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--model <path>', 'base classifier: a smoothcert model folder (from `smoothcert train`) or an .onnx file')
    .requiredOption('--out <file>', 'result TSV; an existing file from the same settings is resumed')
    .option('--dataset <name>', 'fashion-mnist, mnist, cifar10 or imagenet', 'fashion-mnist')
    .addOption(new Option('--split <split>', 'dataset split').choices(['train', 'test']).default('test'))
    .option('--data-dir <dir>', 'folder with the dataset files (default for fashion-mnist: /usr/share/datasets/fashion-mnist)')
    .option('--sigma <s>', 'noise level σ (default: the σ the model records: smoothcert models and exported .onnx files)', parse.positive)
    .option('--n <count>', 'Monte Carlo samples to estimate (CERTIFY) or vote (PREDICT)', parse.int(1, 1e12), 100_000)
    .option('--alpha <a>', 'failure probability of the guarantee', parse.probability, 0.001)
    .option('--batch <size>', 'noisy samples per forward pass', parse.int(1, 100_000), 1000)
    .option('--skip <k>', 'take every k-th example of the split', parse.int(1), 1)
    .option('--max <i>', 'stop before example index i', parse.int(0))
    .option('--seed <seed>', 'noise seed; the same seed gives the same results', parse.int(0), 0)
    .option('--input-layout <layout>', 'ONNX models: nchw (PyTorch) or nhwc (smoothcert export) (default: as the file records, else nchw)', parseInputLayout)
    .option('--mean <list>', 'ONNX models normalized outside the graph: per-channel mean, e.g. 0.4914,0.4822,0.4465', (v) => parseChannelList(v, '--mean'))
    .option('--std <list>', 'ONNX models normalized outside the graph: per-channel std', (v) => parseChannelList(v, '--std'))
    .addOption(backendOption());
}

/** CERTIFY or PREDICT from the command line: progress on stderr, Ctrl-C stops after the current batch. */
export async function smoothingCommand(mode: SmoothingMode, o: SmoothingCliOptions): Promise<void> {
  await useBackend(o.backend);
  let bar: Progress | undefined;
  const result = await interruptible((signal) => runSmoothing(mode, o, {
    signal,
    describe: (setting) => `--${setting.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
    onStart: (p) => { bar = progress(mode, p.total, 'examples', p.done); },
    onExample: (p) => bar?.update(p.done, { acc: `${((100 * p.correct) / p.doneNow).toFixed(1)}%` }),
  })).finally(() => bar?.stop());
  if (result.interrupted) {
    process.stderr.write(`\ninterrupted: ${o.out} holds ${result.done} of ${result.total} examples; rerun the same command to resume\n`);
  }
}

export function register(program: Command): void {
  smoothingOptions(program.command('certify'))
    .description('CERTIFY (Cohen et al.): per example, the smoothed prediction and a certified L2 radius, written as idx label predict radius correct time')
    .option('--n0 <count>', 'samples used to select the top class', parse.int(1, 1e12), 100)
    .action((o: SmoothingCliOptions) => smoothingCommand('certify', o));
}

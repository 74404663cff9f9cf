import { type Command, Option } from 'commander';
import { UserError } from '../base/errors.js';
import { MAX_JOB_SAMPLES } from '../queue/job.js';
import { SEQUENCES, type SequenceName } from '../smoothing/confidence-sequence.js';
import { parseChannelList, parseInputLayout } from '../onnx/options.js';
import { runSmoothing, type SmoothingMode, type SmoothingRunOptions } from '../runs/smoothing.js';
import { backendOption, useBackend } from './backend-option.js';
import { interruptible } from './interrupt.js';
import { kebabFlag, parse } from './options.js';
import { progress, type Progress } from './progress.js';

type SmoothingCliOptions = Omit<SmoothingRunOptions, 'queue'> & { backend?: string; queue?: string; chunk?: number };

/** certify's own flags for adaptive CERTIFY. */
interface AdaptiveFlags {
  adaptive?: boolean;
  radii?: number[];
  tolerance?: number;
  maxN?: number;
  sequence?: SequenceName;
}

/** Options shared by `certify` and `predict`. */
export function smoothingOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--model <path>', 'base classifier: a smoothcert model folder (from `smoothcert train`) or an .onnx file')
    .requiredOption('--out <file>', 'result TSV; an existing file from the same settings is resumed')
    .option('--dataset <name>', 'fashion-mnist, mnist, cifar10 or imagenet', 'fashion-mnist')
    .addOption(new Option('--split <split>', 'dataset split').choices(['train', 'test']).default('test'))
    .option('--data-dir <dir>', 'folder with the dataset files (default for fashion-mnist: /usr/share/datasets/fashion-mnist)')
    .option('--sigma <s>', 'noise level σ (default: the σ the model records: smoothcert models and exported .onnx files)', parse.sigma)
    .option('--n <count>', 'Monte Carlo samples to estimate (CERTIFY) or vote (PREDICT)', parse.int(1, 1e12), 100_000)
    .option('--alpha <a>', 'failure probability of the guarantee', parse.probability, 0.001)
    .option(
      '--batch <size>',
      'noisy samples per forward pass; part of the settings a resumed file must share (another batch may round a sample differently)',
      parse.int(1, 100_000),
      1000,
    )
    .option('--skip <k>', 'take every k-th example of the split', parse.int(1), 1)
    .option('--max <i>', 'stop before example index i', parse.int(0))
    .option('--seed <seed>', 'noise seed; the same seed gives the same results', parse.int(0), 0)
    .option(
      '--input-layout <layout>',
      'ONNX models: nchw (PyTorch) or nhwc (smoothcert export) (default: as the file records, else nchw)',
      parseInputLayout,
    )
    .option('--mean <list>', 'ONNX models normalized outside the graph: per-channel mean, e.g. 0.4914,0.4822,0.4465', (v) =>
      parseChannelList(v, '--mean'),
    )
    .option('--std <list>', 'ONNX models normalized outside the graph: per-channel std', (v) => parseChannelList(v, '--std'))
    .option('--output <name>', 'ONNX models with several outputs: the one with the class scores (logits or probabilities)')
    .addOption(
      new Option(
        '--precision <p>',
        'model folders on the native backend: bf16 runs the convolutions in bfloat16 (CPUs with AVX512-BF16; ' +
          'faster, and the certificates are those of the bf16 model)',
      )
        .choices(['fp32', 'bf16'])
        .default('fp32'),
    )
    .option(
      '--queue <url>',
      'count on `smoothcert worker` processes serving the BullMQ queue in this Redis (redis://HOST:PORT); the file is the same',
    )
    .option(
      '--chunk <count>',
      'with --queue: noise samples per job, rounded down to a multiple of --batch (default 10000)',
      parse.int(1, MAX_JOB_SAMPLES),
    )
    .addOption(backendOption());
}

/**
 * A settings-line key in the words of this command: its flag, or what it stands for when no flag
 * sets it (the model and the data are recorded by content, adaptive mode by the flags chosen).
 */
function settingWords(key: string): string {
  const described: Record<string, string> = {
    modelFingerprint: 'the model whose fingerprint is',
    dataFingerprint: 'the data whose fingerprint is',
    adaptive: 'adaptive mode',
  };
  return described[key] ?? kebabFlag(key);
}

/** CERTIFY or PREDICT from the command line: progress on stderr, Ctrl-C stops after the current batch. */
export async function smoothingCommand(mode: SmoothingMode, cli: SmoothingCliOptions): Promise<void> {
  if (cli.chunk !== undefined && cli.queue === undefined) throw new UserError('--chunk applies to runs on a queue only; add --queue');
  const { queue: url, chunk, ...rest } = cli;
  const o: SmoothingRunOptions & { backend?: string } = {
    ...rest,
    ...(url === undefined ? {} : { queue: { url, chunk: chunk ?? 10_000 } }),
  };
  await useBackend(o.backend);
  let bar: Progress | undefined;
  const began = Date.now();
  const result = await interruptible((signal) =>
    runSmoothing(mode, o, {
      signal,
      describe: settingWords,
      onStart: (p) => {
        bar = progress(mode, p.total, 'examples', p.done);
      },
      onExample: (p) =>
        bar?.update(p.done, {
          acc: `${((100 * p.correct) / p.doneNow).toFixed(1)}%`,
          // Queue runs: the workers' summed throughput and how many are connected.
          ...(p.queue
            ? { 'samples/s': Math.round(p.queue.samples / Math.max((Date.now() - began) / 1000, 1e-3)), workers: p.queue.workers }
            : {}),
        }),
    }),
  ).finally(() => bar?.stop());
  if (result.interrupted) {
    process.stderr.write(`\ninterrupted: ${o.out} holds ${result.done} of ${result.total} examples; rerun the same command to resume\n`);
  }
}

export function register(program: Command): void {
  smoothingOptions(program.command('certify'))
    .description(
      'CERTIFY (Cohen et al.): per example, the smoothed prediction and a certified L2 radius, written as idx label predict radius correct time',
    )
    .option('--n0 <count>', 'samples used to select the top class', parse.int(1, 1e12), 100)
    .option(
      '--adaptive',
      'stop sampling once the answer is settled, with the same 1 − alpha guarantee (time-uniform confidence sequence); adds a samples column',
    )
    .option(
      '--radii <list>',
      'adaptive decision mode: the radii to decide, e.g. 0.25,0.5 (default: 0, 0.25, … up to what --max-n can certify); adds a certified column',
      parse.radii,
    )
    .option('--tolerance <t>', 'adaptive radius mode: stop when more samples cannot raise the radius by more than t·σ', parse.positive)
    .option('--max-n <count>', 'adaptive: at most this many estimation samples (default 100000)', parse.int(1, 1e12))
    .addOption(new Option('--sequence <name>', 'adaptive: the lower confidence sequence (default union-cp)').choices([...SEQUENCES]))
    .action((o: SmoothingCliOptions & AdaptiveFlags, cmd: Command) => {
      const given = (k: string) => cmd.getOptionValueSource(k) === 'cli';
      const adaptiveOnly = ['radii', 'tolerance', 'maxN', 'sequence'].filter(given);
      if (!o.adaptive && adaptiveOnly.length > 0) {
        throw new UserError(
          `${adaptiveOnly.map(kebabFlag).join(', ')} ${adaptiveOnly.length > 1 ? 'apply' : 'applies'} to adaptive CERTIFY only; add --adaptive`,
        );
      }
      if (o.adaptive && given('n'))
        throw new UserError('--n is the sample count of fixed-n CERTIFY; with --adaptive give the budget as --max-n');
      if (o.radii !== undefined && o.tolerance !== undefined) {
        throw new UserError('--radii (decision mode) and --tolerance (radius mode) ask different questions; give one of them');
      }
      const adaptive = o.adaptive
        ? {
            maxN: o.maxN ?? 100_000,
            ...(o.radii ? { radii: o.radii } : {}),
            ...(o.tolerance === undefined ? {} : { tolerance: o.tolerance }),
            ...(o.sequence ? { sequence: o.sequence } : {}),
          }
        : undefined;
      return smoothingCommand('certify', { ...o, ...(adaptive ? { adaptive } : {}) });
    });
}

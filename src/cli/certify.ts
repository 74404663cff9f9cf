import { type Command, InvalidArgumentError, Option } from 'commander';
import { SettingError } from '../base/errors.js';
import { MAX_JOB_SAMPLES } from '../queue/job.js';
import { runSmoothing, type SmoothingMode, type SmoothingRunOptions } from '../runs/smoothing.js';
import { CERTIFY_SETTINGS, type CertifySpec, SMOOTHING_SETTINGS } from '../runs/smoothing-settings.js';
import { backendOption, useBackend } from './backend-option.js';
import { interruptible } from './interrupt.js';
import { progress, type Progress } from './progress.js';
import { addSettings, givenSettings } from './settings.js';

/** The command's own options, beside the run's settings. */
interface SmoothingCommandOptions {
  backend?: string;
  queue?: string;
  chunk?: number;
}

/** certify and predict: their settings, then the queue and the engine. */
function smoothingCommand(program: Command, mode: SmoothingMode, description: string): Command {
  const declarations = mode === 'certify' ? CERTIFY_SETTINGS : SMOOTHING_SETTINGS;
  const cmd = addSettings(program.command(mode).description(description), declarations)
    .option(
      '--queue <url>',
      'count on `smoothcert worker` processes serving the BullMQ queue in this Redis (redis://HOST:PORT); the file is the same',
    )
    .addOption(
      new Option('--chunk <count>', 'with --queue: noise samples per job, rounded down to a multiple of --batch (default 10000)').argParser(
        (text) => {
          const v = Number(text);
          if (!(Number.isInteger(v) && v >= 1 && v <= MAX_JOB_SAMPLES))
            throw new InvalidArgumentError(`expected an integer ≥ 1 and ≤ ${MAX_JOB_SAMPLES}, got "${text}".`);
          return v;
        },
      ),
    )
    .addOption(backendOption());
  return cmd.action((o: SmoothingCommandOptions, self: Command) => runCommand(mode, givenSettings(self, declarations), o));
}

/** CERTIFY or PREDICT from the command line: progress on stderr, Ctrl-C stops after the current batch. */
async function runCommand(mode: SmoothingMode, spec: CertifySpec, o: SmoothingCommandOptions): Promise<void> {
  if (o.chunk !== undefined && o.queue === undefined)
    throw new SettingError('chunk', (name) => `${name('chunk')} applies to runs on a queue only; add ${name('queue')}`);
  const run: SmoothingRunOptions = { ...spec, ...(o.queue === undefined ? {} : { queue: { url: o.queue, chunk: o.chunk ?? 10_000 } }) };
  await useBackend(o.backend);
  let bar: Progress | undefined;
  const began = Date.now();
  const result = await interruptible((signal) =>
    runSmoothing(mode, run, {
      signal,
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
    process.stderr.write(`\ninterrupted: ${spec.out} holds ${result.done} of ${result.total} examples; rerun the same command to resume\n`);
  }
}

export function registerCertify(program: Command): void {
  smoothingCommand(
    program,
    'certify',
    'CERTIFY (Cohen et al.): per example, the smoothed prediction and a certified L2 radius, written as idx label predict radius correct time',
  );
}

export function registerPredict(program: Command): void {
  smoothingCommand(
    program,
    'predict',
    'PREDICT (Cohen et al.): per example, the smoothed prediction or an abstention (-1), written as idx label predict correct time',
  );
}

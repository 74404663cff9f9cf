import type { Command } from 'commander';
import { SettingError } from '../base/errors.js';
import { type SpecOf, withDefaults } from '../base/settings.js';
import { runSmoothing, type SmoothingMode, type SmoothingRunOptions } from '../runs/smoothing.js';
import { CERTIFY_SETTINGS, type CertifySpec, QUEUE_SETTINGS, SMOOTHING_SETTINGS } from '../runs/smoothing-settings.js';
import { backendOption, useBackend } from './backend-option.js';
import { interruptible } from './interrupt.js';
import { progress, type Progress } from './progress.js';
import { addSettings, givenSettings } from './settings.js';

/** certify and predict: their settings, then the queue and the engine. */
function smoothingCommand(program: Command, mode: SmoothingMode, description: string): Command {
  const declarations = mode === 'certify' ? CERTIFY_SETTINGS : SMOOTHING_SETTINGS;
  const cmd = addSettings(addSettings(program.command(mode).description(description), declarations), QUEUE_SETTINGS).addOption(
    backendOption(),
  );
  return cmd.action((o: { backend?: string }, self: Command) =>
    runCommand(mode, givenSettings(self, declarations), givenSettings(self, QUEUE_SETTINGS), o.backend),
  );
}

/** CERTIFY or PREDICT from the command line: progress on stderr, Ctrl-C stops after the current batch. */
async function runCommand(mode: SmoothingMode, spec: CertifySpec, asked: SpecOf<typeof QUEUE_SETTINGS>, backend?: string): Promise<void> {
  if (asked.chunk !== undefined && asked.queue === undefined)
    throw new SettingError('chunk', (name) => `${name('chunk')} applies to runs on a queue only; add ${name('queue')}`);
  const { queue, chunk } = withDefaults(QUEUE_SETTINGS, asked);
  const run: SmoothingRunOptions = { ...spec, ...(queue === undefined ? {} : { queue: { url: queue, chunk } }) };
  await useBackend(backend);
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

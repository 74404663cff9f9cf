import type { Command } from 'commander';
import { smoothingOptions } from './certify.js';
import { runSmoothing, type SmoothingRunOptions } from './smoothing-run.js';

export function register(program: Command): void {
  smoothingOptions(program.command('predict'))
    .description('PREDICT (Cohen et al.): per example, the smoothed prediction or an abstention (-1), written as idx label predict correct time')
    .action((o: SmoothingRunOptions) => runSmoothing('predict', o));
}

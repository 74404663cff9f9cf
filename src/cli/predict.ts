import type { Command } from 'commander';
import { smoothingCommand, smoothingOptions } from './certify.js';

export function register(program: Command): void {
  smoothingOptions(program.command('predict'))
    .description(
      'PREDICT (Cohen et al.): per example, the smoothed prediction or an abstention (-1), written as idx label predict correct time',
    )
    .action((o) => smoothingCommand('predict', o));
}

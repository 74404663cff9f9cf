import type { Command } from 'commander';
import { backendOption, useBackend } from './backend-option.js';
import { interruptible } from './interrupt.js';
import { parse } from './options.js';

interface WorkerCliOptions {
  queue: string;
  concurrency: number;
  model?: string;
  dataDir?: string;
  backend?: string;
}

export function register(program: Command): void {
  program
    .command('worker')
    .description(
      'serve the counts jobs of `certify --queue` / `predict --queue` runs: any number of workers on any machines that have the model and the data',
    )
    .requiredOption('--queue <url>', 'the Redis that holds the queue, redis://HOST:PORT')
    .option(
      '--concurrency <k>',
      'jobs at once, each in its own process (one job of the native backend already uses every core: raise it when the CPU is not busy)',
      parse.int(1, 1024),
      1,
    )
    .option(
      '--model <path>',
      "this machine's copy of the runs' model (default: the path the coordinator was given); refused unless its fingerprint is the run's",
    )
    .option('--data-dir <dir>', "this machine's dataset folder (default: the coordinator's); refused unless its fingerprint is the run's")
    .addOption(backendOption())
    .action(async (o: WorkerCliOptions) => {
      const backend = await useBackend(o.backend);
      const log = (line: string) => process.stderr.write(`${new Date().toISOString()} worker ${process.pid}: ${line}\n`);
      // bullmq loads with the command that needs it, not with every command.
      const { runWorker } = await import('../queue/worker.js');
      await interruptible((signal) =>
        runWorker(
          {
            url: o.queue,
            concurrency: o.concurrency,
            backend,
            ...(o.model === undefined ? {} : { model: o.model }),
            ...(o.dataDir === undefined ? {} : { dataDir: o.dataDir }),
          },
          signal,
          log,
        ),
      );
    });
}

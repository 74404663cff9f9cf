import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { UserError } from '../base/errors.js';
import { LOOPBACK, startServer } from '../serve/server.js';
import { interruptible } from './interrupt.js';
import { parse } from './options.js';

interface ServeOptions {
  runs: string;
  port: number;
  host: string;
  dataDir?: string;
}

/** The web app, built at install time beside the compiled sources (dist/web). */
const APP = fileURLToPath(new URL('../../web/', import.meta.url));

async function serve(opts: ServeOptions): Promise<void> {
  const runs = resolve(opts.runs);
  if (!existsSync(runs) || !statSync(runs).isDirectory()) {
    throw new UserError(`--runs ${opts.runs} is not a folder; give the folder your training runs and certify TSVs are in`);
  }
  const server = await startServer({
    runs,
    port: opts.port,
    host: opts.host,
    app: APP,
    ...(opts.dataDir !== undefined && { dataDir: opts.dataDir }),
  });
  process.stdout.write(`smoothcert: serving ${runs} at ${server.url} (Ctrl-C stops)\n`);
  if (!LOOPBACK.has(opts.host)) {
    process.stderr.write(
      `smoothcert: warning: --host ${opts.host} makes every file under ${runs} (model weights included) readable by anyone ` +
        'who can reach this machine, and the Host check that stops DNS rebinding is off; to look from elsewhere, bind 127.0.0.1 and use an SSH tunnel\n',
    );
  }
  // Serving is the whole command: it ends when Ctrl-C or SIGTERM aborts the signal.
  await interruptible(
    (signal) => new Promise<void>((done) => signal.addEventListener('abort', () => done(), { once: true })),
    'stopping the server',
  );
  await server.close();
}

/** `smoothcert serve`: the local web UI (run dashboard and certification playground). */
export function register(program: Command): void {
  program
    .command('serve')
    .summary('local web UI: a dashboard of runs and an interactive certification playground')
    .description(
      'Serves the web UI on this machine: the dashboard lists the runs under --runs (training logs, certify and ' +
        'predict TSVs, models), plots training curves and certified accuracy against radius and follows runs that ' +
        'are still writing; the playground certifies an image with a chosen model in the browser (tfjs-wasm).',
    )
    .option('--runs <dir>', 'folder of runs to show; nothing outside it is served', 'runs')
    .option('--port <port>', 'TCP port (0: any free port)', parse.int(0, 65535), 8080)
    .option('--host <address>', 'address to bind; anything but loopback exposes your runs to the network', '127.0.0.1')
    .option(
      '--data-dir <dir>',
      'folder with the dataset files the playground takes test images from (default for fashion-mnist: /usr/share/datasets/fashion-mnist)',
    )
    .addHelpText(
      'after',
      `
Examples:
  smoothcert serve --runs runs
  smoothcert serve --runs runs --port 9000`,
    )
    .action(serve);
}

import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { SettingError, UserError } from '../base/errors.js';
import { LOOPBACK, startServer } from '../serve/server.js';
import { SERVICE_SETTINGS, type ServiceSpec, startApiServer } from '../service/server.js';
import { backendOption, useBackend } from './backend-option.js';
import { addSettings, givenSettings } from './settings.js';

/** The API token from the environment, kept out of the command line that ps shows. */
const TOKEN_ENV = 'SMOOTHCERT_API_TOKEN';
import { interruptible } from './interrupt.js';
import { parse } from './options.js';

interface ServeOptions {
  runs: string;
  port: number;
  host: string;
  dataDir?: string;
  api?: boolean;
  backend?: string;
}

/** The web app, built at install time beside the compiled sources (dist/web). */
const APP = fileURLToPath(new URL('../../web/', import.meta.url));

/** `serve --api`: the certified prediction service until Ctrl-C, which drains the requests in flight (at most 30 s). */
async function serveApi(opts: ServeOptions, spec: ServiceSpec): Promise<void> {
  const token = spec.token ?? process.env[TOKEN_ENV];
  await useBackend(opts.backend);
  const service = await startApiServer({ ...spec, ...(token === undefined ? {} : { token }), host: opts.host, port: opts.port });
  const { info } = service.certifier;
  process.stdout.write(
    `smoothcert: certified predictions of ${spec.model} (σ = ${info.sigma}, input ${info.inputShape.join('×')}) at ${service.url}/v1/ (Ctrl-C stops)\n`,
  );
  if (token !== undefined) process.stderr.write('smoothcert: every request must carry Authorization: Bearer <the token>\n');
  await interruptible(
    (signal) => new Promise<void>((done) => signal.addEventListener('abort', () => done(), { once: true })),
    'answering the requests in flight, then stopping',
  );
  const answered = await service.stop(30_000);
  if (!answered) process.stderr.write('smoothcert: requests still in flight after 30 s were dropped\n');
}

async function serve(opts: ServeOptions, self: Command): Promise<void> {
  const spec = givenSettings(self, SERVICE_SETTINGS);
  if (opts.api) return serveApi(opts, spec);
  const apiOnly = Object.keys(spec);
  if (apiOnly.length > 0) throw new SettingError(apiOnly[0]!, (name) => `${apiOnly.map(name).join(', ')} configure the API; add --api`);
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
  const cmd = program
    .command('serve')
    .summary('local web UI (a dashboard of runs, a certification playground), or with --api certified predictions over HTTP')
    .description(
      'Serves the web UI on this machine: the dashboard lists the runs under --runs (training logs, certify and ' +
        'predict TSVs, models), plots training curves and certified accuracy against radius and follows runs that ' +
        'are still writing; the playground certifies an image with a chosen model in the browser (tfjs-wasm). ' +
        'With --api it serves certified predictions of --model over HTTP instead (docs/service.md)',
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
  smoothcert serve --runs runs --port 9000
  smoothcert serve --api --model runs/fmnist-cons-0.5 --port 8081`,
    )
    .option(
      '--api',
      'serve certified predictions over HTTP (POST /v1/predict, /v1/certify; GET /v1/model, /v1/openapi.json) instead of the web UI',
    );
  addSettings(cmd, SERVICE_SETTINGS).addOption(backendOption()).action(serve);
}

import { createServer } from 'node:http';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SettingError } from '../base/errors.js';
import { checkSpec, type Declarations, given, kinds, type SpecOf, withDefaults } from '../base/settings.js';
import { DATASETS, isDatasetName } from '../data/datasets.js';
import { readMeta } from '../files/model-folder.js';
import { isOnnxPath, loadClassifier } from '../loaders/classifier.js';
import { NOISE_LEVEL } from '../noise/gaussian.js';
import { PAYLOAD_VERSION } from '../queue/job.js';
import { QUEUE_SETTINGS, SMOOTHING_SETTINGS } from '../runs/smoothing-settings.js';
import { listenError, LOOPBACK } from '../serve/server.js';
import { type Certifier, createCertifier } from './certifier.js';
import { createRequestHandler, type ServiceHandler } from './http.js';

/** The settings of the certified prediction service (the serve command in API mode, startApiServer). */
export const SERVICE_SETTINGS = {
  model: {
    kind: kinds.text('<path>'),
    help: 'the base classifier: a smoothcert model folder or an .onnx file',
    required: true,
    decides: true,
  },
  sigma: { kind: NOISE_LEVEL, help: 'noise level σ of the smoothed classifier', defaultText: 'the σ the model records', decides: true },
  batch: {
    kind: kinds.integer(1, 100_000, '<size>'),
    help: 'rows per forward batch, shared by concurrent requests',
    default: 1000,
    decides: false,
  },
  precision: SMOOTHING_SETTINGS.precision,
  engine: SMOOTHING_SETTINGS.engine,
  // ONNX graphs as certify reads them: layout, normalization outside the graph, the scores' output.
  inputLayout: SMOOTHING_SETTINGS.inputLayout,
  mean: SMOOTHING_SETTINGS.mean,
  std: SMOOTHING_SETTINGS.std,
  output: SMOOTHING_SETTINGS.output,
  token: {
    kind: kinds.text('<token>'),
    help: 'bearer token every request must carry (or $SMOOTHCERT_API_TOKEN); required to bind beyond loopback',
    decides: false,
  },
  ...QUEUE_SETTINGS,
  perClient: { kind: kinds.integer(1, 10_000, '<k>'), help: 'requests one client address may have in flight', default: 64, decides: false },
  maxInFlight: {
    kind: kinds.integer(1, 100_000, '<k>'),
    help: 'requests in flight in all; beyond, 429 with Retry-After',
    default: 512,
    decides: false,
  },
} as const satisfies Declarations;

export type ServiceSpec = SpecOf<typeof SERVICE_SETTINGS> & { host?: string; port?: number };

export interface RunningService {
  url: string;
  certifier: Certifier;
  handler: ServiceHandler;
  /** Stops taking requests, waits up to `ms` for those in flight, closes; resolves whether all were answered. */
  stop(ms: number): Promise<boolean>;
}

/**
 * Loads the model and serves the certified prediction API (service/http.ts) on host:port
 * (default 127.0.0.1, any free port). Loopback unless a token is given: without one, a
 * non-loopback address is refused. Choose the backend first (initBackend).
 */
export async function startApiServer(spec: ServiceSpec): Promise<RunningService> {
  const { host = '127.0.0.1', port = 0, ...asked } = spec;
  checkSpec(SERVICE_SETTINGS, asked);
  const settings = withDefaults(SERVICE_SETTINGS, asked);
  if (settings.model === undefined)
    throw new SettingError('model', (name) => `${name('model')} is required: ${SERVICE_SETTINGS.model.help}`);
  if (!LOOPBACK.has(host) && settings.token === undefined) {
    throw new SettingError(
      'token',
      (name) => `binding ${host} exposes the service beyond this machine; give ${name('token')} (bearer authentication) or bind 127.0.0.1`,
    );
  }
  const model = settings.model;
  const meta = isOnnxPath(model) ? undefined : readMeta(model);
  const onnx = given({ inputLayout: settings.inputLayout, mean: settings.mean, std: settings.std, output: settings.output });
  const loaded = await loadClassifier(model, meta?.inputShape, meta?.dataset, {
    ...onnx,
    precision: settings.precision,
    engine: settings.engine,
  });
  const sigma = settings.sigma ?? loaded.trainedSigma;
  if (sigma === undefined) {
    throw new SettingError(
      'sigma',
      (name) => `${name('sigma')} is required: the model ${model} does not record the noise level it was trained with`,
    );
  }
  const classNames = meta && isDatasetName(meta.dataset) ? DATASETS[meta.dataset].classNames : undefined;
  const { batch, chunk } = settings;
  if (asked.chunk !== undefined && settings.queue === undefined) {
    throw new SettingError('chunk', (name) => `${name('chunk')} applies with a queue only; add ${name('queue')}`);
  }
  // A queue connects first: an unreachable Redis fails within seconds. bullmq loads only then.
  const queue =
    settings.queue === undefined
      ? undefined
      : await (await import('../queue/coordinator.js')).QueueCounts.open(
          settings.queue,
          {
            v: PAYLOAD_VERSION,
            run: 'service',
            model: {
              path: resolve(model),
              fingerprint: loaded.fingerprint,
              ...onnx,
              ...(loaded.inputLayout ? { inputLayout: loaded.inputLayout } : {}),
              ...(settings.precision === 'bf16' ? { precision: 'bf16' as const } : {}),
              ...(settings.engine === 'auto' ? {} : { engine: settings.engine }),
            },
            sigma,
            seed: 0,
            batch,
            // Whole batches aligned in the stream, as a single process computes them.
            whole: true,
          },
          { chunk, numClasses: loaded.base.numClasses, notify: (m) => process.stderr.write(`${m}\n`) },
        );
  const certifier = createCertifier(
    loaded.base,
    { sigma, batch, ...(queue ? { queue: { counts: queue, chunk } } : {}) },
    { ...(meta ? { arch: meta.arch, dataset: meta.dataset } : {}), ...(classNames ? { classNames } : {}) },
  );
  const handler = createRequestHandler(certifier, {
    ...(settings.token === undefined ? {} : { token: settings.token }),
    checkHost: LOOPBACK.has(host),
    perClient: settings.perClient,
    maxInFlight: settings.maxInFlight,
  });
  // Slow clients cannot hold a connection open without end.
  const server = createServer({ requestTimeout: 660_000, headersTimeout: 10_000 }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(listenError(e, port, host)));
    server.listen(port, host, resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    certifier,
    handler,
    async stop(ms) {
      const answered = await handler.drain(ms);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await queue?.close();
      loaded.base.dispose?.();
      return answered;
    },
  };
}

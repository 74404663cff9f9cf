import { createReadStream, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { SettingError, UserError } from '../base/errors.js';
import type { RunsResponse } from './api.js';
import { fileInside, PathRefused } from './paths.js';
import { RunLister } from './runs.js';
import { SampleStore } from './samples.js';

export interface ServeOptions {
  /** The runs folder: the only place files are served from. */
  runs: string;
  port: number;
  host: string;
  /** The built web app (dist/web): index.html and assets/. */
  app: string;
  /** Where datasets are read from for the playground's test images (as the dataDir of the other commands). */
  dataDir?: string;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.tsv': 'text/tab-separated-values; charset=utf-8',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};
/** Why the server could not listen, in one line for the common causes. */
export function listenError(e: NodeJS.ErrnoException, port: number, host: string): Error {
  switch (e.code) {
    case 'EADDRINUSE':
      return new SettingError('port', (name) => `port ${port} on ${host} is in use; choose another with ${name('port')}`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return new SettingError(
        'host',
        (name) => `${name('host')} ${host} is not a name this machine can resolve; give an address such as 127.0.0.1`,
      );
    case 'EADDRNOTAVAIL':
      return new SettingError(
        'host',
        (name) => `${name('host')} ${host} is not an address of this machine; give one of its own (127.0.0.1 for this machine only)`,
      );
    case 'EACCES':
      return new SettingError(
        'port',
        (name) => `port ${port} needs privileges this process lacks; choose a port above 1023 with ${name('port')}`,
      );
    default:
      return e;
  }
}

/** Asset names are flat (no folders), so a name can never walk out of the assets folder. */
const ASSET_NAME = /^[\w-]+(\.[\w-]+)+$/;
/** Host names and addresses that only this machine reaches. */
export const LOOPBACK: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * The dashboard's server: GET only, on a fixed set of routes —
 *   /                  the page          /assets/NAME          its scripts, styles and tfjs-wasm binaries
 *   /api/runs          runs and files    /api/samples/DATASET  test images for the playground
 *   /files/PATH        a file under the runs folder (logs, TSVs, model folders), never outside it.
 * Bound to a loopback address it also refuses requests naming another host, so a web page elsewhere
 * cannot reach it through DNS rebinding.
 */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  if (!existsSync(join(opts.app, 'index.html'))) {
    throw new UserError(`the web app is not built (${opts.app} has no index.html); run 'npm run build' in the smoothcert folder`);
  }
  const lister = new RunLister(opts.runs);
  const samples = new SampleStore(opts.dataDir);
  const checkHost = LOOPBACK.has(opts.host);
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => sendJson(res, 500, { error: (e as Error).message }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.method !== 'GET') {
      res.setHeader('Allow', 'GET');
      return sendJson(res, 405, { error: `${req.method} is not served; this server answers GET only` });
    }
    if (checkHost && !LOOPBACK.has(hostName(req.headers.host))) return sendJson(res, 403, { error: 'unexpected Host header' });
    // The raw path: decoding is left to fileInside so that an encoded '/' cannot slip past a route match.
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/' || path === '/index.html') return sendFile(res, join(opts.app, 'index.html'));
    const asset = /^\/assets\/([^/]+)$/.exec(path)?.[1];
    if (asset !== undefined) {
      return ASSET_NAME.test(asset) && existsSync(join(opts.app, 'assets', asset))
        ? sendFile(res, join(opts.app, 'assets', asset), 'public, max-age=60')
        : sendJson(res, 404, { error: `no asset ${asset}` });
    }
    if (path === '/api/runs') return sendJson(res, 200, { root: opts.runs, runs: await lister.list() } satisfies RunsResponse);
    const dataset = /^\/api\/samples\/([\w-]+)$/.exec(path)?.[1];
    if (dataset !== undefined) {
      const pending = samples.get(dataset);
      if (pending === undefined) return sendJson(res, 404, { error: `no test images for dataset '${dataset}'` });
      try {
        return sendJson(res, 200, await pending);
      } catch (e) {
        return sendJson(res, 404, { error: (e as Error).message });
      }
    }
    if (path.startsWith('/files/')) {
      try {
        return sendFile(res, fileInside(opts.runs, path.slice('/files/'.length)));
      } catch (e) {
        if (e instanceof PathRefused) return sendJson(res, e.status, { error: e.message });
        throw e;
      }
    }
    return sendJson(res, 404, { error: `no route ${path}` });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(listenError(e, opts.port, opts.host)));
    server.listen(opts.port, opts.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          void lister.close().then(resolve);
        });
        server.closeAllConnections();
      }),
  };
}

/** The host name of a Host header, without the port. */
export function hostName(header: string | undefined): string {
  if (header === undefined) return '';
  return header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.split(':')[0]!;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

function sendFile(res: ServerResponse, file: string, cache = 'no-store'): void {
  const stream = createReadStream(file);
  stream.once('open', () => {
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': cache });
    stream.pipe(res);
  });
  stream.once('error', (e) => (res.headersSent ? res.destroy() : sendJson(res, 404, { error: `cannot read ${file}: ${e.message}` })));
}

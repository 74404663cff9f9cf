import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SettingError, UserError } from '../base/errors.js';
import { hostName, LOOPBACK } from '../serve/server.js';
import { NonFiniteLogitsError } from '../smoothing/classifier.js';
import type { Answer, Certifier } from './certifier.js';
import { openApiDocument } from './openapi.js';
import type { CertifyRequest } from './request.js';

export interface HandlerOptions {
  /** Bearer token every request must carry; none: no authentication (loopback only). */
  token?: string;
  /** Refuse requests whose Host header names another machine (DNS rebinding): on whenever bound to loopback. */
  checkHost: boolean;
  /** Largest request body in bytes (default: the model's input as JSON numbers of up to 24 characters, plus 64 KiB). */
  maxBodyBytes?: number;
  /** Requests one client (remote address) may have in flight (default 64). */
  perClient?: number;
  /** Requests in flight in all, beyond which new ones get 429 (default 512). */
  maxInFlight?: number;
}

/** A `node:http` request handler, usable from Express or Fastify too, and what a graceful stop needs. */
export interface ServiceHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Requests being answered now. */
  readonly inFlight: () => number;
  /** Refuse new requests (503) and resolve once those in flight are answered, or after `ms`. */
  drain(ms: number): Promise<boolean>;
}

/** A request the client got wrong: its status and one sentence. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const ROUTES: Record<string, string> = {
  '/v1/predict': 'POST',
  '/v1/certify': 'POST',
  '/v1/model': 'GET',
  '/v1/health': 'GET',
  '/v1/openapi.json': 'GET',
};

/**
 * The certified prediction API over a Certifier: POST /v1/predict and /v1/certify take JSON
 * ({"image": [...]} or {"png": "<base64>"}, and the question's settings), GET /v1/model,
 * /v1/health and /v1/openapi.json describe it. Every error is JSON with a 4xx (or 5xx) status and
 * one sentence. Bounded: body size, per-client and total requests in flight (429 and Retry-After
 * beyond), sample counts and deadlines (service/request.ts); no request reads a file.
 */
export function createRequestHandler(certifier: Certifier, options: HandlerOptions): ServiceHandler {
  const [h, w, c] = certifier.info.inputShape;
  // Bounded by the model's input: many requests in flight cannot add up to an unbounded allocation.
  const maxBody = options.maxBodyBytes ?? 24 * h * w * c + 64 * 1024;
  const perClient = options.perClient ?? 64;
  const maxInFlight = options.maxInFlight ?? 512;
  const tokenDigest = options.token === undefined ? undefined : createHash('sha256').update(options.token).digest();
  const clients = new Map<string, number>();
  let inFlight = 0;
  let draining = false;
  let idle: (() => void) | undefined;

  const authorized = (req: IncomingMessage): boolean => {
    if (tokenDigest === undefined) return true;
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    // Digests of equal length, compared in constant time: the token's length and bytes stay secret.
    return timingSafeEqual(createHash('sha256').update(given).digest(), tokenDigest);
  };

  const answer = async (req: IncomingMessage, path: string): Promise<unknown> => {
    switch (path) {
      case '/v1/model':
        return certifier.info;
      case '/v1/health':
        return { status: draining ? 'draining' : 'ok', inFlight, ...certifier.stats() };
      case '/v1/openapi.json':
        return openApiDocument(certifier.info);
    }
    const body = await readJson(req, maxBody);
    const request = pngAsBytes(body) as unknown as CertifyRequest;
    const result: Answer = path === '/v1/predict' ? await certifier.predict(request) : await certifier.certify(request);
    return result;
  };

  const handler = ((req: IncomingMessage, res: ServerResponse) => {
    const client = req.socket.remoteAddress ?? '';
    let counted = false;
    const finish = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      if (counted) {
        counted = false;
        inFlight--;
        const left = (clients.get(client) ?? 1) - 1;
        if (left === 0) clients.delete(client);
        else clients.set(client, left);
        if (inFlight === 0) idle?.();
      }
      if (res.headersSent || res.destroyed) return;
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
      res.end(JSON.stringify(body));
    };
    const fail = (e: unknown) => {
      if (e instanceof HttpError) return finish(e.status, { error: e.message }, e.headers);
      if (e instanceof NonFiniteLogitsError) return finish(500, { error: e.message });
      // Settings name the request's own fields (their keys): the caller's words.
      if (e instanceof SettingError || e instanceof UserError) return finish(400, { error: e.message });
      process.stderr.write(`smoothcert: error answering ${req.method} ${req.url}: ${e instanceof Error ? e.stack : String(e)}\n`);
      return finish(500, { error: 'internal error; the server logged it' });
    };
    try {
      if (options.checkHost && !LOOPBACK.has(hostName(req.headers.host))) throw new HttpError(403, 'unexpected Host header');
      // The raw path up to any query: a URL parser would read '//x' as a host.
      const path = (req.url ?? '/').split('?')[0]!;
      const method = ROUTES[path];
      if (method === undefined) throw new HttpError(404, `no such endpoint ${path}; see GET /v1/openapi.json`);
      if (req.method !== method) throw new HttpError(405, `${path} takes ${method}, not ${req.method}`, { Allow: method });
      if (!authorized(req)) throw new HttpError(401, 'missing or wrong bearer token', { 'WWW-Authenticate': 'Bearer' });
      if (draining) throw new HttpError(503, 'the server is stopping', { 'Retry-After': '1' });
      if (method === 'POST') {
        if (inFlight >= maxInFlight) throw new HttpError(429, `${inFlight} requests are in flight; retry later`, { 'Retry-After': '1' });
        if ((clients.get(client) ?? 0) >= perClient) {
          throw new HttpError(429, `this client has ${perClient} requests in flight already; retry later`, { 'Retry-After': '1' });
        }
        counted = true;
        inFlight++;
        clients.set(client, (clients.get(client) ?? 0) + 1);
      }
      answer(req, path).then((body) => finish(200, body), fail);
    } catch (e) {
      // The body of a refused request is not read: drop the connection after the answer.
      res.setHeader('Connection', 'close');
      fail(e);
    }
  }) as ServiceHandler;
  Object.defineProperty(handler, 'inFlight', { value: () => inFlight });
  handler.drain = (ms: number) => {
    draining = true;
    if (inFlight === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      idle = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  };
  return handler;
}

/** The request body as a JSON object, at most `limit` bytes. */
async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw new HttpError(413, `the body is ${declared} bytes; at most ${limit} are accepted`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `the body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not JSON; send {"image": [...]} or {"png": "<base64>"} and the settings');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'the body must be a JSON object such as {"image": [...], "radius": 0.5}');
  }
  return body as Record<string, unknown>;
}

/** The body with a base64 "png" as its bytes; the certifier decodes it to the model's input. */
function pngAsBytes(body: Record<string, unknown>): Record<string, unknown> {
  if (body.png === undefined) return body;
  if (typeof body.png !== 'string') throw new HttpError(400, 'png must be a base64 string of the PNG file');
  return { ...body, png: Buffer.from(body.png, 'base64') };
}

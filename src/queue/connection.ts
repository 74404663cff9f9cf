import { Queue, type RedisOptions } from 'bullmq';
import { UserError } from '../errors.js';
import { QUEUE_NAME } from './job.js';

/** How long a coordinator or worker waits for Redis at start before giving up with a clear error. */
const CONNECT_TIMEOUT_MS = 3000;

/**
 * ioredis options from `redis://[user:password@]host:port[/db]` (rediss:// for TLS). After the
 * first contact a lost connection is retried for ever (maxRetriesPerRequest null, BullMQ's
 * requirement for workers): a Redis restart pauses a run instead of ending it.
 */
export function redisOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`--queue ${url} is not a URL; give redis://HOST:PORT`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UserError(`--queue ${url} is not a redis:// URL; give redis://HOST:PORT`);
  if (u.hostname === '') throw new UserError(`--queue ${url} names no host; give redis://HOST:PORT`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new UserError(`--queue ${url}: the database number "${u.pathname.slice(1)}" is not an integer ≥ 0`);
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port === '' ? 6379 : Number(u.port),
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    connectTimeout: CONNECT_TIMEOUT_MS,
  };
}

/** `url` without its password, for messages and logs. */
export function displayUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/**
 * Opens the queue and checks within CONNECT_TIMEOUT_MS that Redis answers: ioredis would
 * otherwise retry an unreachable server for ever and the run would hang silently. Connection
 * errors after that are reported through `warn`, once per outage.
 */
export async function openQueue(url: string, warn: (message: string) => void): Promise<Queue> {
  let reachedOnce = false;
  const began = Date.now();
  // ioredis's default, except that before the first contact it gives up with the timeout
  // (otherwise the client would keep reconnecting, and closing it would wait for ever).
  const retryStrategy = (times: number) => (reachedOnce || Date.now() - began < CONNECT_TIMEOUT_MS ? Math.min(times * 50, 2000) : null);
  const queue = new Queue(QUEUE_NAME, { connection: { ...redisOptions(url), retryStrategy } });
  let lastError: Error | undefined;
  let outage = false;
  queue.on('error', (e: Error) => {
    lastError = e;
    if (!outage && reachedOnce) warn(`smoothcert: lost the connection to Redis at ${displayUrl(url)} (${e.message}); waiting for it to come back`);
    outage = true;
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), CONNECT_TIMEOUT_MS); });
  try {
    // Ready means connected, and BullMQ has checked the server's version.
    const answer = await Promise.race([queue.waitUntilReady(), timeout]);
    if (answer === 'timeout') {
      throw new UserError(`cannot reach Redis at ${displayUrl(url)} within ${CONNECT_TIMEOUT_MS / 1000} s`
        + `${lastError ? ` (${lastError.message})` : ''}; start redis-server there or check --queue`);
    }
  } catch (e) {
    await Promise.race([queue.disconnect().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    if (e instanceof UserError) throw e;
    throw new UserError(`Redis at ${displayUrl(url)} cannot serve the queue: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  reachedOnce = true;
  const client = await queue.client;
  client.on('ready', () => {
    if (outage) warn(`smoothcert: reconnected to Redis at ${displayUrl(url)}`);
    outage = false;
  });
  return queue;
}

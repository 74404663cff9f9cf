import { Queue, type RedisOptions } from 'bullmq';
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { SettingError, UserError } from '../base/errors.js';
import { QUEUE_NAME } from './job.js';

/** How long a coordinator or worker waits for Redis at start before giving up with a clear error. */
const CONNECT_TIMEOUT_MS = 3000;

/**
 * ioredis options from `redis://[user:password@]host:port[/db]` (rediss:// for TLS). After the
 * first contact a lost connection is retried for ever (maxRetriesPerRequest null, BullMQ's
 * requirement for workers): a Redis restart pauses a run instead of ending it.
 */
export function redisOptions(url: string, env: NodeJS.ProcessEnv = process.env): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SettingError('queue', (name) => `${name('queue')} ${url} is not a URL; give redis://HOST:PORT`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new SettingError('queue', (name) => `${name('queue')} ${url} is not a redis:// URL; give redis://HOST:PORT`);
  if (u.hostname === '') throw new SettingError('queue', (name) => `${name('queue')} ${url} names no host; give redis://HOST:PORT`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0)
    throw new SettingError(
      'queue',
      (name) => `${name('queue')} ${url}: the database number "${u.pathname.slice(1)}" is not an integer ≥ 0`,
    );
  const password = u.password ? decodeURIComponent(u.password) : passwordFromEnv(env);
  const ca = env[REDIS_ENV.caFile];
  if (ca !== undefined && u.protocol !== 'rediss:')
    throw new SettingError(
      'queue',
      (name) => `${REDIS_ENV.caFile} is set but ${name('queue')} ${displayUrl(url)} is not rediss:// (TLS); use rediss://HOST:PORT`,
    );
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port === '' ? 6379 : Number(u.port),
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(password === undefined ? {} : { password }),
    ...(u.protocol === 'rediss:' ? { tls: ca === undefined ? {} : { ca: readSecretFile(ca, REDIS_ENV.caFile) } } : {}),
    maxRetriesPerRequest: null,
    connectTimeout: CONNECT_TIMEOUT_MS,
  };
}

/**
 * Where the Redis password and TLS CA can come from besides the URL, which `ps` and unit files
 * show: an environment variable, or a file named by one (a systemd credential, say).
 */
export const REDIS_ENV = {
  password: 'SMOOTHCERT_REDIS_PASSWORD',
  passwordFile: 'SMOOTHCERT_REDIS_PASSWORD_FILE',
  caFile: 'SMOOTHCERT_REDIS_CA_FILE',
} as const;

function passwordFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const file = env[REDIS_ENV.passwordFile];
  if (file !== undefined)
    return readSecretFile(file, REDIS_ENV.passwordFile)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  return env[REDIS_ENV.password] || undefined;
}

function readSecretFile(path: string, variable: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UserError(
      `${variable}=${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give a readable file`,
    );
  }
}

/**
 * Why a first contact failed, told apart: a password refused or missing, a TLS handshake that
 * failed, or no server at all. One line each, saying how to fix it.
 */
function contactError(url: string, e: Error | undefined, timeoutS: number): UserError {
  const where = displayUrl(url);
  const message = e?.message ?? '';
  const code = (e as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (/WRONGPASS|invalid password|invalid username-password/i.test(message)) {
    return new UserError(
      `Redis at ${where} refused the password (${message}); give the right one in the URL, ${REDIS_ENV.password} or ${REDIS_ENV.passwordFile}`,
    );
  }
  if (/NOAUTH|Authentication required/i.test(message)) {
    return new UserError(
      `Redis at ${where} needs a password; give it in the URL (redis://:PASSWORD@HOST:PORT), ${REDIS_ENV.password} or ${REDIS_ENV.passwordFile}`,
    );
  }
  if (
    /CERT|SSL|TLS|certificate|self[- ]signed|handshake/i.test(`${code} ${message}`) ||
    (url.startsWith('rediss:') && /ECONNRESET|socket disconnected/i.test(`${code} ${message}`))
  ) {
    return new UserError(
      `the TLS connection to Redis at ${where} failed (${message || code}); give its CA with ${REDIS_ENV.caFile}, or use redis:// if that server does not speak TLS`,
    );
  }
  return new SettingError(
    'queue',
    (name) =>
      `cannot reach Redis at ${where} within ${timeoutS} s${message ? ` (${message})` : ''}; start redis-server there or check ${name('queue')}`,
  );
}

/** Whether host:port accepts a TCP connection within a second. */
function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
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
    if (!outage && reachedOnce)
      warn(`smoothcert: lost the connection to Redis at ${displayUrl(url)} (${e.message}); waiting for it to come back`);
    outage = true;
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), CONNECT_TIMEOUT_MS);
  });
  try {
    // Ready means connected, and BullMQ has checked the server's version.
    const answer = await Promise.race([queue.waitUntilReady(), timeout]);
    if (answer === 'timeout') {
      // A TLS client at a plain-text Redis waits for a handshake that never comes: a timeout like
      // an unreachable host's, told apart by whether the port takes a plain TCP connection.
      const tls = url.startsWith('rediss:') && (await tcpOpen(redisOptions(url).host!, redisOptions(url).port!));
      throw contactError(url, tls ? new Error('no TLS handshake: is the server plain redis://?') : lastError, CONNECT_TIMEOUT_MS / 1000);
    }
  } catch (e) {
    await Promise.race([queue.disconnect().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    if (e instanceof UserError) throw e;
    const told = contactError(url, e as Error, CONNECT_TIMEOUT_MS / 1000);
    if (!told.message.startsWith('cannot reach')) throw told;
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

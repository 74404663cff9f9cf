import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';

/** Debian's redis-server (`.ci/run` installs it); tests that need it are skipped with this reason when it is absent. */
export const REDIS_SERVER = '/usr/bin/redis-server';
export const redisMissing = existsSync(REDIS_SERVER) ? false : `${REDIS_SERVER} is not installed (apt-get install redis-server)`;

/** A loopback TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A redis-server on 127.0.0.1:`port` keeping its data only in an append-only file in `dir`
 * (no RDB snapshots), as the README advises: a server started again on the same folder
 * reloads the queue from it.
 */
export class TestRedis {
  private child: ChildProcess | undefined;
  private log = '';

  /** `extra`: more redis-server arguments (say --requirepass). */
  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly extra: string[] = [],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server and resolves once it answers PING (after loading its AOF). */
  async start(): Promise<void> {
    this.child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--dir',
        this.dir,
        '--maxmemory-policy',
        'noeviction',
        ...this.extra,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout!.on('data', (d: Buffer) => {
      this.log += d.toString();
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.log += d.toString();
    });
    const deadline = Date.now() + 10_000;
    while (!(await ping(this.port))) {
      if (this.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`redis-server did not start on port ${this.port}:\n${this.log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Stops the server with `signal` (SIGKILL: a crash; what the AOF has is what comes back). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }
}

/** True when a Redis on `port` answers PING with PONG (not while it is still loading its data). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      // A server that wants a password answers -NOAUTH: it is up all the same.
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
  });
}

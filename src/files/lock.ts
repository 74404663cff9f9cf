import { existsSync, mkdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { UserError } from '../base/errors.js';
import { writeFileAtomic } from './atomic.js';

/** Who holds a lock: written beside it, so a refused process can name the holder. */
interface Owner {
  pid: number;
  host: string;
  command: string;
  since: string;
}

/** Releases a held lock; safe to call more than once. */
export type ReleaseLock = () => void;

/**
 * proper-lockfile refreshes the lock's mtime every `update` ms from a timer; another process
 * treats a lock older than `stale` as abandoned. Compute loops yield between batches, but one
 * batch of a large network can take seconds, so the threshold is generous; a dead holder on
 * this machine is recognized at once by its pid instead (see takeOverIfDead).
 */
const STALE_MS = 120_000;
const UPDATE_MS = 10_000;

/**
 * Takes the exclusive lock of output `path` (a result file or a run folder) for the life of the
 * process: a second process asking for it gets a UserError naming the holder's pid. The lock is
 * `path`.lock (a directory, created atomically by mkdir); `path`.lock.json names its owner. A lock
 * left by a process that died on this machine is taken over, with a message on stderr. The lock
 * is released by the returned function and, failing that, when the process exits.
 */
export function lockOutput(path: string, what: string, warn: (m: string) => void = (m) => process.stderr.write(`${m}\n`)): ReleaseLock {
  const lockPath = `${path}.lock`;
  const ownerPath = `${lockPath}.json`;
  mkdirSync(dirname(path), { recursive: true });
  const options = {
    realpath: false,
    lockfilePath: lockPath,
    stale: STALE_MS,
    update: UPDATE_MS,
    // A lock can be lost only if its mtime could not be refreshed for STALE_MS (the event loop
    // blocked that long, or the file system failed): say so rather than crash mid-run.
    onCompromised: (err: Error) =>
      warn(`smoothcert: warning: the lock on ${path} was lost (${err.message}); make sure no other process writes it`),
  };
  let release: () => void;
  try {
    release = lockfile.lockSync(path, options);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    const owner = readOwner(ownerPath);
    if (owner === undefined || !takeOverIfDead(owner, lockPath, ownerPath, path, warn)) {
      const holder =
        owner === undefined ? 'another process' : `process ${owner.pid} on ${owner.host} (${owner.command}, since ${owner.since})`;
      throw new UserError(`${what} ${path} is in use by ${holder}; wait for it to finish or stop it, or choose another output`);
    }
    release = lockfile.lockSync(path, options);
  }
  const owner: Owner = {
    pid: process.pid,
    host: hostname(),
    command: process.argv.slice(1, 3).join(' ') || 'node',
    since: new Date().toISOString(),
  };
  writeFileAtomic(ownerPath, `${JSON.stringify(owner)}\n`);
  let held = true;
  const onExit = () => unlock();
  function unlock(): void {
    if (!held) return;
    held = false;
    process.removeListener('exit', onExit);
    try {
      unlinkSync(ownerPath);
    } catch {
      /* already gone */
    }
    try {
      release();
    } catch {
      /* the lock was taken over or removed by hand */
    }
  }
  process.on('exit', onExit);
  return unlock;
}

function readOwner(ownerPath: string): Owner | undefined {
  try {
    const o = JSON.parse(readFileSync(ownerPath, 'utf8')) as Owner;
    return Number.isInteger(o.pid) && typeof o.host === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the lock of a holder that is no longer alive on this machine; false when it may be alive. */
function takeOverIfDead(owner: Owner, lockPath: string, ownerPath: string, path: string, warn: (m: string) => void): boolean {
  if (owner.host !== hostname() || isAlive(owner.pid)) return false;
  warn(`smoothcert: taking over the lock on ${path} left by process ${owner.pid}, which is no longer running`);
  rmSync(lockPath, { recursive: true, force: true });
  if (existsSync(ownerPath)) rmSync(ownerPath, { force: true });
  return true;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

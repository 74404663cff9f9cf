import { lstatSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { SettingError, UserError } from '../base/errors.js';

/** Kernel and device trees: a path in them is never a place for results, whatever it names. */
const SYSTEM_TREES = ['/dev', '/proc', '/sys'];

function inSystemTree(path: string): string | undefined {
  return SYSTEM_TREES.find((tree) => path === tree || path.startsWith(`${tree}${sep}`));
}

function what(s: Stats): string {
  if (s.isDirectory()) return 'a folder';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The path an output named `path` is written at: `path` itself, or the file a symlink there
 * points to (followed, never replaced). Refused with one line, before anything is read or
 * written: `-` (outputs are files; standard output is not resumable or lockable), paths in
 * /dev, /proc and /sys, and anything that exists but is not a regular file (`kind` 'file') or a
 * folder (`kind` 'folder'): devices, FIFOs and sockets would be replaced by the atomic rename
 * or block the resume check reading them. `key` is the setting that names this output, for messages (none: "output").
 */
export function outputTarget(path: string, kind: 'file' | 'folder', key?: string): string {
  const refuse = (say: (name: string) => string) =>
    key === undefined ? new UserError(say('output')) : new SettingError(key, (name) => say(name(key)));
  if (path === '-')
    throw refuse(
      (name) => `${name} -: smoothcert writes its results to a file it can lock and resume, not to standard output; give a file name`,
    );
  if (path === '') throw refuse((name) => `${name} is empty; give a ${kind === 'file' ? 'file name' : 'folder'}`);
  let target = resolve(path);
  // A chain of symlinks is followed to its end (a dangling one names the file it will create).
  for (let hops = 0; ; hops++) {
    const tree = inSystemTree(target);
    if (tree !== undefined)
      throw refuse(
        (name) => `${name} ${path} is in ${tree}, which holds devices and kernel files, not results; give a regular file elsewhere`,
      );
    let s: Stats;
    try {
      s = lstatSync(target);
    } catch {
      break; // does not exist yet: created as a regular file or folder
    }
    if (!s.isSymbolicLink()) {
      const ok = kind === 'file' ? s.isFile() : s.isDirectory();
      if (!ok) {
        throw refuse(
          (name) =>
            `${name} ${path}${target === resolve(path) ? '' : ` (→ ${target})`} is ${what(s)}; ` +
            `give ${kind === 'file' ? 'the name of a regular file' : 'a folder'} (new or existing) instead`,
        );
      }
      break;
    }
    if (hops >= 40) throw refuse((name) => `${name} ${path} is a loop of symbolic links; give a regular ${kind}`);
    target = resolve(dirname(target), readlinkSync(target));
  }
  // The folder it lands in, after its own symlinks, must not be a system tree either.
  let parent = dirname(target);
  while (true) {
    try {
      parent = realpathSync(parent);
      break;
    } catch {
      if (dirname(parent) === parent) break;
      parent = dirname(parent);
    }
  }
  const tree = inSystemTree(parent);
  if (tree !== undefined)
    throw refuse(
      (name) => `${name} ${path} is in ${tree}, which holds devices and kernel files, not results; give a regular file elsewhere`,
    );
  return target;
}

/** Whether `path` still names the file whose fstat was `opened` (the same inode on the same device). */
export function sameFile(path: string, opened: Stats): boolean {
  try {
    const now = statSync(path);
    return now.ino === opened.ino && now.dev === opened.dev;
  } catch {
    return false;
  }
}

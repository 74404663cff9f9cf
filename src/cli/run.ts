import '@tensorflow/tfjs-backend-cpu';
import { CommanderError } from 'commander';
import { SettingError, UserError } from '../base/errors.js';
import { buildProgram } from './main.js';
import { flagOf } from './settings.js';

/** Entry point of the binary: user errors (usage errors too) become one clear line and exit status 2. */
export async function run(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    // A usage error (unknown flag, a value against its rule) is a user error too: commander has
    // printed its one line; help and version end with status 0.
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    // A library error names settings by key; here they become the flags the user typed.
    const message = err instanceof SettingError ? err.describe(flagOf) : err instanceof UserError ? err.message : systemErrorMessage(err);
    if (message !== undefined) {
      process.stderr.write(`smoothcert: error: ${message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** What to tell the user about a failed system call, or undefined for errors that are bugs (shown with their stack). */
function systemErrorMessage(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException;
  const where = e.path === undefined ? '' : ` (${e.path})`;
  switch (e?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return `the disk is full${where}; free some space and rerun the same command: finished results are kept and the run resumes`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied${where}; choose an output you can write, or fix the permissions`;
    case 'EROFS':
      return `the file system is read-only${where}; choose another output`;
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EEXIST': // mkdir of a folder where a file stands
      return `a path is a file where a folder is needed, or the reverse${where}; check --out and the paths you gave`;
    case 'EMFILE':
    case 'ENFILE':
      return `too many open files${where}; raise the limit (ulimit -n) and rerun`;
    default:
      return err instanceof RangeError && /Array buffer allocation failed|Invalid typed array length|Invalid array length/.test(err.message)
        ? `out of memory (${err.message}); use a smaller --batch`
        : undefined;
  }
}

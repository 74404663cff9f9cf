import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { outputTarget } from './output-path.js';

/**
 * Writes a file so that readers see either the old or the new content, never a torn one:
 * write a temporary file beside it, flush it to disk, then rename over the target.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  // A symlink is followed (its target is replaced, not the link); a device, FIFO, socket or a
  // path in /dev, /proc or /sys is refused before anything is written (output-path.ts).
  const target = outputTarget(path, 'file');
  // A fixed temporary name: a file left by a killed writer is simply overwritten next time.
  const tmp = join(dirname(target), `.${basename(target)}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (err) {
    // A full disk or a failed rename leaves no temporary file behind; the target is untouched.
    rmSync(tmp, { force: true });
    throw err;
  }
}

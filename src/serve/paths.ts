import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** Why a requested path is not served: 403 when it leads outside the root, 404 when there is nothing. */
export class PathRefused extends Error {
  constructor(
    readonly status: 403 | 404,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The real path of the regular file `requested` (URL-decoded, relative to `root`), provided it lies
 * inside `root` once every symlink is resolved; otherwise PathRefused. Decoding happens once, here,
 * so `..%2f` is a `../` like any other; checking the real path (not the string) also refuses a
 * symlink inside the root that leads out of it.
 */
export function fileInside(root: string, requested: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(requested);
  } catch {
    throw new PathRefused(404, 'malformed path');
  }
  if (decoded.includes('\0') || isAbsolute(decoded)) throw new PathRefused(403, 'the path leads outside the runs folder');
  const realRoot = realpathSync(root);
  if (!inside(realRoot, resolve(realRoot, decoded))) throw new PathRefused(403, 'the path leads outside the runs folder');
  let real: string;
  try {
    real = realpathSync(resolve(realRoot, decoded));
  } catch {
    throw new PathRefused(404, `no file ${decoded} in the runs folder`);
  }
  if (!inside(realRoot, real)) throw new PathRefused(403, 'the path leads outside the runs folder');
  if (!statSync(real).isFile()) throw new PathRefused(404, `${decoded} is not a file`);
  return real;
}

/** Whether `path` is `root` or lies below it (both absolute, resolved). */
export function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

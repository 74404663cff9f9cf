import { spawn } from 'node:child_process';

/**
 * Runs `body` while `count` processes spin at 100 % of a core each: a loaded machine, on which
 * anything chosen by timing (a kernel, a batch) would come out differently than on a quiet one.
 */
export async function underLoad<T>(count: number, body: () => Promise<T>): Promise<T> {
  const loops = Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  try {
    return await body();
  } finally {
    await Promise.all(
      loops.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) resolve();
            else {
              p.once('exit', () => resolve());
              p.kill('SIGKILL');
            }
          }),
      ),
    );
  }
}

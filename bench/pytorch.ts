import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../bench/pytorch_train.py', import.meta.url));
const BLAS_LINK = '/etc/alternatives/libblas.so.3-x86_64-linux-gnu';

let python: string | null | undefined;

/** A Python with PyTorch: $PYTHON, else python3 on the PATH, else Debian's (python3-torch); null when none. */
export function pythonWithTorch(): string | null {
  if (python !== undefined) return python;
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => p !== undefined);
  python = candidates.find((py) => spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) ?? null;
  return python;
}

/** The BLAS that Debian's torch links to through the alternatives system (OpenBLAS makes it ~3× faster). */
export function debianBlas(): string {
  return existsSync(BLAS_LINK) ? realpathSync(BLAS_LINK) : 'unknown';
}

/**
 * glibc malloc settings for the PyTorch peer. By default glibc serves blocks above a threshold
 * that it adapts as the process frees memory with fresh mmap()s, so a PyTorch step may fault in
 * and zero hundreds of MB of activations anew each time, or not, depending on the order of its
 * first frees: ResNet-20 training measured 230–800 noisy samples/s across identical processes.
 * A fixed 32 MiB threshold and no trimming keep those blocks in the heap; the same processes
 * then ran at 680–730. smoothcert's backend recycles its own buffers (NativeBackend.alloc), so
 * the setting does not change its rate (measured 652–683 with, 637–672 without).
 */
export const PYTORCH_MALLOC = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=17179869184';

/** One round of bench/pytorch_train.py (consistency training of `arch`, `batch` noisy samples per step, m copies). */
export function pytorchTraining(arch: string, batch: number, m: number, seconds: number): Record<string, unknown> {
  const py = pythonWithTorch();
  if (py === null) return { skipped: 'no python3 with PyTorch (Debian: apt-get install python3-torch libopenblas0-pthread)' };
  const r = spawnSync(py, [SCRIPT, arch, String(batch), String(m), String(seconds)], {
    encoding: 'utf8',
    env: { ...process.env, GLIBC_TUNABLES: PYTORCH_MALLOC },
  });
  if (r.status !== 0) return { skipped: `the PyTorch peer failed: ${r.stderr.trim().split('\n').pop() ?? ''}` };
  const out = JSON.parse(r.stdout) as { noisySamplesPerSec: number; peakRssMB: number; threads: number; torch: string };
  return { rate: out.noisySamplesPerSec, peakRssMB: out.peakRssMB, threads: out.threads, torch: out.torch };
}

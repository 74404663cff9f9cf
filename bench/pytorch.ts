import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../bench/pytorch_lenet.py', import.meta.url));
const BLAS_LINK = '/etc/alternatives/libblas.so.3-x86_64-linux-gnu';

/** A Python with PyTorch: $PYTHON, else python3 on the PATH, else Debian's (python3-torch). */
function pythonWithTorch(): string | undefined {
  const candidates = [process.env['PYTHON'], 'python3', '/usr/bin/python3'].filter((p): p is string => p !== undefined);
  return candidates.find((py) => spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
}

export type PytorchResult = { noisySamplesPerSec: number; threads: number; torch: string; blas: string } | { skipped: string };

/** Runs bench/pytorch_lenet.py, the authors'-style PyTorch loop on the same workload, for `seconds`. */
export function pytorchLenetTraining(seconds: number): PytorchResult {
  const python = pythonWithTorch();
  if (python === undefined) return { skipped: 'no python3 with PyTorch (Debian: apt-get install python3-torch libopenblas0-pthread)' };
  const r = spawnSync(python, [SCRIPT, String(seconds)], { encoding: 'utf8' });
  if (r.status !== 0) return { skipped: `the PyTorch peer failed: ${r.stderr.trim().split('\n').pop() ?? ''}` };
  const blas = existsSync(BLAS_LINK) ? realpathSync(BLAS_LINK) : 'unknown';
  return { ...(JSON.parse(r.stdout) as { noisySamplesPerSec: number; threads: number; torch: string }), blas };
}

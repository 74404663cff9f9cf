import type * as tfl from '@tensorflow/tfjs-layers';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Normalization } from '../src/models/meta.js';
import { noisyCopies, SUBSTREAM } from '../src/noise/gaussian.js';
import { hwioToOihw } from '../src/onnx/export.js';
import { pythonWithTorch } from './pytorch.js';

const SCRIPT = fileURLToPath(new URL('../../bench/pytorch_certify.py', import.meta.url));

/** The model's weights by PyTorch state-dict name (smoothcert's layer names are those paths), in PyTorch's layouts. */
function stateDict(model: tfl.LayersModel): { name: string; shape: number[]; data: Float32Array }[] {
  const out: { name: string; shape: number[]; data: Float32Array }[] = [];
  for (const layer of model.layers) {
    const ws = layer.getWeights().map((t) => ({ shape: t.shape, data: t.dataSync() as Float32Array }));
    const kind = layer.getClassName();
    if (kind === 'Conv2D') {
      const [{ shape, data }] = ws as [{ shape: number[]; data: Float32Array }];
      const [kh, kw, ci, co] = shape as [number, number, number, number];
      out.push({ name: `${layer.name}.weight`, shape: [co, ci, kh, kw], data: hwioToOihw(data, [kh, kw, ci, co]) });
      if (ws[1]) out.push({ name: `${layer.name}.bias`, shape: [co], data: ws[1].data });
    } else if (kind === 'Dense') {
      const [{ shape, data }] = ws as [{ shape: number[]; data: Float32Array }];
      const [fin, fout] = shape as [number, number];
      const t = new Float32Array(data.length);
      for (let i = 0; i < fin; i++) for (let o = 0; o < fout; o++) t[o * fin + i] = data[i * fout + o]!;
      out.push({ name: `${layer.name}.weight`, shape: [fout, fin], data: t });
      out.push({ name: `${layer.name}.bias`, shape: [fout], data: ws[1]!.data });
    } else if (kind === 'BatchNormalization') {
      ['weight', 'bias', 'running_mean', 'running_var'].forEach((n, i) => out.push({ name: `${layer.name}.${n}`, ...ws[i]! }));
    }
  }
  return out;
}

/**
 * One round of bench/pytorch_certify.py on the same weights and the first noisy batch of the
 * engines' estimation stream: images per second of PyTorch's forward + arg-max counts.
 */
export function pytorchCertify(
  model: tfl.LayersModel,
  arch: string,
  normalization: Normalization,
  x: Float32Array,
  sigma: number,
  batch: number,
  seconds: number,
  precision: 'fp32' | 'bf16',
): Record<string, unknown> {
  const py = pythonWithTorch();
  if (py === null) return { skipped: 'no python3 with PyTorch (Debian: apt-get install python3-torch)' };
  const dir = mkdtempSync(join(tmpdir(), 'smoothcert-torch-'));
  try {
    const tensors = stateDict(model);
    let offset = 0;
    const index = tensors.map((t) => {
      const entry = { name: t.name, shape: t.shape, offset };
      offset += t.data.length;
      return entry;
    });
    const blob = new Float32Array(offset);
    tensors.forEach((t, i) => blob.set(t.data, index[i]!.offset));
    const shape = model.inputs[0]!.shape.slice(1) as number[];
    const classes = model.outputs[0]!.shape[1]!;
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(blob.buffer));
    writeFileSync(join(dir, 'weights.json'), JSON.stringify({ tensors: index, classes, shape, ...normalization }));
    const noisy = new Float32Array(batch * x.length);
    noisyCopies(noisy, x, { seed: 0, stream: 0, substream: SUBSTREAM.estimate }, 0, sigma);
    writeFileSync(join(dir, 'noisy.bin'), new Uint8Array(noisy.buffer));
    const r = spawnSync(py, [SCRIPT, arch, dir, String(batch), String(seconds), precision], { encoding: 'utf8' });
    if (r.status !== 0) return { skipped: `the PyTorch peer failed: ${r.stderr.trim().split('\n').pop() ?? ''}` };
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

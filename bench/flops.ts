import type * as tfl from '@tensorflow/tfjs-layers';

/**
 * Floating-point operations of one forward pass per image: 2 per multiply-accumulate of the
 * convolution and dense layers, which dominate every model here (elementwise layers,
 * pooling and normalization are left out, as is usual for GFLOP/s figures).
 */
export function forwardFlopsPerImage(model: tfl.LayersModel): number {
  let flops = 0;
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (kind !== 'Conv2D' && kind !== 'Dense') continue;
    const kernel = layer.getWeights()[0]!.shape;
    const out = layer.outputShape as number[];
    const macsPerOutput = kernel.slice(0, -1).reduce((a, b) => a * b, 1);
    const outputs = out.slice(1).reduce((a, b) => a * (b ?? 1), 1);
    flops += 2 * macsPerOutput * outputs;
  }
  return flops;
}

/** Training costs about three forward passes per sample: forward, gradient to the inputs, gradient to the weights. */
export const TRAIN_FLOPS_FACTOR = 3;

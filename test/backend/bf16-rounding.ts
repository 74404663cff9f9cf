import * as tf from '@tensorflow/tfjs-core';
import { NativeBackend } from '../../src/backend/native-backend.js';
import { ENGINE } from './parity.js';

/** Why a bf16 kernel test cannot run here (not the native backend, or no bf16 units), or false. */
export const BF16_SKIP: string | false = (() => {
  const backend = tf.backend();
  if (ENGINE !== 'native') return 'the native backend only';
  return backend instanceof NativeBackend && backend.addon.info().bf16 ? false : 'this CPU lacks AVX512-BF16';
})();

/** x rounded to the nearest bfloat16 (ties to even, as oneDNN converts), as a float32 tensor. */
export function toBf16(x: tf.Tensor): tf.Tensor {
  const bits = new Uint32Array(Float32Array.from(x.dataSync()).buffer);
  for (let i = 0; i < bits.length; i++) bits[i] = ((bits[i]! + 0x7fff + ((bits[i]! >>> 16) & 1)) & 0xffff0000) >>> 0;
  return tf.tensor(new Float32Array(bits.buffer), x.shape);
}

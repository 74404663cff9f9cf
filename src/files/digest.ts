import type { Hash } from 'node:crypto';

/**
 * Feeds `data` to `hash` after its length (8 bytes, little-endian), without copying it: hashed
 * one after another, no two different lists of names and files give the same input. The model
 * folder's and the ONNX model's fingerprints are made this way.
 */
export function updateWithLength(hash: Hash, data: string | Uint8Array): Hash {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(bytes.length));
  return hash.update(length).update(bytes);
}

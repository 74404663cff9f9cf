import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { SettingError, UserError } from '../base/errors.js';
import { writeFileAtomic } from './atomic.js';

/**
 * A training checkpoint in one file, so that it is committed by a single atomic rename:
 *   "SCKP" | uint32 header length | header JSON | float32 tensors (4-byte aligned).
 * The header holds the sha256 of the tensor bytes (version 2), checked on every read: a
 * damaged or edited checkpoint is refused by name, rather than resumed and reported later as
 * a diverged run. Version 1 files (no checksum) are still read.
 * Tensors are addressed by position (model.weights order), not by tfjs variable names,
 * which depend on what else the process built before.
 */
export interface CheckpointTensor {
  shape: number[];
  values: Float32Array;
}

export interface Checkpoint<State> {
  state: State;
  weights: CheckpointTensor[];
  optimizer: (CheckpointTensor | null)[];
}

const MAGIC = 'SCKP';

export function writeCheckpoint<State>(path: string, ckpt: Checkpoint<State>): void {
  const tensors = [...ckpt.weights, ...ckpt.optimizer.filter((t): t is CheckpointTensor => t !== null)];
  const layout = (list: (CheckpointTensor | null)[]) => list.map((t) => (t === null ? null : t.shape));
  const floats = tensors.reduce((s, t) => s + t.values.length, 0);
  const data = new Float32Array(floats);
  let off = 0;
  for (const t of tensors) {
    data.set(t.values, off);
    off += t.values.length;
  }
  const sha256 = digest(data);
  const header = Buffer.from(
    JSON.stringify({ version: 2, sha256, state: ckpt.state, weights: layout(ckpt.weights), optimizer: layout(ckpt.optimizer) }),
  );
  const headerLength = Math.ceil(header.length / 4) * 4; // pad so the float data is aligned
  const bytes = new Uint8Array(8 + headerLength + 4 * floats);
  bytes.set(Buffer.from(MAGIC), 0);
  new DataView(bytes.buffer).setUint32(4, headerLength, true);
  bytes.fill(0x20, 8, 8 + headerLength); // JSON tolerates trailing spaces
  bytes.set(header, 8);
  bytes.set(new Uint8Array(data.buffer), 8 + headerLength);
  writeFileAtomic(path, bytes);
}

export function readCheckpoint<State>(path: string): Checkpoint<State> {
  if (!existsSync(path))
    throw new SettingError('resume', (name) => `checkpoint ${path} does not exist; start the run without ${name('resume')}`);
  const buf = readFileSync(path);
  const bad = (why: string) => new UserError(`checkpoint ${path} is corrupt (${why}); delete it to start over, or restore a copy`);
  if (buf.length < 8 || buf.subarray(0, 4).toString('latin1') !== MAGIC) throw bad('not a smoothcert checkpoint: wrong magic');
  const headerLength = buf.readUInt32LE(4);
  if (8 + headerLength > buf.length) throw bad('truncated header');
  let header: { version: number; sha256?: string; state: State; weights: (number[] | null)[]; optimizer: (number[] | null)[] };
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLength).toString('utf8'));
  } catch {
    throw bad('unreadable header');
  }
  const sizes = [...header.weights, ...header.optimizer].map((s) => (s === null ? 0 : s.reduce((a, b) => a * b, 1)));
  const floats = sizes.reduce((a, b) => a + b, 0);
  if (buf.length !== 8 + headerLength + 4 * floats) throw bad(`expected ${8 + headerLength + 4 * floats} bytes, found ${buf.length}`);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + 8 + headerLength, buf.byteOffset + buf.length));
  if (header.version >= 2 && digest(data) !== header.sha256)
    throw bad('its checksum does not match its weights: the file was damaged or edited');
  let off = 0;
  const take = (shape: number[] | null): CheckpointTensor | null => {
    if (shape === null) return null;
    const n = shape.reduce((a, b) => a * b, 1);
    const t = { shape, values: data.subarray(off, off + n) };
    off += n;
    return t;
  };
  const weights = header.weights.map((s) => {
    const t = take(s);
    if (t === null) throw bad('a model weight is missing');
    return t;
  });
  return { state: header.state, weights, optimizer: header.optimizer.map(take) };
}

/** sha256 of the tensor bytes, hex. */
function digest(data: Float32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');
}

/**
 * CIFAR-10 "binary version" (https://www.cs.toronto.edu/~kriz/cifar.html): each batch
 * file holds records of 1 label byte followed by a 32×32 colour image stored
 * channel-major (1024 red, 1024 green, 1024 blue bytes, each plane row-major).
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SettingError, UserError } from '../base/errors.js';
import type { Split } from '../data/types.js';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const CHANNELS = 3;
const RECORD = 1 + CHANNELS * PLANE;
const NUM_CLASSES = 10;

/** Batch files of each split, in the order torchvision concatenates them. */
export const CIFAR10_FILES: Record<Split, string[]> = {
  train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  test: ['test_batch.bin'],
};

/** Name of the folder the official archive cifar-10-binary.tar.gz unpacks to. */
export const CIFAR10_SUBDIR = 'cifar-10-batches-bin';

/**
 * Decodes the records of one batch file into `images` (NHWC float32 in [0, 1]) and
 * `labels`, starting at record `offset`. Returns the number of records decoded.
 */
export function decodeCifarBatch(bytes: Uint8Array, file: string, images: Float32Array, labels: Int32Array, offset: number): number {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new UserError(
      `${file}: ${bytes.length} bytes is not a whole number of CIFAR-10 records ` +
        `(${RECORD} bytes each: 1 label + 3×32×32 pixels); the file is truncated or not a CIFAR-10 binary batch`,
    );
  }
  const n = bytes.length / RECORD;
  if (offset + n > labels.length) throw new RangeError('CIFAR-10 batch overflows the destination arrays');
  for (let r = 0; r < n; r++) {
    const base = r * RECORD;
    const y = bytes[base];
    if (y >= NUM_CLASSES) {
      throw new UserError(`${file}: label ${y} of record ${r} is out of range [0, ${NUM_CLASSES}); is this the CIFAR-100 binary version?`);
    }
    labels[offset + r] = y;
    const dst = (offset + r) * CHANNELS * PLANE;
    // CHW on disk → HWC in memory: pixel p of channel c goes to p*3 + c.
    for (let c = 0; c < CHANNELS; c++) {
      const src = base + 1 + c * PLANE;
      for (let p = 0; p < PLANE; p++) images[dst + p * CHANNELS + c] = bytes[src + p] / 255;
    }
  }
  return n;
}

/** The folder holding the batch files: `dataDir` itself or its cifar-10-batches-bin/ subfolder. */
export async function resolveCifarDir(dataDir: string, split: Split): Promise<string> {
  const first = CIFAR10_FILES[split][0];
  for (const dir of [dataDir, join(dataDir, CIFAR10_SUBDIR)]) {
    if (await isFile(join(dir, first))) return dir;
  }
  throw new SettingError(
    'dataDir',
    (name) =>
      `CIFAR-10: ${first} not found in ${dataDir} nor in ${join(dataDir, CIFAR10_SUBDIR)}. ` +
      `Give ${name('dataDir')} pointing at the unpacked "CIFAR-10 binary version" (cifar-10-binary.tar.gz), ` +
      `which holds ${[...CIFAR10_FILES.train, ...CIFAR10_FILES.test].join(', ')}`,
  );
}

/** Reads a split from the batch files in `dir`. */
export async function readCifar10(dir: string, split: Split): Promise<{ images: Float32Array; labels: Int32Array; files: string[] }> {
  const files = CIFAR10_FILES[split].map((f) => join(dir, f));
  const contents = await Promise.all(
    files.map(async (file) => {
      try {
        return await readFile(file);
      } catch (err) {
        throw new UserError(
          `${file}: cannot read CIFAR-10 batch (${(err as Error).message}); the folder must hold all files of the binary version`,
        );
      }
    }),
  );
  const total = contents.reduce((n, b) => n + Math.floor(b.length / RECORD), 0);
  const images = new Float32Array(total * CHANNELS * PLANE);
  const labels = new Int32Array(total);
  let offset = 0;
  contents.forEach((bytes, k) => {
    offset += decodeCifarBatch(bytes, files[k], images, labels, offset);
  });
  return { images, labels, files };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

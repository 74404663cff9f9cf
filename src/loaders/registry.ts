/**
 * Dataset names → where their files live and how to read them: default locations and the
 * bundled Fashion-MNIST sample used when the full set is not installed. What a dataset is
 * (shape, classes, normalization, schedule) is in datasets.ts, which has no Node import.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SettingError, UserError } from '../base/errors.js';
import { readCifar10, resolveCifarDir } from './cifar10.js';
import { DATASETS, datasetInfo, type DatasetName } from '../data/datasets.js';
import { readIdxImageSet } from './idx.js';
import { openImageNet, type ImageFolderDataset } from './imagenet.js';
import { MemoryDataset } from '../data/memory.js';
import type { Split } from '../data/types.js';

/** Where Debian's dataset-fashion-mnist package installs the files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** IDX file names of MNIST and Fashion-MNIST (each may also be present gzipped, with .gz). */
export const MNIST_FILES: Record<Split, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

const ALL_MNIST_FILES = [MNIST_FILES.train.images, MNIST_FILES.train.labels, MNIST_FILES.test.images, MNIST_FILES.test.labels];

/** A loaded dataset; `source` says which files it came from. */
export type LoadedDataset = MemoryDataset | ImageFolderDataset;

/**
 * Loads split `split` of dataset `name`. MNIST-like sets and CIFAR-10 are read into
 * memory; ImageNet is indexed and decoded per image. Fashion-MNIST defaults to
 * FASHION_MNIST_DIR and, when that folder is absent, to the bundled sample (with a warning).
 */
export async function loadDataset(name: string, split: Split, opts: { dataDir?: string } = {}): Promise<LoadedDataset> {
  const info = datasetInfo(name);
  const dataName = name as DatasetName;
  switch (dataName) {
    case 'fashion-mnist': {
      const { dir, sample } = fashionMnistDir(opts.dataDir);
      const ds = await loadMnistLike(dataName, split, dir, fashionHint, sample ? 'bundled sample ' : '');
      if (sample) warnSampleOnce();
      return ds;
    }
    case 'mnist':
      return loadMnistLike(
        dataName,
        split,
        requireDataDir(dataName, opts.dataDir, `a folder with the four IDX files ${ALL_MNIST_FILES.join(', ')} (raw or .gz)`),
        mnistHint,
      );
    case 'cifar10': {
      const root = requireDataDir(
        dataName,
        opts.dataDir,
        'the unpacked "CIFAR-10 binary version" (data_batch_1.bin … data_batch_5.bin, test_batch.bin, ' +
          'directly or in cifar-10-batches-bin/)',
      );
      const dir = await resolveCifarDir(root, split);
      const { images, labels, files } = await readCifar10(dir, split);
      return new MemoryDataset(dataName, split, info.shape, info.numClasses, images, labels, files.join(', '));
    }
    case 'imagenet':
      return openImageNet(
        requireDataDir(dataName, opts.dataDir, 'the ImageNet root holding train/<wnid>/*.JPEG and val/<wnid>/*.JPEG'),
        split,
      );
  }
}

/**
 * Where Fashion-MNIST is read from: `dataDir` if given, else `installedDir` if it exists,
 * else the bundled sample (`sample` true).
 */
export function fashionMnistDir(dataDir: string | undefined, installedDir = FASHION_MNIST_DIR): { dir: string; sample: boolean } {
  if (dataDir !== undefined) return { dir: dataDir, sample: false };
  if (isDirectory(installedDir)) return { dir: installedDir, sample: false };
  return { dir: fashionMnistSampleDir(), sample: true };
}

/** The folder of the bundled Fashion-MNIST sample, found relative to this module (not the cwd). */
export function fashionMnistSampleDir(): string {
  // dist/src/data/ when built, src/data/ when run from source: walk up to the package's data/.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4; up++) {
    const candidate = join(dir, 'data', 'fashion-mnist-sample');
    if (isDirectory(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('the bundled Fashion-MNIST sample (data/fashion-mnist-sample/) is missing from the smoothcert package');
}

/** How to get the files, naming the data folder's setting in the caller's words. */
type Hint = (name: (key: string) => string) => string;
const fashionHint: Hint = (name) =>
  `Install Fashion-MNIST with \`apt-get install dataset-fashion-mnist\` (files in ${FASHION_MNIST_DIR}), ` +
  `or give ${name('dataDir')} DIR holding ${ALL_MNIST_FILES.join(', ')} (raw or .gz)`;
const mnistHint: Hint = (name) => `Give ${name('dataDir')} DIR holding the MNIST files ${ALL_MNIST_FILES.join(', ')} (raw or .gz)`;

let warnedSample = false;

function warnSampleOnce(): void {
  if (warnedSample) return;
  warnedSample = true;
  process.stderr.write(
    `warning: full Fashion-MNIST not found at ${FASHION_MNIST_DIR}; using the small sample ` +
      'bundled with smoothcert (results are not comparable to the full set). ' +
      'Install it with `apt-get install dataset-fashion-mnist`, or give the folder that holds it.\n',
  );
}

function requireDataDir(name: DatasetName, dataDir: string | undefined, what: string): string {
  if (dataDir === undefined) {
    throw new SettingError('dataDir', (say) => `dataset ${name} has no default location; give ${say('dataDir')} pointing at ${what}`);
  }
  if (!isDirectory(dataDir))
    throw new SettingError('dataDir', (say) => `${say('dataDir')} ${dataDir} is not a directory (dataset ${name} needs ${what})`);
  return dataDir;
}

/** `dir/base`, or `dir/base.gz` if only that exists. */
function findIdxFile(dir: string, base: string, hint: Hint): string {
  for (const file of [join(dir, base), join(dir, `${base}.gz`)]) {
    if (existsSync(file)) return file;
  }
  throw new SettingError('dataDir', (name) => `file not found: ${join(dir, base)} (nor ${base}.gz). ${hint(name)}`);
}

async function loadMnistLike(name: DatasetName, split: Split, dir: string, hint: Hint, sourcePrefix = ''): Promise<MemoryDataset> {
  const info = DATASETS[name];
  const imagesFile = findIdxFile(dir, MNIST_FILES[split].images, hint);
  const labelsFile = findIdxFile(dir, MNIST_FILES[split].labels, hint);
  let set: Awaited<ReturnType<typeof readIdxImageSet>>;
  try {
    set = await readIdxImageSet(imagesFile, labelsFile, info.numClasses);
  } catch (e) {
    // A corrupt file: say how to get a good copy, as for a missing one.
    if (e instanceof UserError) throw new SettingError('dataDir', (say) => `${e.message}. ${hint(say)}`);
    throw e;
  }
  if (set.height !== info.shape[0] || set.width !== info.shape[1]) {
    throw new UserError(
      `${imagesFile}: images are ${set.height}x${set.width}, ${name} images are ` +
        `${info.shape[0]}x${info.shape[1]}; is this the right dataset?`,
    );
  }
  return new MemoryDataset(name, split, info.shape, info.numClasses, set.images, set.labels, `${sourcePrefix}${imagesFile}, ${labelsFile}`);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Identifies a split by content, not by path: the same files found elsewhere give the same
 * fingerprint, other files another. In-memory sets hash their pixels and labels; image folders
 * their class/file names and labels (decoding every image would take minutes).
 */
export function dataFingerprint(ds: LoadedDataset): string {
  const hash = createHash('sha256').update(`${ds.name}\t${ds.split}\t${ds.size}\t${ds.shape.join('x')}\n`);
  if (ds instanceof MemoryDataset) {
    hash.update(new Uint8Array(ds.images.buffer, ds.images.byteOffset, ds.images.byteLength));
    hash.update(new Uint8Array(ds.labels.buffer, ds.labels.byteOffset, ds.labels.byteLength));
  } else {
    ds.index.files.forEach((file, i) => hash.update(`${basename(dirname(file))}/${basename(file)}\t${ds.index.labels[i]}\n`));
  }
  return hash.digest('hex').slice(0, 16);
}

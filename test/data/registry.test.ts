import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/base/errors.js';
import { readIdx } from '../../src/loaders/idx.js';
import { DATASETS, datasetInfo } from '../../src/data/datasets.js';
import { FASHION_MNIST_DIR, fashionMnistDir, fashionMnistSampleDir, loadDataset } from '../../src/loaders/registry.js';

const isUserError =
  (re: RegExp) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof UserError, `expected UserError, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  };

const realFashion = existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));

test('Fashion-MNIST from the Debian package: 60000/10000 examples, labels in [0, 10)', {
  skip: realFashion ? false : `${FASHION_MNIST_DIR} absent (apt-get install dataset-fashion-mnist)`,
}, async () => {
  for (const [split, n] of [
    ['train', 60000],
    ['test', 10000],
  ] as const) {
    const ds = await loadDataset('fashion-mnist', split);
    assert.equal(ds.size, n);
    assert.deepEqual(ds.shape, [28, 28, 1]);
    assert.ok('images' in ds);
    assert.equal(ds.images.length, n * 784);
    const counts = new Array<number>(10).fill(0);
    for (const y of ds.labels) counts[y]++;
    // Fashion-MNIST is balanced: n/10 examples per class.
    assert.deepEqual(counts, new Array<number>(10).fill(n / 10));
    let min = Infinity,
      max = -Infinity;
    for (const v of ds.images) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assert.equal(min, 0);
    assert.equal(max, 1);
    assert.match(ds.source, new RegExp(FASHION_MNIST_DIR));
  }
});

test('the bundled sample loads: 2000 train / 500 test, located independently of the cwd', async () => {
  const dir = fashionMnistSampleDir();
  const cwd = process.cwd();
  const elsewhere = await mkdtemp(join(tmpdir(), 'smoothcert-cwd-'));
  process.chdir(elsewhere);
  try {
    const train = await loadDataset('fashion-mnist', 'train', { dataDir: dir });
    const test = await loadDataset('fashion-mnist', 'test', { dataDir: dir });
    assert.equal(train.size, 2000);
    assert.equal(test.size, 500);
    for (const ds of [train, test]) {
      for (let i = 0; i < ds.size; i++) assert.ok(ds.label(i) >= 0 && ds.label(i) < 10);
      const img = await ds.image(0);
      assert.equal(img.length, 784);
      assert.ok(img.some((v) => v > 0));
    }
  } finally {
    process.chdir(cwd);
    await rm(elsewhere, { recursive: true });
  }
});

test('Fashion-MNIST folder: --data-dir, else the installed set, else the bundled sample', () => {
  assert.deepEqual(fashionMnistDir('/some/dir'), { dir: '/some/dir', sample: false });
  assert.deepEqual(fashionMnistDir(undefined, tmpdir()), { dir: tmpdir(), sample: false });
  assert.deepEqual(fashionMnistDir(undefined, '/nonexistent-fashion'), { dir: fashionMnistSampleDir(), sample: true });
  assert.ok(existsSync(join(fashionMnistSampleDir(), 't10k-images-idx3-ubyte.gz')));
});

test('the sample is the head of the real set', {
  skip: realFashion ? false : `${FASHION_MNIST_DIR} absent (apt-get install dataset-fashion-mnist)`,
}, async () => {
  for (const name of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
    const sample = await readIdx(join(fashionMnistSampleDir(), `${name}.gz`));
    const full = await readIdx(join(FASHION_MNIST_DIR, `${name}.gz`));
    assert.deepEqual(sample.dims.slice(1), full.dims.slice(1));
    assert.deepEqual(sample.data, full.data.subarray(0, sample.data.length));
  }
});

test("DATASETS holds the constants of the authors' code", () => {
  assert.deepEqual(DATASETS.mnist.shape, [28, 28, 1]);
  assert.deepEqual(DATASETS['fashion-mnist'].normalization, { mean: [0], std: [1] });
  assert.deepEqual(DATASETS.cifar10.normalization.mean, [0.4914, 0.4822, 0.4465]);
  assert.deepEqual(DATASETS.cifar10.normalization.std, [0.2023, 0.1994, 0.201]);
  assert.deepEqual(DATASETS.imagenet.shape, [224, 224, 3]);
  assert.equal(DATASETS.imagenet.numClasses, 1000);
  assert.deepEqual(DATASETS.imagenet.normalization.std, [0.229, 0.224, 0.225]);
  for (const info of Object.values(DATASETS)) {
    assert.equal(info.normalization.mean.length, info.shape[2]);
    if (info.classNames) assert.equal(info.classNames.length, info.numClasses);
  }
});

test('unknown name lists the valid ones', async () => {
  assert.throws(() => datasetInfo('svhn'), isUserError(/unknown dataset "svhn".*fashion-mnist, mnist, cifar10, imagenet/));
  await assert.rejects(loadDataset('svhn', 'test'), isUserError(/valid names/));
});

test('mnist, cifar10 and imagenet require --data-dir; mnist names its four files', async () => {
  await assert.rejects(
    loadDataset('mnist', 'train'),
    isUserError(
      /mnist has no default location; give dataDir pointing at.*train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte/,
    ),
  );
  await assert.rejects(loadDataset('imagenet', 'test'), isUserError(/dataDir/));
  await assert.rejects(loadDataset('mnist', 'train', { dataDir: '/nonexistent-dir' }), isUserError(/not a directory/));
});

test('missing file is named, with how to get it', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'smoothcert-empty-'));
  try {
    await assert.rejects(
      loadDataset('fashion-mnist', 'test', { dataDir: empty }),
      isUserError(new RegExp(`${join(empty, 't10k-images-idx3-ubyte')}.*apt-get install dataset-fashion-mnist.*give dataDir DIR`)),
    );
    await assert.rejects(loadDataset('mnist', 'test', { dataDir: empty }), isUserError(/t10k-images-idx3-ubyte.*dataDir/));
  } finally {
    await rm(empty, { recursive: true });
  }
});

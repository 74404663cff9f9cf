import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../src/base/errors.js';
import {
  centerCropBox,
  indexImageFolder,
  loadTestImage,
  loadTrainImage,
  randomResizedCropBox,
  resizeShorter,
  roundHalfEven,
} from '../../src/loaders/imagenet.js';
import { loadDataset } from '../../src/loaders/registry.js';
import { Mulberry32, type Rng } from '../../src/data/rng.js';

let root: string;
/** A 256×300 RGB image with R = x mod 256, G = y, B = 7: each pixel's position is readable from its value. */
let gradientFile: string;

function gradient(height: number, width: number): Buffer {
  const raw = Buffer.alloc(height * width * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      raw[(y * width + x) * 3] = x % 256;
      raw[(y * width + x) * 3 + 1] = y % 256;
      raw[(y * width + x) * 3 + 2] = 7;
    }
  return raw;
}

/** A constant image; `grey` stores it with one channel, to check the expansion to RGB. */
const solid = (width: number, height: number, grey: boolean, value: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: value, g: value, b: value } } }).toColourspace(grey ? 'b-w' : 'srgb');

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'smoothcert-imagenet-'));
  for (const split of ['train', 'val']) {
    for (const wnid of ['n10', 'n01', 'n02']) await mkdir(join(root, split, wnid), { recursive: true });
    gradientFile = join(root, split, 'n01', 'a.png');
    await sharp(gradient(256, 300), { raw: { width: 300, height: 256, channels: 3 } })
      .png()
      .toFile(gradientFile);
    await solid(30, 40, false, 200)
      .jpeg()
      .toFile(join(root, split, 'n01', 'b.JPEG'));
    await solid(60, 50, true, 77)
      .png()
      .toFile(join(root, split, 'n02', 'c.PNG'));
    await mkdir(join(root, split, 'n10', 'sub'));
    await solid(20, 20, false, 10)
      .png()
      .toFile(join(root, split, 'n10', 'sub', 'd.png'));
    await writeFile(join(root, split, 'n10', 'notes.txt'), 'not an image');
  }
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

class Scripted implements Rng {
  private k = 0;
  constructor(private readonly values: number[]) {}
  next(): number {
    if (this.k >= this.values.length) throw new Error('scripted rng exhausted');
    return this.values[this.k++];
  }
}

test('classes are sorted folder names; files found recursively, any case of extension, non-images skipped', async () => {
  const index = await indexImageFolder(join(root, 'train'));
  assert.deepEqual(index.classes, ['n01', 'n02', 'n10']);
  assert.deepEqual(
    index.files.map((f) => f.slice(root.length + 7)),
    ['n01/a.png', 'n01/b.JPEG', 'n02/c.PNG', 'n10/sub/d.png'],
  );
  assert.deepEqual([...index.labels], [0, 0, 1, 2]);
});

test('Python rounding and torchvision size arithmetic', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, -0, -2, 2, 3]);
  assert.deepEqual(resizeShorter(375, 500, 256), { height: 256, width: 341 }); // int(256 * 500 / 375) = 341
  assert.deepEqual(resizeShorter(500, 333, 256), { height: 384, width: 256 }); // int(256 * 500 / 333) = 384
  assert.deepEqual(centerCropBox(256, 341, 224), { i: 16, j: 58, h: 224, w: 224 }); // round(58.5) = 58
  assert.deepEqual(centerCropBox(256, 343, 224), { i: 16, j: 60, h: 224, w: 224 }); // round(59.5) = 60
});

test('test transform: 224×224×3 in [0, 1], center crop at the torchvision offsets', async () => {
  const img = await loadTestImage(gradientFile);
  assert.equal(img.length, 224 * 224 * 3);
  // Shorter side already 256: no resampling; crop top = round(32/2) = 16, left = round(76/2) = 38.
  for (let r = 0; r < 224; r += 37)
    for (let c = 0; c < 224; c += 29) {
      const p = (r * 224 + c) * 3;
      assert.equal(img[p], Math.fround(((38 + c) % 256) / 255));
      assert.equal(img[p + 1], Math.fround((16 + r) / 255));
      assert.equal(img[p + 2], Math.fround(7 / 255));
    }
  const greyFile = join(root, 'val', 'n02', 'c.PNG');
  assert.equal((await sharp(greyFile).metadata()).channels, 1);
  const grey = await loadTestImage(greyFile); // one channel, upscaled 50×60 → 256×307
  assert.equal(grey.length, 224 * 224 * 3);
  for (const v of grey) assert.ok(Math.abs(v - 77 / 255) < 1.5 / 255, `greyscale constant image changed: ${v}`);
  const jpeg = await loadTestImage(join(root, 'val', 'n01', 'b.JPEG'));
  for (const v of jpeg) assert.ok(v >= 0 && v <= 1 && Math.abs(v - 200 / 255) < 4 / 255);
});

test('random resized crop parameters stay within scale and ratio; same seed, same boxes', () => {
  const rng = new Mulberry32(3);
  const boxes = Array.from({ length: 200 }, () => randomResizedCropBox(300, 400, rng));
  for (const { i, j, h, w } of boxes) {
    assert.ok(i >= 0 && j >= 0 && h > 0 && w > 0 && i + h <= 300 && j + w <= 400);
    const frac = (h * w) / (300 * 400);
    assert.ok(frac > 0.07 && frac <= 1, `area fraction ${frac}`);
    assert.ok(w / h > 0.74 && w / h < 1.35, `ratio ${w / h}`);
  }
  const again = new Mulberry32(3);
  assert.deepEqual(
    Array.from({ length: 200 }, () => randomResizedCropBox(300, 400, again)),
    boxes,
  );
});

test('random resized crop falls back to the ratio-clamped central crop after 10 misses', () => {
  // u = 0.999 always asks for ~the whole area at ratio ~4/3, which never fits these images.
  const always = { next: () => 0.999 };
  assert.deepEqual(randomResizedCropBox(100, 400, always), { i: 0, j: 133, h: 100, w: 133 }); // w = round(100·4/3)
  assert.deepEqual(randomResizedCropBox(400, 100, always), { i: 133, j: 0, h: 133, w: 100 }); // h = round(100/(3/4))
  assert.deepEqual(randomResizedCropBox(100, 100, always), { i: 0, j: 0, h: 100, w: 100 });
});

test('training transform crops the drawn box and flips', async () => {
  // Ratio draw 0.5 gives aspect exp(0) = 1; the scale draw gives area 224², so no resampling.
  const u = ((224 * 224) / (256 * 300) - 0.08) / 0.92;
  const draws = (flip: number) => [u, 0.5, 10.5 / 33, 20.5 / 77, flip]; // i = 10, j = 20
  assert.deepEqual(randomResizedCropBox(256, 300, new Scripted(draws(0).slice(0, 4))), { i: 10, j: 20, h: 224, w: 224 });
  const plain = await loadTrainImage(gradientFile, new Scripted(draws(0.7)));
  const flipped = await loadTrainImage(gradientFile, new Scripted(draws(0.2)));
  for (let r = 0; r < 224; r += 31)
    for (let c = 0; c < 224; c += 17) {
      const p = (r * 224 + c) * 3;
      assert.equal(plain[p], Math.fround(((20 + c) % 256) / 255));
      assert.equal(plain[p + 1], Math.fround((10 + r) / 255));
      assert.equal(flipped[p], Math.fround(((20 + 223 - c) % 256) / 255));
      assert.equal(flipped[p + 1], plain[p + 1]);
    }
});

test('training transform on any image: 224×224×3 in [0, 1], reproducible from the seed', async () => {
  const ds = await loadDataset('imagenet', 'train', { dataDir: root });
  assert.equal(ds.size, 4);
  assert.equal(ds.numClasses, 3);
  assert.deepEqual(ds.shape, [224, 224, 3]);
  assert.ok('trainImage' in ds);
  for (let i = 0; i < ds.size; i++) {
    const a = await ds.trainImage(i, new Mulberry32(11));
    const b = await ds.trainImage(i, new Mulberry32(11));
    assert.equal(a.length, 224 * 224 * 3);
    assert.deepEqual(a, b);
    for (const v of a) assert.ok(v >= 0 && v <= 1);
  }
  const test = await loadDataset('imagenet', 'test', { dataDir: root });
  assert.equal(test.label(3), 2);
  assert.equal((await test.image(0)).length, 224 * 224 * 3);
});

test('folder errors are UserErrors', async () => {
  await assert.rejects(indexImageFolder(join(root, 'missing')), (e: unknown) => e instanceof UserError && /cannot list/.test(e.message));
  const other = await mkdtemp(join(tmpdir(), 'smoothcert-imagenet2-'));
  try {
    await mkdir(join(other, 'train', 'n01'), { recursive: true });
    await mkdir(join(other, 'val', 'n02'), { recursive: true });
    await writeFile(join(other, 'val', 'n02', 'x.png'), await solid(4, 4, false, 1).png().toBuffer());
    await assert.rejects(
      loadDataset('imagenet', 'test', { dataDir: other }),
      (e: unknown) => e instanceof UserError && /different class folders/.test(e.message),
    );
    await writeFile(join(other, 'val', 'n02', 'broken.jpg'), 'not a jpeg');
    await rm(join(other, 'train'), { recursive: true });
    const ds = await loadDataset('imagenet', 'test', { dataDir: other });
    await assert.rejects(ds.image(0), (e: unknown) => e instanceof UserError && /broken\.jpg/.test(e.message));
  } finally {
    await rm(other, { recursive: true });
  }
});

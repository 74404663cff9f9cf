/**
 * ImageNet in the standard folder layout (`train/<wnid>/*.JPEG`, `val/<wnid>/*.JPEG`),
 * read like torchvision's ImageFolder and decoded one file at a time with sharp, so
 * memory holds only the file list. Transforms follow the authors' code:
 * test = Resize(256) + CenterCrop(224); train = RandomResizedCrop(224) + horizontal flip.
 */
import { readdir, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { extname, join } from 'node:path';
import type { Sharp } from 'sharp';
import { UserError } from '../base/errors.js';
import type { ImageShape } from '../base/shapes.js';
import { randInt, uniform, type Rng } from '../data/rng.js';
import type { ImageDataset, Split } from '../data/types.js';

export const IMAGENET_CROP = 224;
export const IMAGENET_RESIZE = 256;

/** Extensions decoded (case-insensitive): torchvision's list restricted to what sharp reads. */
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif']);

/** Sub-folder of each split, as in the authors' code. */
export const IMAGENET_SPLIT_DIRS: Record<Split, string> = { train: 'train', test: 'val' };

/** A crop window in pixels: top row i, left column j, height h, width w. */
export interface CropBox {
  i: number;
  j: number;
  h: number;
  w: number;
}

/** Python 3's round(): halves go to the even neighbour (torchvision's crop arithmetic uses it). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torchvision RandomResizedCrop.get_params: up to 10 draws of an area fraction in `scale`
 * and a log-uniform aspect ratio in `ratio`; if none fits, the largest central crop whose
 * aspect ratio is clamped to `ratio`.
 */
export function randomResizedCropBox(
  height: number,
  width: number,
  rng: Rng,
  scale: [number, number] = [0.08, 1],
  ratio: [number, number] = [3 / 4, 4 / 3],
): CropBox {
  const area = height * width;
  const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * uniform(rng, scale[0], scale[1]);
    const aspect = Math.exp(uniform(rng, logRatio[0], logRatio[1]));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { i: randInt(rng, height - h + 1), j: randInt(rng, width - w + 1), h, w };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) {
    h = roundHalfEven(w / ratio[0]);
  } else if (inRatio > ratio[1]) {
    w = roundHalfEven(h * ratio[1]);
  }
  return { i: Math.floor((height - h) / 2), j: Math.floor((width - w) / 2), h, w };
}

/** Size after torchvision Resize(size): shorter side to `size`, longer side scaled and truncated. */
export function resizeShorter(height: number, width: number, size: number): { height: number; width: number } {
  if (width <= height) return { width: size, height: Math.floor((size * height) / width) };
  return { height: size, width: Math.floor((size * width) / height) };
}

/** torchvision CenterCrop offsets (top, left) of a `crop`×`crop` window. */
export function centerCropBox(height: number, width: number, crop: number): CropBox {
  return { i: roundHalfEven((height - crop) / 2), j: roundHalfEven((width - crop) / 2), h: crop, w: crop };
}

/** Raw RGB bytes → float32 HWC in [0, 1], optionally mirrored left-right. */
function toFloat(raw: Buffer, height: number, width: number, flip: boolean): Float32Array {
  const out = new Float32Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = (y * width + (flip ? width - 1 - x : x)) * 3;
      const dst = (y * width + x) * 3;
      out[dst] = raw[src] / 255;
      out[dst + 1] = raw[src + 1] / 255;
      out[dst + 2] = raw[src + 2] / 255;
    }
  }
  return out;
}

type SharpFactory = typeof import('sharp')['default'];
let sharpModule: Promise<SharpFactory> | undefined;

/** sharp is loaded on first use: its native library takes ~0.3 s to load, which MNIST and CIFAR runs never need. */
function loadSharp(): Promise<SharpFactory> {
  sharpModule ??= import('sharp').then((m) => m.default);
  return sharpModule;
}

/** Decodes a file to 8-bit RGB (greyscale expanded, alpha dropped, like PIL's convert('RGB')). */
async function rgb(file: string): Promise<Sharp> {
  return (await loadSharp())(file, { failOn: 'error' }).removeAlpha().toColourspace('srgb');
}

async function rawRgb(pipeline: Sharp, file: string, height: number, width: number): Promise<Buffer> {
  const { data, info } = await pipeline
    .raw()
    .toBuffer({ resolveWithObject: true })
    .catch((err: Error) => {
      throw new UserError(`${file}: cannot decode image (${err.message})`);
    });
  if (info.width !== width || info.height !== height || info.channels !== 3) {
    throw new Error(`${file}: decoded to ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x3`);
  }
  return data;
}

async function dimensions(file: string): Promise<{ height: number; width: number }> {
  const meta = await (await loadSharp())(file)
    .metadata()
    .catch((err: Error) => {
      throw new UserError(`${file}: cannot read image (${err.message})`);
    });
  return { height: meta.height, width: meta.width };
}

/** Test-time transform: resize the shorter side to 256, center-crop 224×224, floats in [0, 1]. */
export async function loadTestImage(file: string, resize = IMAGENET_RESIZE, crop = IMAGENET_CROP): Promise<Float32Array> {
  const { height, width } = await dimensions(file);
  const size = resizeShorter(height, width, resize);
  const box = centerCropBox(size.height, size.width, crop);
  let pipeline = await rgb(file);
  // torchvision leaves an image already at the target size untouched; so do we.
  if (size.height !== height || size.width !== width) {
    pipeline = pipeline.resize(size.width, size.height, { fit: 'fill', kernel: 'linear' });
  }
  pipeline = pipeline.extract({ left: box.j, top: box.i, width: crop, height: crop });
  return toFloat(await rawRgb(pipeline, file, crop, crop), crop, crop, false);
}

/** Training transform: random resized crop to 224×224 and a horizontal flip with probability 1/2. */
export async function loadTrainImage(file: string, rng: Rng, crop = IMAGENET_CROP): Promise<Float32Array> {
  const { height, width } = await dimensions(file);
  const box = randomResizedCropBox(height, width, rng);
  const flip = rng.next() < 0.5;
  const pipeline = (await rgb(file))
    .extract({ left: box.j, top: box.i, width: box.w, height: box.h })
    .resize(crop, crop, { fit: 'fill', kernel: 'linear' });
  return toFloat(await rawRgb(pipeline, file, crop, crop), crop, crop, flip);
}

/** Files of an image folder: classes = sorted sub-folder names, files sorted within each class. */
export interface FolderIndex {
  classes: string[];
  files: string[];
  labels: Int32Array;
}

/** Whether an entry is a directory, following symbolic links (ImageNet set-ups often link class folders). */
async function isDir(dir: string, e: Dirent): Promise<boolean> {
  if (e.isDirectory()) return true;
  if (!e.isSymbolicLink()) return false;
  return stat(join(dir, e.name)).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function listDirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: Error) => {
    throw new UserError(
      `${dir}: cannot list image folder (${err.message}); expected <class>/<image> sub-folders ` +
        '(ImageNet: train/<wnid>/*.JPEG and val/<wnid>/*.JPEG; for val use a script like valprep.sh)',
    );
  });
  const names: string[] = [];
  for (const e of entries) if (await isDir(dir, e)) names.push(e.name);
  return names.sort();
}

/** Image files below `dir`, recursively, in sorted order (as ImageFolder's os.walk does). */
async function listImages(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (await isDir(dir, e)) out.push(...(await listImages(path)));
    else if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(path);
  }
  return out;
}

/** Indexes an ImageFolder-style directory (classes sorted by name, like torchvision). */
export async function indexImageFolder(dir: string): Promise<FolderIndex> {
  const classes = await listDirs(dir);
  if (classes.length === 0) throw new UserError(`${dir}: no class sub-folders found`);
  const files: string[] = [];
  const labels: number[] = [];
  for (let k = 0; k < classes.length; k++) {
    for (const f of await listImages(join(dir, classes[k]))) {
      files.push(f);
      labels.push(k);
    }
  }
  if (files.length === 0) throw new UserError(`${dir}: no image files (${[...IMAGE_EXTENSIONS].join(', ')}) found`);
  return { classes, files, labels: Int32Array.from(labels) };
}

/** An ImageNet-style folder dataset decoded on demand; image(i) applies the test transform. */
export class ImageFolderDataset implements ImageDataset {
  readonly shape: ImageShape = [IMAGENET_CROP, IMAGENET_CROP, 3];
  readonly size: number;
  readonly numClasses: number;

  constructor(
    readonly name: string,
    readonly split: Split,
    readonly index: FolderIndex,
    /** Where the data came from, for CLIs to report. */
    readonly source: string,
  ) {
    this.size = index.files.length;
    this.numClasses = index.classes.length;
  }

  label(i: number): number {
    return this.index.labels[this.check(i)];
  }

  image(i: number): Promise<Float32Array> {
    return loadTestImage(this.index.files[this.check(i)]);
  }

  /** Image i with the training augmentation, drawing from `rng`. */
  trainImage(i: number, rng: Rng): Promise<Float32Array> {
    return loadTrainImage(this.index.files[this.check(i)], rng);
  }

  private check(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) {
      throw new RangeError(`index ${i} out of range [0, ${this.size}) of ${this.name}/${this.split}`);
    }
    return i;
  }
}

/** Opens `<root>/train` or `<root>/val`; the other split, if present, must have the same classes. */
export async function openImageNet(root: string, split: Split): Promise<ImageFolderDataset> {
  const dir = join(root, IMAGENET_SPLIT_DIRS[split]);
  const index = await indexImageFolder(dir);
  const otherDir = join(root, IMAGENET_SPLIT_DIRS[split === 'train' ? 'test' : 'train']);
  const other = await listDirs(otherDir).catch(() => undefined);
  if (other !== undefined && other.join('/') !== index.classes.join('/')) {
    throw new UserError(
      `${dir} and ${otherDir} have different class folders (${index.classes.length} vs ` +
        `${other.length}); class indices would not match between training and evaluation`,
    );
  }
  return new ImageFolderDataset('imagenet', split, index, `${dir} (${index.files.length} images, ${index.classes.length} classes)`);
}

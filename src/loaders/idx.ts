/**
 * The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/):
 * a big-endian header — two zero bytes, a type code, the number of dimensions, then
 * one uint32 per dimension — followed by the data in row-major order. Files may be
 * gzip-compressed, as distributed; we detect that by the gzip magic, not the name.
 */
import { readFile } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { UserError } from '../base/errors.js';

const gunzipAsync = promisify(gunzip);

/** Type code of unsigned bytes, the only element type MNIST-like datasets use. */
const UBYTE = 0x08;

/** An n-dimensional uint8 array read from an IDX file. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Parses an uncompressed IDX buffer; `file` only names the source in error messages. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) {
    throw new UserError(`${file}: not an IDX file (only ${bytes.length} bytes, the header alone needs 4)`);
  }
  const magic = `0x${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new UserError(
      `${file}: not an IDX file (magic number ${magic}; expected 0x00000803 for images, ` +
        '0x00000801 for labels); check the file name or download it again',
    );
  }
  if (bytes[2] !== UBYTE) {
    throw new UserError(`${file}: unsupported IDX element type in magic number ${magic} (only unsigned bytes, 0x0008xx, are supported)`);
  }
  const ndims = bytes[3];
  if (ndims === 0) throw new UserError(`${file}: IDX header declares 0 dimensions`);
  const headerLength = 4 + 4 * ndims;
  if (bytes.length < headerLength) {
    throw new UserError(`${file}: truncated IDX header (${bytes.length} bytes, ${headerLength} needed for ${ndims} dimensions)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerLength;
  if (actual < expected) {
    throw new UserError(
      `${file}: truncated IDX file (dimensions ${dims.join('x')} need ${expected} data bytes, found ${actual}); download it again`,
    );
  }
  if (actual > expected) {
    throw new UserError(`${file}: IDX file has ${actual - expected} bytes beyond the ${expected} its dimensions ${dims.join('x')} declare`);
  }
  return { dims, data: bytes.subarray(headerLength) };
}

/** Reads an IDX file, raw or gzip-compressed. */
export async function readIdx(file: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new UserError(`${file}: cannot read IDX file (${(err as Error).message})`);
  }
  if (isGzip(bytes)) {
    try {
      bytes = await gunzipAsync(bytes);
    } catch (err) {
      throw new UserError(`${file}: corrupt gzip data (${(err as Error).message}); download it again`);
    }
  }
  return parseIdx(bytes, file);
}

/** Serializes a uint8 array as uncompressed IDX (gzip it with node:zlib if wanted). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new RangeError(`dimensions ${dims.join('x')} hold ${count} bytes, data has ${data.length}`);
  }
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/** Images and labels of an MNIST-like split, images as float32 NHWC in [0, 1]. */
export interface IdxImageSet {
  height: number;
  width: number;
  images: Float32Array;
  labels: Int32Array;
}

/**
 * Reads a pair of IDX files (images N×H×W, labels N) and checks they agree:
 * same count, labels in [0, numClasses).
 */
export async function readIdxImageSet(imagesFile: string, labelsFile: string, numClasses: number): Promise<IdxImageSet> {
  const [img, lab] = await Promise.all([readIdx(imagesFile), readIdx(labelsFile)]);
  if (img.dims.length !== 3) {
    throw new UserError(
      `${imagesFile}: expected an image file with 3 dimensions (N×H×W), found ${img.dims.length} ` +
        `(${img.dims.join('x')}); is it a label file?`,
    );
  }
  if (lab.dims.length !== 1) {
    throw new UserError(
      `${labelsFile}: expected a label file with 1 dimension (N), found ${lab.dims.length} ` +
        `(${lab.dims.join('x')}); is it an image file?`,
    );
  }
  const [n, height, width] = img.dims;
  if (lab.dims[0] !== n) {
    throw new UserError(
      `${labelsFile}: has ${lab.dims[0]} labels but ${imagesFile} has ${n} images; the two files must come from the same split`,
    );
  }
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const y = lab.data[i];
    if (y >= numClasses) {
      throw new UserError(`${labelsFile}: label ${y} at index ${i} is out of range [0, ${numClasses})`);
    }
    labels[i] = y;
  }
  const images = new Float32Array(img.data.length);
  for (let i = 0; i < images.length; i++) images[i] = img.data[i] / 255;
  return { height, width, images, labels };
}

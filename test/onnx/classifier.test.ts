import { after, test } from 'node:test';
import { rmSync } from 'node:fs';
import assert from 'node:assert/strict';
import { UserError } from '../../src/base/errors.js';
import { loadOnnxClassifier } from '../../src/onnx/classifier.js';
import { attr, GraphBuilder } from '../../src/onnx/graph.js';
import { DataType } from '../../src/onnx/proto/model.js';
import { randomImages, tempDir, writeTemp } from './helpers.js';

const dir = tempDir();
after(() => rmSync(dir, { recursive: true, force: true }));
const { FLOAT, INT32, INT64 } = DataType;
type Dims = (number | string)[];

/** Writes a one-path graph input → ops → output built by `body`, returning the file's path. */
function graph(
  name: string,
  input: { type: number; dims: Dims },
  body: (g: GraphBuilder, x: string) => string,
  output: { type: number; dims: Dims | null },
): string {
  const g = new GraphBuilder(name);
  const x = g.input('x', input.type, input.dims);
  g.output(body(g, x), 'y', output.type, output.dims);
  return writeTemp(dir, `${name}.onnx`, g.encode());
}

const flatten = (g: GraphBuilder, x: string): string => g.node('Flatten', [x], [attr.int('axis', 1)]);
/** The preprocessed input itself as "logits": lets a test see exactly what reaches the graph. */
const echo = (name: string, dims: Dims, classes: number): string =>
  graph(name, { type: FLOAT, dims }, flatten, { type: FLOAT, dims: ['batch', classes] });

const shape: [number, number, number] = [2, 3, 3]; // H, W, C
const mean = [0.1, 0.2, 0.3];
const std = [0.5, 0.25, 2];

/** (x − mean) / std laid out as the graph expects, computed directly from the definition. */
function expected(images: Float32Array, count: number, layout: 'nchw' | 'nhwc'): number[] {
  const [h, w, c] = shape;
  const out: number[] = [];
  for (let n = 0; n < count; n++) {
    const at = (y: number, x: number, ch: number) => (images[((n * h + y) * w + x) * c + ch]! - mean[ch]!) / std[ch]!;
    if (layout === 'nhwc') for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) out.push(at(y, x, ch));
    else for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.push(at(y, x, ch));
  }
  return out;
}

function assertNear(actual: Float32Array, want: number[]): void {
  assert.equal(actual.length, want.length);
  want.forEach((v, i) => assert.ok(Math.abs(actual[i]! - v) <= 1e-6 * (1 + Math.abs(v)), `element ${i}: ${actual[i]} vs ${v}`));
}

test('NCHW graphs get (x − mean) / std per channel, transposed from NHWC', async () => {
  const f = await loadOnnxClassifier(echo('nchw', ['batch', 3, 2, 3], 18), { inputLayout: 'nchw', mean, std, expectedShape: shape });
  assert.deepEqual(f.inputShape, shape);
  assert.equal(f.numClasses, 18);
  const images = randomImages(4, shape, 1);
  assertNear(await f.logits(images, 4), expected(images, 4, 'nchw'));
  // classify is the first argmax of those rows
  const labels = await f.classify(images, 4);
  const rows = expected(images, 4, 'nchw');
  for (let n = 0; n < 4; n++) {
    const row = rows.slice(n * 18, (n + 1) * 18);
    assert.equal(labels[n], row.indexOf(Math.max(...row)));
  }
  f.dispose();
});

test('NHWC graphs get the images as they are, and one mean/std value applies to every channel', async () => {
  const path = echo('nhwc', ['batch', 2, 3, 3], 18);
  const images = randomImages(3, shape, 2);
  const plain = await loadOnnxClassifier(path, { inputLayout: 'nhwc' });
  assert.deepEqual(plain.inputShape, shape); // read from the graph when no dataset shape is given
  assertNear(await plain.logits(images, 3), Array.from(images));
  const scaled = await loadOnnxClassifier(path, { inputLayout: 'nhwc', mean: [0.5], std: [2] });
  assertNear(
    await scaled.logits(images, 3),
    Array.from(images, (v) => (v - 0.5) / 2),
  );
  plain.dispose();
  scaled.dispose();
});

test('a graph with a fixed batch size of 1 is fed one image at a time', async () => {
  const f = await loadOnnxClassifier(echo('batch1', [1, 3, 2, 3], 18), { inputLayout: 'nchw', mean, std, expectedShape: shape });
  const images = randomImages(5, shape, 3);
  assertNear(await f.logits(images, 5), expected(images, 5, 'nchw'));
  f.dispose();
});

test('symbolic H and W take the dataset shape (here with an undeclared output shape)', async () => {
  const pool = (g: GraphBuilder, x: string) => flatten(g, g.node('GlobalAveragePool', [x]));
  const path = graph('symbolic', { type: FLOAT, dims: ['batch', 3, 'h', 'w'] }, pool, { type: FLOAT, dims: null });
  await assert.rejects(
    loadOnnxClassifier(path, { inputLayout: 'nchw' }),
    (e: Error) => e instanceof UserError && /image size is not fixed in the graph, so the dataset's shape must be given/.test(e.message),
  );
  const f = await loadOnnxClassifier(path, { inputLayout: 'nchw', expectedShape: shape });
  assert.equal(f.numClasses, 3);
  const images = randomImages(2, shape, 4);
  const means = await f.logits(images, 2);
  for (let n = 0; n < 2; n++) {
    for (let ch = 0; ch < 3; ch++) {
      let sum = 0;
      for (let p = 0; p < 6; p++) sum += images[(n * 6 + p) * 3 + ch]!;
      assert.ok(Math.abs(means[n * 3 + ch]! - sum / 6) < 1e-6);
    }
  }
  f.dispose();
});

test('a class count the graph leaves symbolic is probed', async () => {
  const path = graph('symclasses', { type: FLOAT, dims: ['batch', 1, 28, 'w'] }, flatten, { type: FLOAT, dims: ['batch', 'k'] });
  const f = await loadOnnxClassifier(path, { inputLayout: 'nchw', expectedShape: [28, 28, 1] });
  assert.equal(f.numClasses, 784);
  f.dispose();
});

test('a file that is not ONNX, or is missing, is a UserError', async () => {
  const text = writeTemp(dir, 'notes.onnx', 'this is not a model\n');
  await assert.rejects(
    loadOnnxClassifier(text, { inputLayout: 'nchw' }),
    (e: Error) => e instanceof UserError && e.message.startsWith(`${text} could not be loaded as an ONNX model (onnxruntime: `),
  );
  const noise = writeTemp(
    dir,
    'noise.onnx',
    Uint8Array.from(randomImages(1, [64, 1, 1], 5), (v) => Math.floor(256 * v)),
  );
  await assert.rejects(
    loadOnnxClassifier(noise, { inputLayout: 'nchw' }),
    (e: Error) => e instanceof UserError && /could not be loaded as an ONNX model/.test(e.message),
  );
  await assert.rejects(
    loadOnnxClassifier(`${dir}/absent.onnx`, { inputLayout: 'nchw' }),
    (e: Error) => e instanceof UserError && /does not exist/.test(e.message),
  );
});

test('graphs that do not take one float image batch or return [batch, classes] are refused, saying what is wrong', async () => {
  const nchw = { inputLayout: 'nchw' as const, expectedShape: [28, 28, 1] as [number, number, number] };
  const identity = (g: GraphBuilder, x: string) => g.node('Identity', [x]);
  const cases: [string, string, RegExp][] = [
    [
      'rank2',
      graph('rank2', { type: FLOAT, dims: ['batch', 784] }, identity, { type: FLOAT, dims: ['batch', 784] }),
      /input 'x' .* has rank 2 \(shape \[batch, 784\]\); smoothcert needs a rank-4 image batch \[batch, C, H, W\]/,
    ],
    [
      'int input',
      graph('int', { type: INT32, dims: ['batch', 1, 28, 28] }, (g, x) => flatten(g, g.node('Cast', [x], [attr.int('to', FLOAT)])), {
        type: FLOAT,
        dims: ['batch', 784],
      }),
      /input 'x' .* is a int32 tensor; smoothcert feeds float32 images/,
    ],
    [
      'rank-4 output',
      graph('out4', { type: FLOAT, dims: ['batch', 1, 28, 28] }, identity, { type: FLOAT, dims: ['batch', 1, 28, 28] }),
      /output 'y' .* has shape \[batch, 1, 28, 28\]; smoothcert needs logits \[batch, classes\]/,
    ],
    [
      'int output',
      graph('intout', { type: FLOAT, dims: ['batch', 1, 28, 28] }, (g, x) => g.node('Cast', [flatten(g, x)], [attr.int('to', INT64)]), {
        type: INT64,
        dims: ['batch', 784],
      }),
      /output 'y' .* is a int64 tensor; smoothcert needs float32 logits/,
    ],
    [
      'wrong size',
      graph('size', { type: FLOAT, dims: ['batch', 3, 32, 32] }, flatten, { type: FLOAT, dims: ['batch', 3072] }),
      /has shape \[batch, 3, 32, 32\], read as \[batch, C, H, W\] \(inputLayout nchw\), which does not fit the dataset's 28×28×1/,
    ],
  ];
  for (const [what, path, message] of cases) {
    await assert.rejects(loadOnnxClassifier(path, nchw), (e: Error) => e instanceof UserError && message.test(e.message), what);
  }
  const g = new GraphBuilder('two');
  const a = g.input('a', FLOAT, ['batch', 1, 28, 28]);
  const b = g.input('b', FLOAT, ['batch', 1, 28, 28]);
  g.output(flatten(g, g.node('Add', [a, b])), 'y', FLOAT, ['batch', 784]);
  await assert.rejects(
    loadOnnxClassifier(writeTemp(dir, 'two.onnx', g.encode()), nchw),
    (e: Error) => e instanceof UserError && /has 2 inputs \(a, b\); smoothcert feeds exactly one image batch/.test(e.message),
  );
});

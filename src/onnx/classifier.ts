import { existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { SettingError, UserError } from '../base/errors.js';
import { readOnnxFiles, type OnnxFiles } from './external-data.js';
import type { ImageShape } from '../base/shapes.js';
import { argMaxRows, type BaseClassifier } from '../smoothing/classifier.js';

/** How the graph's image input is laid out: PyTorch exports NCHW, smoothcert's own exports NHWC. */
export type InputLayout = 'nchw' | 'nhwc';

export interface OnnxClassifierOptions {
  inputLayout: InputLayout;
  /** Per-channel mean subtracted before the graph, for models normalized outside it (one value or one per channel). */
  mean?: number[];
  /** Per-channel std divided by before the graph (one value or one per channel). */
  std?: number[];
  /** The dataset's [H, W, C]: the graph's input must fit it. Required if the graph's H, W or C is symbolic. */
  expectedShape?: ImageShape;
  /** The output holding the class scores; required when the graph has more than one. */
  output?: string;
}

/**
 * A base classifier f run by onnxruntime. It receives what every engine receives — NHWC
 * images in [0, 1] plus noise — and applies (x − mean) / std and the NCHW transpose itself,
 * so the noise stays in pixel space as the paper has it even when the graph expects
 * normalized NCHW tensors.
 */
export class OnnxClassifier implements BaseClassifier {
  private staging = new Float32Array(0);
  /**
   * What the output holds: logits, or probabilities (a softmax at the end of the graph, detected
   * when the model is loaded). `logits()` returns log-probabilities for the latter, which are
   * logits of the same distribution, so the log-probability gap is right either way.
   */
  scores: 'logits' | 'probabilities' = 'logits';

  constructor(
    private readonly session: ort.InferenceSession,
    readonly inputShape: ImageShape,
    readonly numClasses: number,
    readonly layout: InputLayout,
    /** The normalization applied before the graph, one value per channel (0 and 1 when none). */
    readonly mean: Float32Array,
    readonly std: Float32Array,
    /** The graph's batch size if fixed (e.g. 1 for a graph exported without a dynamic axis), else null. */
    private readonly fixedBatch: number | null,
    /** The output read: the graph's only one, or the one the caller named. */
    readonly outputName: string,
  ) {}

  /** Logits [batchSize, numClasses] (row-major) for `batchSize` NHWC images packed in `batch`. */
  async logits(batch: Float32Array, batchSize: number): Promise<Float32Array> {
    const [h, w, c] = this.inputShape;
    const d = h * w * c;
    if (batch.length !== batchSize * d) {
      throw new RangeError(`batch holds ${batch.length} values, expected ${batchSize} images of ${h}×${w}×${c}`);
    }
    const out = new Float32Array(batchSize * this.numClasses);
    const chunk = this.fixedBatch ?? batchSize;
    for (let start = 0; start < batchSize; start += chunk) {
      const count = Math.min(chunk, batchSize - start);
      const input = this.prepare(batch.subarray(start * d, (start + count) * d), count, chunk);
      out.set((await this.run(input, chunk)).subarray(0, count * this.numClasses), start * this.numClasses);
    }
    if (this.scores === 'probabilities') for (let i = 0; i < out.length; i++) out[i] = Math.log(out[i]!);
    return out;
  }

  async classify(batch: Float32Array, batchSize: number): Promise<Int32Array> {
    const logits = await this.logits(batch, batchSize);
    const k = this.numClasses;
    return argMaxRows(logits, batchSize, k);
  }

  dispose(): void {
    void this.session.release();
  }

  /**
   * (x − mean) / std per channel, in the graph's layout, zero-padded to `rows` images.
   * fround after the subtraction makes this float32 arithmetic, as in tfjs and PyTorch.
   */
  private prepare(images: Float32Array, count: number, rows: number): Float32Array {
    const [h, w, c] = this.inputShape;
    const size = rows * h * w * c;
    if (this.staging.length !== size) this.staging = new Float32Array(size);
    const dst = this.staging;
    dst.fill(0, count * h * w * c);
    const { mean, std } = this;
    if (this.layout === 'nhwc') {
      for (let i = 0; i < images.length; i++) dst[i] = Math.fround(images[i]! - mean[i % c]!) / std[i % c]!;
      return dst;
    }
    const hw = h * w;
    for (let n = 0; n < count; n++) {
      for (let p = 0; p < hw; p++) {
        for (let ch = 0; ch < c; ch++) {
          dst[(n * c + ch) * hw + p] = Math.fround(images[(n * hw + p) * c + ch]! - mean[ch]!) / std[ch]!;
        }
      }
    }
    return dst;
  }

  private async run(input: Float32Array, rows: number): Promise<Float32Array> {
    const [h, w, c] = this.inputShape;
    const dims = this.layout === 'nchw' ? [rows, c, h, w] : [rows, h, w, c];
    const feeds = { [this.session.inputNames[0]!]: new ort.Tensor('float32', input, dims) };
    const result = (await this.session.run(feeds))[this.outputName]!;
    checkOutput(result.dims, result.type, rows, this.numClasses);
    return result.data as Float32Array;
  }
}

/**
 * Loads an ONNX model as a base classifier, checking that its graph takes one float32
 * image batch of the dataset's shape and returns [batch, classes] logits; the number of
 * classes is read from the graph's output.
 */
export async function loadOnnxClassifier(path: string, opts: OnnxClassifierOptions): Promise<OnnxClassifier> {
  if (!existsSync(path)) throw new UserError(`ONNX model ${path} does not exist`);
  return loadOnnxFiles(readOnnxFiles(path), path, opts);
}

/** loadOnnxClassifier on files already read (readOnnxFiles): onnxruntime gets the graph and its external data in memory. */
export async function loadOnnxFiles(files: OnnxFiles, path: string, opts: OnnxClassifierOptions): Promise<OnnxClassifier> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(files.model, files.external.length > 0 ? { externalData: files.external } : {});
  } catch (e) {
    throw new UserError(
      `${path} could not be loaded as an ONNX model (onnxruntime: ${firstLine(e)}); give an .onnx file, e.g. from torch.onnx.export or smoothcert export`,
    );
  }
  try {
    return await classifierOf(session, path, opts);
  } catch (e) {
    await session.release();
    throw e;
  }
}

async function classifierOf(session: ort.InferenceSession, path: string, opts: OnnxClassifierOptions): Promise<OnnxClassifier> {
  const { inputLayout } = opts;
  if (inputLayout !== 'nchw' && inputLayout !== 'nhwc')
    throw new UserError(`input layout must be nchw or nhwc (got ${String(inputLayout)})`);
  if (session.inputMetadata.length !== 1) {
    throw new UserError(
      `ONNX model ${path} has ${session.inputMetadata.length} inputs (${session.inputNames.join(', ')}); smoothcert feeds exactly one image batch`,
    );
  }
  const input = session.inputMetadata[0]!;
  if (!input.isTensor || input.type !== 'float32') {
    throw new UserError(
      `input '${input.name}' of ONNX model ${path} is ${input.isTensor ? `a ${input.type} tensor` : 'not a tensor'}; smoothcert feeds float32 images — export the model with a float32 input`,
    );
  }
  const shape = input.shape;
  const layoutText = inputLayout === 'nchw' ? '[batch, C, H, W]' : '[batch, H, W, C]';
  if (shape.length !== 4) {
    throw new SettingError(
      'inputLayout',
      (name) =>
        `input '${input.name}' of ONNX model ${path} has rank ${shape.length} (shape ${dimsText(shape)}); smoothcert needs a rank-4 image batch ${layoutText} (${name('inputLayout')} ${inputLayout})`,
    );
  }
  const hwc = inputLayout === 'nchw' ? [shape[2]!, shape[3]!, shape[1]!] : [shape[1]!, shape[2]!, shape[3]!];
  const other = inputLayout === 'nchw' ? 'nhwc' : 'nchw';
  const otherFits = fits(
    inputLayout === 'nchw' ? [shape[1]!, shape[2]!, shape[3]!] : [shape[2]!, shape[3]!, shape[1]!],
    opts.expectedShape,
  );
  const inputShape = imageShape(
    hwc,
    opts.expectedShape,
    (name) =>
      `input '${input.name}' of ONNX model ${path} has shape ${dimsText(shape)}, read as ${layoutText} (${name('inputLayout')} ${inputLayout})`,
    (name) => (otherFits ? `; read as ${name('inputLayout')} ${other}, it fits` : ''),
  );
  const c = inputShape[2];
  const mean = channelStats(opts.mean, c, 0, 'mean');
  const std = channelStats(opts.std, c, 1, 'std');
  if (std.some((s) => !(s > 0))) throw new SettingError('std', (name) => `${name('std')} values must be > 0 (got ${opts.std!.join(', ')})`);
  const fixedBatch = typeof shape[0] === 'number' && shape[0] > 0 ? shape[0] : null;
  const output = chooseOutput(session, path, opts.output);
  const numClasses = await classCount(session, output, path, inputShape, inputLayout, fixedBatch ?? 1);
  const classifier = new OnnxClassifier(session, inputShape, numClasses, inputLayout, mean, std, fixedBatch, output);
  classifier.scores = await scoresOf(classifier);
  return classifier;
}

/** The output with the class scores: the only one, or the one named; several and none named is refused. */
function chooseOutput(session: ort.InferenceSession, path: string, named: string | undefined): string {
  const names = session.outputNames;
  if (named !== undefined) {
    if (!names.includes(named))
      throw new UserError(`ONNX model ${path} has no output '${named}'; its outputs are ${names.map((n) => `'${n}'`).join(', ')}`);
    return named;
  }
  if (names.length > 1) {
    throw new SettingError(
      'output',
      (name) =>
        `ONNX model ${path} has ${names.length} outputs (${names.map((n) => `'${n}'`).join(', ')}); name the one with the class scores with ${name('output')}`,
    );
  }
  return names[0]!;
}

/**
 * Logits or probabilities: the scores of a few seeded random images, read as probabilities when
 * every row is non-negative and sums to 1 within float32 rounding of a k-term sum (k·2⁻²⁴, and
 * 8 times that). Logits do that only by a coincidence no trained network meets on random inputs.
 */
async function scoresOf(c: OnnxClassifier): Promise<'logits' | 'probabilities'> {
  const [h, w, ch] = c.inputShape;
  const rows = 3;
  let state = 12345;
  const images = Float32Array.from({ length: rows * h * w * ch }, () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return state / 2 ** 32;
  });
  const scores = await c.logits(images, rows);
  const k = c.numClasses;
  const slack = 8 * k * 2 ** -24;
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const v = scores[r * k + j]!;
      if (!(v >= 0 && v <= 1)) return 'logits';
      sum += v;
    }
    if (Math.abs(sum - 1) > slack) return 'logits';
  }
  return 'probabilities';
}

/** [H, W, C] from the graph's dims, which must be fixed or fit the dataset's shape. */
function imageShape(
  hwc: (number | string)[],
  expected: ImageShape | undefined,
  describe: (name: (key: string) => string) => string,
  hint: (name: (key: string) => string) => string,
): ImageShape {
  if (expected) {
    if (!fits(hwc, expected))
      throw new SettingError(
        'inputLayout',
        (name) => `${describe(name)}, which does not fit the dataset's ${expected.join('×')} (H×W×C) images${hint(name)}`,
      );
    return [...expected];
  }
  if (!hwc.every(isSize))
    throw new SettingError(
      'inputLayout',
      (name) => `${describe(name)}: its image size is not fixed in the graph, so the dataset's shape must be given`,
    );
  return hwc as ImageShape;
}

/** Each fixed dim equals the expected one; symbolic dims fit anything. */
function fits(dims: (number | string)[], expected: ImageShape | undefined): boolean {
  return expected !== undefined && dims.every((d, i) => !isSize(d) || d === expected[i]);
}

function isSize(d: number | string): d is number {
  return typeof d === 'number' && d > 0;
}

/**
 * The number of classes: dim 1 of the declared output, or of the output of a probe run on
 * a zero image when the graph leaves it symbolic or declares no output shape.
 */
async function classCount(
  session: ort.InferenceSession,
  name: string,
  path: string,
  [h, w, c]: ImageShape,
  layout: InputLayout,
  rows: number,
): Promise<number> {
  const output = session.outputMetadata[session.outputNames.indexOf(name)]!;
  const what = `output '${output.name}' of ONNX model ${path}`;
  if (!output.isTensor || output.type !== 'float32') {
    throw new UserError(
      `${what} is ${output.isTensor ? `a ${output.type} tensor` : 'not a tensor'}; smoothcert needs float32 logits [batch, classes]`,
    );
  }
  const [batch, classes] = output.shape;
  if (output.shape.length > 0 && (output.shape.length !== 2 || (isSize(batch!) && batch !== rows))) {
    throw new UserError(`${what} has shape ${dimsText(output.shape)}; smoothcert needs logits [batch, classes]`);
  }
  if (classes !== undefined && isSize(classes)) return classes;
  const dims = layout === 'nchw' ? [rows, c, h, w] : [rows, h, w, c];
  const probe = new ort.Tensor('float32', new Float32Array(rows * h * w * c), dims);
  const result = (await session.run({ [session.inputNames[0]!]: probe }))[name]!;
  const probed = result.dims[1];
  if (result.dims.length !== 2 || probed === undefined || probed < 1) {
    throw new UserError(`${what} has shape ${dimsText(result.dims)} on a batch of ${rows}; smoothcert needs logits [batch, classes]`);
  }
  checkOutput(result.dims, result.type, rows, probed);
  return probed;
}

function checkOutput(dims: readonly number[], type: string, rows: number, classes: number): void {
  if (type !== 'float32' || dims.length !== 2 || dims[0] !== rows || dims[1] !== classes) {
    throw new UserError(
      `the ONNX model returned a ${type} tensor of shape ${dimsText(dims)} for a batch of ${rows}; expected float32 logits [${rows}, ${classes}]`,
    );
  }
}

/** One value per channel: a single given value applies to every channel. */
function channelStats(values: number[] | undefined, channels: number, fallback: number, key: 'mean' | 'std'): Float32Array {
  if (values === undefined) return new Float32Array(channels).fill(fallback);
  if (values.length !== 1 && values.length !== channels) {
    throw new SettingError(
      key,
      (name) =>
        `${name(key)} has ${values.length} values but the model's input has ${channels} channels; give one value or one per channel`,
    );
  }
  return Float32Array.from({ length: channels }, (_, i) => values[values.length === 1 ? 0 : i]!);
}

function dimsText(dims: readonly (number | string)[]): string {
  return `[${dims.map((d) => (typeof d === 'string' ? d || '?' : d < 0 ? '?' : d)).join(', ')}]`;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
}

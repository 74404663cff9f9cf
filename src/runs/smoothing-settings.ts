import { SettingError } from '../base/errors.js';
import { checkSpec, type Declarations, given, kinds, recordOf, type SpecOf, withDefaults } from '../base/settings.js';
import { DATASET_NAMES, type DatasetName } from '../data/datasets.js';
import { NOISE_LEVEL } from '../noise/gaussian.js';
import { SEQUENCES, type SequenceName } from '../smoothing/confidence-sequence.js';
import { MAX_BATCH, MAX_JOB_SAMPLES } from '../queue/job.js';

/**
 * The settings of `smoothcert predict` and the library's runSmoothing('predict', …) (certify adds
 * CERTIFY_SETTINGS). `decides` marks what the result file's settings line records: a resumed run
 * must agree on each of them (the model and the data are recorded by content instead).
 */
export const SMOOTHING_SETTINGS = {
  model: {
    kind: kinds.text('<path>'),
    help: 'base classifier: a smoothcert model folder (from `smoothcert train`) or an .onnx file',
    required: true,
    decides: false,
  },
  out: {
    kind: kinds.text('<file>'),
    help: 'result TSV; an existing file from the same settings is resumed',
    required: true,
    decides: false,
  },
  dataset: {
    kind: kinds.choice(DATASET_NAMES),
    help: 'the dataset whose examples are classified',
    default: 'fashion-mnist',
    decides: true,
  },
  split: { kind: kinds.choice(['train', 'test'] as const, '<split>'), help: 'the dataset split', default: 'test', decides: true },
  dataDir: {
    kind: kinds.text('<dir>'),
    help: 'folder with the dataset files',
    defaultText: "the dataset's (fashion-mnist: /usr/share/datasets/fashion-mnist)",
    decides: false,
  },
  sigma: {
    kind: NOISE_LEVEL,
    help: 'noise level σ',
    defaultText: 'the σ the model records (smoothcert models, exported .onnx files)',
    decides: true,
  },
  n: {
    kind: kinds.integer(1, 1e12, '<count>'),
    help: 'Monte Carlo samples to estimate (CERTIFY) or vote (PREDICT)',
    default: 100_000,
    decides: true,
  },
  alpha: { kind: kinds.probability('<α>'), help: 'failure probability of the guarantee', default: 0.001, decides: true },
  batch: {
    kind: kinds.integer(1, MAX_BATCH, '<size>'),
    help: 'noisy samples per forward pass; a resumed file must share it (another batch may round a sample differently)',
    default: 1000,
    decides: true,
  },
  skip: { kind: kinds.integer(1), help: 'take every k-th example of the split', default: 1, decides: true },
  // Not in the settings line: a larger max extends the same subset, a smaller one stops early.
  max: {
    kind: kinds.integer(0, Number.MAX_SAFE_INTEGER, '<i>'),
    help: 'stop before example index i',
    defaultText: 'the end of the split',
    decides: false,
  },
  seed: { kind: kinds.integer(0), help: 'noise seed; the same seed gives the same results', default: 0, decides: true },
  inputLayout: {
    kind: kinds.choice(['nchw', 'nhwc'] as const, '<layout>'),
    help: 'nchw (PyTorch) or nhwc (smoothcert export)',
    defaultText: 'as the file records, else nchw',
    decides: true,
    group: 'ONNX models',
  },
  mean: {
    kind: kinds.numberList('<list>'),
    help: 'per-channel mean of a normalization outside the graph, e.g. 0.4914,0.4822,0.4465',
    decides: true,
    group: 'ONNX models',
  },
  std: {
    kind: kinds.numberList('<list>'),
    help: 'per-channel std of a normalization outside the graph',
    decides: true,
    group: 'ONNX models',
  },
  output: {
    kind: kinds.text('<name>'),
    help: 'the output with the class scores (logits or probabilities), when the graph has several',
    decides: true,
    group: 'ONNX models',
  },
  precision: {
    kind: kinds.choice(['fp32', 'bf16'] as const, '<p>'),
    help: 'on the native backend: bf16 runs convolutions and inner products in bfloat16 (CPUs with AVX512-BF16; faster, and the certificates are those of the bf16 model)',
    default: 'fp32',
    decides: true,
  },
  engine: {
    kind: kinds.choice(['auto', 'plan', 'tfjs', 'onnxruntime'] as const, '<engine>'),
    help: 'what runs the model: plan (the native inference plan), tfjs (a model folder layer by layer), onnxruntime (an .onnx file); auto: the plan where the native backend runs; a graph or layer the plan lacks on onnxruntime or tfjs, said in one line',
    default: 'auto',
    decides: false,
  },
} as const satisfies Declarations;

/** CERTIFY's settings beyond PREDICT's: the selection samples and adaptive CERTIFY (smoothing/adaptive.ts). */
export const CERTIFY_SETTINGS = {
  ...SMOOTHING_SETTINGS,
  n0: { kind: kinds.integer(1, 1e12, '<count>'), help: 'samples used to select the top class', default: 100, decides: true },
  adaptive: {
    kind: kinds.switch(),
    help: 'stop sampling once the answer is settled, with the same 1 − alpha guarantee (time-uniform confidence sequence); adds a samples column',
    decides: true,
  },
  radii: {
    kind: kinds.nonNegativeList('<list>'),
    help: 'decision mode: the radii to decide, e.g. 0.25,0.5; adds a certified column',
    defaultText: 'the table radii 0, 0.25, … up to what the budget can certify',
    decides: true,
    group: 'adaptive',
  },
  tolerance: {
    kind: kinds.positive('<t>'),
    help: 'radius mode: stop when more samples cannot raise the radius by more than t·σ',
    decides: true,
    group: 'adaptive',
  },
  maxN: {
    kind: kinds.integer(1, 1e12, '<count>'),
    help: 'at most this many estimation samples',
    default: 100_000,
    decides: true,
    group: 'adaptive',
  },
  sequence: { kind: kinds.choice(SEQUENCES), help: 'the lower confidence sequence', default: 'union-cp', decides: true, group: 'adaptive' },
} as const satisfies Declarations;

/** Counting on `smoothcert worker` processes: certify, predict and the API service take these. */
export const QUEUE_SETTINGS = {
  queue: {
    kind: kinds.text('<url>'),
    help: 'count on `smoothcert worker` processes serving the BullMQ queue in this Redis (redis://HOST:PORT); the results are the same',
    decides: false,
  },
  chunk: {
    kind: kinds.integer(1, MAX_JOB_SAMPLES, '<count>'),
    help: 'with a queue: noise samples per job, rounded down to a multiple of the batch',
    default: 10_000,
    decides: false,
  },
} as const satisfies Declarations;

export type PredictSpec = SpecOf<typeof SMOOTHING_SETTINGS>;
export type CertifySpec = SpecOf<typeof CERTIFY_SETTINGS>;

/** The adaptive-only settings: given without `adaptive`, they would be ignored. */
export const ADAPTIVE_ONLY = ['radii', 'tolerance', 'maxN', 'sequence'] as const;

/**
 * The result file's settings line: every setting that decides the rows, as resolved for this run
 * (undefined = not recorded), and the model and data by content, so the same files under another
 * path resume. Equal lines may resume each other (files/result-log.ts).
 */
export function settingsRecord(
  mode: 'certify' | 'predict',
  resolved: Readonly<Record<string, unknown>>,
  fingerprints: { modelFingerprint: string; dataFingerprint: string },
): Record<string, unknown> {
  return { ...fingerprints, ...recordOf(mode === 'certify' ? CERTIFY_SETTINGS : SMOOTHING_SETTINGS, resolved) };
}

/** A run's settings with every default filled in; `adaptive` only for adaptive CERTIFY. */
export interface ResolvedSmoothing {
  model: string;
  out: string;
  dataset: DatasetName;
  split: 'train' | 'test';
  dataDir?: string;
  /** Undefined: the σ the model records. */
  sigma?: number;
  n: number;
  n0: number;
  alpha: number;
  batch: number;
  skip: number;
  max?: number;
  seed: number;
  onnx: { inputLayout?: 'nchw' | 'nhwc'; mean?: number[]; std?: number[]; output?: string };
  precision: 'fp32' | 'bf16';
  engine: 'auto' | 'plan' | 'tfjs' | 'onnxruntime';
  adaptive?: { maxN: number; sequence: SequenceName; radii?: number[]; tolerance?: number };
}

/**
 * The run a spec describes, checked before anything is read or written: each value against its
 * setting, the required ones present, and no setting given that this mode would ignore.
 */
export function resolveSmoothing(mode: 'certify' | 'predict', spec: CertifySpec): ResolvedSmoothing {
  checkSpec(mode === 'certify' ? CERTIFY_SETTINGS : SMOOTHING_SETTINGS, spec);
  for (const key of ['model', 'out'] as const) {
    if (spec[key] === undefined) throw new SettingError(key, (name) => `${name(key)} is required: ${SMOOTHING_SETTINGS[key].help}`);
  }
  const adaptiveOnly = ADAPTIVE_ONLY.filter((k) => spec[k] !== undefined);
  if (!spec.adaptive && adaptiveOnly.length > 0) {
    throw new SettingError(
      adaptiveOnly[0]!,
      (name) =>
        `${adaptiveOnly.map(name).join(', ')} ${adaptiveOnly.length > 1 ? 'apply' : 'applies'} to adaptive CERTIFY only; add ${name('adaptive')}`,
    );
  }
  if (spec.adaptive && spec.n !== undefined) {
    throw new SettingError(
      'n',
      (name) => `${name('n')} is the sample count of fixed-n CERTIFY; in adaptive mode give the budget as ${name('maxN')}`,
    );
  }
  if (spec.radii !== undefined && spec.tolerance !== undefined) {
    throw new SettingError(
      'radii',
      (name) => `${name('radii')} (decision mode) and ${name('tolerance')} (radius mode) ask different questions; give one of them`,
    );
  }
  const o = withDefaults(CERTIFY_SETTINGS, spec);
  return {
    model: spec.model!,
    out: spec.out!,
    dataset: o.dataset,
    split: o.split,
    ...(spec.dataDir === undefined ? {} : { dataDir: spec.dataDir }),
    ...(spec.sigma === undefined ? {} : { sigma: spec.sigma }),
    n: o.n,
    n0: o.n0,
    alpha: o.alpha,
    batch: o.batch,
    skip: o.skip,
    ...(spec.max === undefined ? {} : { max: spec.max }),
    seed: o.seed,
    onnx: given({ inputLayout: spec.inputLayout, mean: spec.mean, std: spec.std, output: spec.output }),
    precision: o.precision,
    engine: o.engine,
    ...(spec.adaptive
      ? { adaptive: { maxN: o.maxN, sequence: o.sequence, ...given({ radii: spec.radii, tolerance: spec.tolerance }) } }
      : {}),
  };
}

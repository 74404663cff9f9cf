import { type Declarations, kinds, type SpecOf } from '../base/settings.js';
import { DATASET_NAMES, DATASETS, type DatasetInfo } from '../data/datasets.js';
import { ARCHITECTURES, type ArchName } from '../models/registry.js';
import { NOISE_LEVEL } from '../noise/gaussian.js';
import { METHOD_NAMES } from './method.js';
import { METHOD_SETTINGS, type MethodOptionKey } from './method-options.js';
import { METHODS } from './methods.js';

/** A default that depends on the dataset, in the words of the reference page: "fashion-mnist 90, cifar10 150, …". */
function perDataset(of: (info: DatasetInfo) => unknown): string {
  const groups = new Map<string, string[]>();
  for (const name of DATASET_NAMES) {
    const v = of(DATASETS[name]);
    const text = Array.isArray(v) ? v.join(',') : String(v);
    groups.set(text, [...(groups.get(text) ?? []), name]);
  }
  return `by dataset: ${[...groups].map(([v, names]) => `${names.join(', ')} ${v}`).join('; ')}`;
}

/** A method option's default from each method's own (METHODS), so the paper's values live in one place. */
function perMethod(key: MethodOptionKey): string {
  const values = METHOD_NAMES.flatMap((m) => (key in METHODS[m].defaults ? [`${m} ${METHODS[m].defaults[key]}`] : []));
  return `by method: ${values.join(', ')}`;
}

const methodOptions = Object.fromEntries(
  Object.entries(METHOD_SETTINGS).map(([key, s]) => [key, { ...s, defaultText: perMethod(key as MethodOptionKey) }]),
) as { [K in MethodOptionKey]: (typeof METHOD_SETTINGS)[K] & { defaultText: string } };

/**
 * Every setting of a training run (`smoothcert train`, the library's `train`): the paper's
 * schedule by dataset (Supplementary A.1), the method's options by method. Adding a setting is
 * one entry here and the code that uses it.
 */
export const TRAIN_SETTINGS = {
  sigma: { kind: NOISE_LEVEL, help: 'training noise level σ', required: true, decides: true },
  dataset: { kind: kinds.choice(DATASET_NAMES), help: 'the dataset to train on', default: 'fashion-mnist', decides: true },
  arch: {
    kind: kinds.choice(Object.keys(ARCHITECTURES) as ArchName[]),
    help: 'the base classifier architecture',
    defaultText: perDataset((d) => d.defaultArch),
    decides: true,
  },
  method: { kind: kinds.choice(METHOD_NAMES), help: 'the training objective', default: 'consistency', decides: true },
  ...methodOptions,
  deferEpochs: {
    ...methodOptions.deferEpochs,
    defaultText: 'MACER: the first learning-rate step epoch, as the reference trains it; 0 = never',
  },
  epochs: {
    kind: kinds.integer(1, 100_000),
    help: 'epochs',
    defaultText: perDataset((d) => d.schedule.epochs),
    decides: true,
    group: 'schedule',
  },
  lr: {
    kind: kinds.positive('<lr>'),
    help: 'initial learning rate',
    defaultText: perDataset((d) => d.schedule.lr),
    decides: true,
    group: 'schedule',
  },
  lrMilestones: {
    kind: kinds.increasingEpochs(),
    flag: 'lr-steps',
    help: 'epochs at which the learning rate is multiplied by the decay factor',
    defaultText: perDataset((d) => d.schedule.lrMilestones),
    decides: true,
    group: 'schedule',
  },
  lrGamma: { kind: kinds.positive('<g>'), help: 'learning-rate decay factor', default: 0.1, decides: true, group: 'schedule' },
  batchSize: {
    kind: kinds.integer(1, 65_536, '<B>'),
    flag: 'batch',
    help: 'loader batch size (m noisy copies share it: a step sees B noisy samples)',
    defaultText: perDataset((d) => d.schedule.batchSize),
    decides: true,
    group: 'schedule',
  },
  momentum: { kind: kinds.nonNegative('<μ>'), help: 'SGD momentum', default: 0.9, decides: true, group: 'SGD' },
  nesterov: {
    kind: kinds.switch(),
    help: "Nesterov momentum, as the paper says (off: plain momentum, as the authors' code)",
    default: true,
    decides: true,
    group: 'SGD',
  },
  weightDecay: { kind: kinds.nonNegative('<wd>'), help: 'L2 weight decay', default: 1e-4, decides: true, group: 'SGD' },
  precision: {
    kind: kinds.choice(['fp32', 'bf16'] as const, '<p>'),
    help: 'on the native backend: bf16 runs convolutions and inner products (forward and gradients) in bfloat16 with float32 accumulation, master weights, batch norm and losses (CPUs with AVX512-BF16; faster); the saved weights are float32',
    default: 'fp32',
    decides: true,
  },
  seed: { kind: kinds.integer(0), help: 'seed of initialization, shuffling, augmentation and noise', default: 0, decides: true },
  trainSize: {
    kind: kinds.integer(1, Number.MAX_SAFE_INTEGER, '<N>'),
    help: 'train on the first N training examples only',
    defaultText: 'all',
    decides: true,
  },
  evalSize: {
    kind: kinds.integer(1, Number.MAX_SAFE_INTEGER, '<N>'),
    help: 'test examples evaluated under noise after each epoch (ImageNet images are held decoded, so fewer)',
    defaultText: perDataset((d) => d.evalSize),
    decides: false,
  },
} as const satisfies Declarations;

/**
 * What a user asks for: σ and whatever else differs from the paper's settings (left out = the
 * default: the dataset's schedule and architecture, the method's options).
 */
export type TrainSpec = SpecOf<typeof TRAIN_SETTINGS>;

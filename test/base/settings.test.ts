import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { SettingError } from '../../src/base/errors.js';
import { checkSpec, type Declarations, kinds, recordOf } from '../../src/base/settings.js';
import { cliReference } from '../../src/cli/reference.js';
import { addSettings, flagOf, givenSettings } from '../../src/cli/settings.js';
import { CERTIFY_SETTINGS } from '../../src/runs/smoothing-settings.js';
import { resolveRunConfig, trainingRecord } from '../../src/training/config.js';
import { createMethod } from '../../src/training/methods.js';
import { TRAIN_SETTINGS } from '../../src/training/settings.js';

test('kinds read a command line and check a library value by one rule', () => {
  const k = kinds.integer(1, 10);
  assert.equal(k.read('7'), 7);
  for (const bad of ['', ' ', '0', '11', '2.5', 'x', '1e400']) assert.equal(k.read(bad), undefined, bad);
  assert.equal(k.accepts(7), true);
  assert.equal(k.accepts('7'), false);
  assert.equal(kinds.probability().read('1'), undefined);
  assert.equal(kinds.probability().read('0.001'), 0.001);
  assert.deepEqual(kinds.increasingEpochs().read('30,60'), [30, 60]);
  for (const bad of ['60,30', '30,30', '30,', '-1', '1.5']) assert.equal(kinds.increasingEpochs().read(bad), undefined, bad);
  assert.deepEqual(kinds.numberList('<l>').read('0.4914, 0.4822,0.4465'), [0.4914, 0.4822, 0.4465]);
  assert.equal(kinds.numberList('<l>').read('0.5,x'), undefined);
  assert.equal(kinds.choice(['nchw', 'nhwc']).read('nchw'), 'nchw');
  assert.equal(kinds.choice(['nchw', 'nhwc']).read('chw'), undefined);
  assert.equal(TRAIN_SETTINGS.sigma.kind.read('0'), undefined, 'σ = 0 is no noise level');
  assert.equal(TRAIN_SETTINGS.sigma.kind.read(String(2 ** 126)), undefined, 'beyond 2^125 x + σz overflows float32');
});

test('checkSpec refuses an unknown key and a value against its rule, naming the key', () => {
  const refused = (spec: object, key: string, pattern: RegExp) =>
    assert.throws(
      () => checkSpec(TRAIN_SETTINGS, spec),
      (e: Error) => e instanceof SettingError && e.setting === key && pattern.test(e.message) && !e.message.includes('--'),
    );
  refused({ sigma: 0.5, lbdd: 1 }, 'lbdd', /lbdd is not a setting here/);
  refused({ sigma: 0.5, numNoise: 2.5 }, 'numNoise', /numNoise must be an integer ≥ 1 and ≤ 1024, got 2\.5/);
  refused({ sigma: 0.5, lrMilestones: [60, 30] }, 'lrMilestones', /must be an increasing list of epochs/);
  refused({ sigma: -1 }, 'sigma', /sigma must be a noise level > 0/);
  refused({ sigma: 0.5, method: 'adam' }, 'method', /one of gaussian, consistency/);
  checkSpec(TRAIN_SETTINGS, { sigma: 0.5, lbd: 5, nesterov: false, trainSize: undefined });
});

test('a library error names the key; the CLI names the flag through flagOf', () => {
  const program = new Command();
  addSettings(program.command('train'), TRAIN_SETTINGS);
  addSettings(program.command('certify'), CERTIFY_SETTINGS);
  const e = (() => {
    try {
      resolveRunConfig({ sigma: 0.5, method: 'gaussian', lbd: 3 });
    } catch (err) {
      return err as SettingError;
    }
    assert.fail('a method option the method does not take is refused');
  })();
  assert.equal(e.message, 'option lbd does not apply to method gaussian (its options: numNoise)');
  assert.equal(e.describe(flagOf), 'option --lbd does not apply to method gaussian (its options: --num-noise)');
  assert.equal(flagOf('batchSize'), '--batch');
  assert.equal(flagOf('lrMilestones'), '--lr-steps');
  assert.equal(flagOf('form'), '--consistency-loss');
  assert.equal(flagOf('nesterov'), '--no-nesterov');
  assert.equal(flagOf('maxN'), '--max-n');
});

test('the command line gives the library spec of exactly the flags typed', async () => {
  const program = new Command().exitOverride();
  let spec: object | undefined;
  const cmd = addSettings(program.command('train'), TRAIN_SETTINGS).action((_, self: Command) => {
    spec = givenSettings(self, TRAIN_SETTINGS);
  });
  assert.ok(cmd);
  await program.parseAsync(
    ['train', '--sigma', '0.25', '--batch', '64', '--lr-steps', '5,8', '--no-nesterov', '--consistency-loss', 'kl'],
    {
      from: 'user',
    },
  );
  assert.deepEqual(spec, { sigma: 0.25, batchSize: 64, lrMilestones: [5, 8], nesterov: false, form: 'kl' });
});

test('the training record is every setting that decides results, resolved (method options by their method)', () => {
  const config = resolveRunConfig({ sigma: 0.5, lbd: 5, epochs: 3 });
  const record = trainingRecord(config, createMethod(config.method, config.sigma, config.methodOptions).options);
  const decides = Object.entries(TRAIN_SETTINGS)
    .filter(([, s]) => s.decides)
    .map(([k]) => k);
  for (const key of Object.keys(record)) assert.ok(decides.includes(key), `${key} is recorded but does not decide results`);
  assert.deepEqual(
    { ...record },
    {
      sigma: 0.5,
      dataset: 'fashion-mnist',
      arch: 'lenet',
      method: 'consistency',
      lbd: 5,
      eta: 0.5,
      numNoise: 2,
      form: 'default',
      epochs: 3,
      lr: 0.01,
      lrMilestones: [30, 60],
      lrGamma: 0.1,
      batchSize: 256,
      momentum: 0.9,
      nesterov: true,
      weightDecay: 1e-4,
      precision: 'fp32',
      seed: 0,
    },
  );
});

test('one declaration gives the option, the check, the record and the reference line of a new setting', async () => {
  // A throwaway setting, declared once: everything else follows from the declaration.
  const declarations = {
    ...TRAIN_SETTINGS,
    labelSmoothing: { kind: kinds.between(0, 1, 'a number in [0, 1]', '<ε>'), help: 'label smoothing ε', default: 0, decides: true },
  } as const satisfies Declarations;
  const program = new Command('smoothcert').exitOverride();
  let spec: Record<string, unknown> = {};
  addSettings(program.command('train').description('train'), declarations).action((_, self: Command) => {
    spec = givenSettings(self, declarations);
  });
  await program.parseAsync(['train', '--label-smoothing', '0.1'], { from: 'user' });
  assert.deepEqual(spec, { labelSmoothing: 0.1 });
  assert.throws(() => checkSpec(declarations, { labelSmoothing: 2 }), /labelSmoothing must be a number in \[0, 1\], got 2/);
  assert.deepEqual(recordOf(declarations, { labelSmoothing: 0.1, evalSize: 100 }), { labelSmoothing: 0.1 });
  assert.match(cliReference(program), /\| `--label-smoothing <ε>` \| label smoothing ε \(default 0\) \|/);
});

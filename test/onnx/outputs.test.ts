import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../src/base/errors.js';
import { loadOnnxClassifier } from '../../src/onnx/classifier.js';
import { AttributeType, decodeModel, encodeModel } from '../../src/onnx/proto/model.js';
import { logProbGaps } from '../../src/smoothing/log-prob-gap.js';
import { cli } from '../helpers/cli.js';
import { randomImages, tempDir } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/onnx/fashion-tiny.onnx', import.meta.url));
const dir = tempDir();
after(() => rmSync(dir, { recursive: true, force: true }));
const options = { inputLayout: 'nchw' as const, mean: [0.5], std: [0.5], expectedShape: [28, 28, 1] as [number, number, number] };

/** The fixture with a Softmax after its logits: `keepLogits` keeps the logits as a first output too. */
function withSoftmax(name: string, keepLogits: boolean): string {
  const model = decodeModel(readFileSync(FIXTURE));
  const logits = model.graph.output[0]!;
  model.graph.node.push({
    name: 'softmax',
    opType: 'Softmax',
    input: [logits.name],
    output: ['probs'],
    attribute: [{ name: 'axis', type: AttributeType.INT, i: 1 }],
  });
  const probs = { ...logits, name: 'probs' };
  model.graph.output = keepLogits ? [logits, probs] : [probs];
  const path = join(dir, name);
  writeFileSync(path, encodeModel(model));
  return path;
}

test('a graph with two outputs is refused unless one is named; the named one is read', async () => {
  const two = withSoftmax('two.onnx', true);
  await assert.rejects(
    loadOnnxClassifier(two, options),
    (e: unknown) =>
      e instanceof UserError && /has 2 outputs \('.*', 'probs'\); name the one with the class scores with output/.test(e.message),
  );
  await assert.rejects(loadOnnxClassifier(two, { ...options, output: 'nope' }), /has no output 'nope'; its outputs are/);
  const probs = await loadOnnxClassifier(two, { ...options, output: 'probs' });
  assert.equal(probs.outputName, 'probs');
  assert.equal(probs.scores, 'probabilities');
  const r = cli([
    'certify',
    '--model',
    two,
    '--sigma',
    '0.25',
    '--mean',
    '0.5',
    '--std',
    '0.5',
    '--out',
    join(dir, 'two.tsv'),
    '--max',
    '1',
    '--n0',
    '10',
    '--n',
    '100',
  ]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /has 2 outputs .*--output/);
  const named = cli([
    'certify',
    '--model',
    two,
    '--output',
    'probs',
    '--sigma',
    '0.25',
    '--mean',
    '0.5',
    '--std',
    '0.5',
    '--out',
    join(dir, 'two.tsv'),
    '--max',
    '1',
    '--n0',
    '10',
    '--n',
    '100',
  ]);
  assert.equal(named.status, 0, named.stderr);
});

test('a graph that outputs probabilities is detected and its gaps are those of its logits', async () => {
  const logits = await loadOnnxClassifier(FIXTURE, options);
  const probs = await loadOnnxClassifier(withSoftmax('softmax.onnx', false), options);
  assert.equal(logits.scores, 'logits');
  assert.equal(probs.scores, 'probabilities');
  const rows = 64;
  const images = randomImages(rows, [28, 28, 1], 5);
  const a = logProbGaps(await logits.logits(images, rows), rows, 10, 3);
  const b = logProbGaps(await probs.logits(images, rows), rows, 10, 3);
  // log(softmax(z)) = z − logsumexp(z): the same gaps but for float32 rounding in exp, the 10-term sum, the
  // division and log, each a few ulp (2⁻²⁴) of values of the logits' size: allowed 2⁻¹⁶, 16× that at 16 ulp.
  a.forEach((g, i) => assert.ok(Math.abs(g - b[i]!) <= 2 ** -16 * (1 + Math.abs(g)), `row ${i}: ${g} vs ${b[i]}`));
  logits.dispose();
  probs.dispose();
});

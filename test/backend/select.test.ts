import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../src/base/errors.js';
import { activeBackend, chooseBackend, initBackend, setBackend } from '../../src/backend/select.js';
import { ENGINE } from './parity.js';

test('chooseBackend: an explicit choice wins over the environment, the environment over the default', () => {
  assert.deepEqual(chooseBackend('cpu', 'wasm', undefined), { name: 'cpu' });
  assert.deepEqual(chooseBackend(undefined, 'wasm', undefined), { name: 'wasm' });
  assert.deepEqual(chooseBackend(undefined, undefined, undefined), { name: 'native' });
  assert.deepEqual(chooseBackend(undefined, '', undefined), { name: 'native' });
});

test('chooseBackend: without the addon the default is wasm, with one warning that says why', () => {
  const choice = chooseBackend(undefined, undefined, 'libdnnl.so.2: cannot open shared object file');
  assert.equal(choice.name, 'wasm');
  assert.match(choice.warning!, /native backend unavailable \(libdnnl\.so\.2: cannot open shared object file\).*tfjs-wasm/);
  // An explicit native request is not silently downgraded.
  assert.deepEqual(chooseBackend('native', undefined, 'missing'), { name: 'native' });
});

test('chooseBackend: an unknown SMOOTHCERT_BACKEND is a UserError naming the choices', () => {
  assert.throws(
    () => chooseBackend(undefined, 'gpu', undefined),
    (e: unknown) => e instanceof UserError && /SMOOTHCERT_BACKEND=gpu/.test(e.message) && /native, wasm, cpu/.test(e.message),
  );
});

test('setBackend switches tfjs and activeBackend reports it; unknown names are UserErrors', async () => {
  try {
    await setBackend('cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.equal(activeBackend(), 'cpu');
    await setBackend('wasm');
    assert.equal(activeBackend(), 'wasm');
    await assert.rejects(setBackend('tpu' as 'cpu'), UserError);
  } finally {
    await initBackend();
  }
  assert.equal(activeBackend(), ENGINE);
});

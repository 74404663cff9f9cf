import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commonRange, histogram } from '../../src/report/histogram.js';

test('histogram counts by hand: half-open bins, the last one closed', () => {
  assert.deepEqual(histogram([0, 0.5, 1, 1, 2], 2, 0, 2).counts, [2, 3]);
  assert.deepEqual(histogram([0, 0.49, 0.5, 1.99, 2], 4, 0, 2).counts, [2, 1, 0, 2]);
  assert.deepEqual(histogram([-1, -0.25, 0.25], 2, -1, 1).counts, [2, 1]);
  assert.throws(() => histogram([3], 2, 0, 2), /outside \[0, 2\]/);
  assert.throws(() => histogram([1], 0, 0, 2), /bins must be an integer ≥ 1/);
});

test('commonRange spans every set, and widens a single value to a bin of positive width', () => {
  assert.deepEqual(
    commonRange([
      [1, 3],
      [-2, 0],
    ]),
    { lo: -2, hi: 3 },
  );
  assert.deepEqual(commonRange([[4, 4]]), { lo: 3.5, hi: 4.5 });
  assert.throws(() => commonRange([[]]), /at least one value/);
});

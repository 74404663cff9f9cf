#!/usr/bin/env node
// Makes data/fashion-mnist-sample/: the first 2000 training and first 500 test examples of
// Fashion-MNIST as gzipped IDX files, from the Debian package dataset-fashion-mnist.
// Reproducible: same input files → byte-identical output (gzip header without a timestamp).
// Usage: npm run build && node scripts/make-fashion-sample.js [SOURCE_DIR]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { encodeIdx, readIdx } from '../dist/src/data/idx.js';

const COUNTS = { train: 2000, t10k: 500 };
const source = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'fashion-mnist-sample');
mkdirSync(target, { recursive: true });

for (const [prefix, n] of Object.entries(COUNTS)) {
  for (const kind of ['images-idx3-ubyte', 'labels-idx1-ubyte']) {
    const name = `${prefix}-${kind}`;
    const { dims, data } = await readIdx(join(source, `${name}.gz`));
    const perItem = dims.slice(1).reduce((a, b) => a * b, 1);
    const idx = encodeIdx([n, ...dims.slice(1)], data.subarray(0, n * perItem));
    const gz = gzipSync(idx, { level: 9 });
    writeFileSync(join(target, `${name}.gz`), gz);
    console.log(`${name}.gz: ${n} of ${dims[0]}, ${gz.length} bytes`);
  }
}

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN } from '../helpers/cli.js';
import { underLoad } from '../helpers/load.js';

// The study's LeNet (consistency, σ = 0.5) on Fashion-MNIST: convolutions, so the kernel choice
// matters, and test images whose counts sit near 50 % (abstentions), where one sample flips a row.
const model = fileURLToPath(new URL('../../../docs/results/fashion-mnist/consistency-s0.5', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'smoothcert-load-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** certify in its own process (asynchronously, so the busy loops keep running beside it). */
function certify(out: string): Promise<string> {
  const child = spawn(
    process.execPath,
    [BIN, 'certify', '--model', model, '--out', out, '--max', '24', '--n0', '64', '--n', '3000', '--batch', '700', '--seed', '4'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(stderr) : reject(new Error(`certify exited ${code}: ${stderr}`)))),
  );
}

/** Settings line, header and rows without the time column. */
function withoutTime(file: string): string[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => (line.startsWith('#') ? line : line.split('\t').slice(0, -1).join('\t')));
}

// What it guards is the native kernels' choice (tfjs-wasm's XNNPACK chooses by shape alone).
test('certify in two processes, one beside two busy loops, writes the same file but for time', {
  skip: process.env.SMOOTHCERT_BACKEND === 'wasm' && "checks the native backend's kernel choice",
}, async () => {
  const quiet = join(tmp, 'quiet.tsv');
  const loaded = join(tmp, 'loaded.tsv');
  await certify(quiet);
  await underLoad(2, () => certify(loaded));
  const a = withoutTime(quiet);
  assert.equal(a.length, 2 + 24);
  assert.deepEqual(withoutTime(loaded), a);
});

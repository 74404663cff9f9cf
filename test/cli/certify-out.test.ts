import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, startUntil } from '../helpers/cli.js';
import { saveTinyModel } from '../helpers/models.js';
import { resultRows } from '../helpers/results.js';

const tmp = mkdtempSync(join(tmpdir(), 'smoothcert-out-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const model = join(tmp, 'model');
await saveTinyModel(model, [28, 28, 1], 10, 0.25);
const quick = ['--max', '2', '--n0', '10', '--n', '200', '--batch', '100'];
const certify = (out: string) => cli(['certify', '--model', model, '--out', out, ...quick]);
const root = process.getuid?.() === 0;

/** A one-line error (exit 2) matching `pattern`, with nothing left beside `path`. */
function refused(r: ReturnType<typeof cli>, pattern: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
}

test('device nodes made with mknod, a FIFO and a socket path as --out are refused before anything is written', {
  skip: !root && 'mknod needs root',
}, () => {
  for (const [name, args] of [
    ['null', ['c', '1', '3']],
    ['full', ['c', '1', '7']],
    ['fifo', ['p']],
  ] as const) {
    const node = join(tmp, name);
    const made = spawnSync('mknod', [node, ...args]);
    assert.equal(made.status, 0, String(made.stderr));
    refused(certify(node), new RegExp(`--out ${node} is a (device|FIFO)`));
    // The node is still the node, and no lock or temporary file was left beside it.
    const s = lstatSync(node);
    assert.ok(name === 'fifo' ? s.isFIFO() : s.isCharacterDevice(), `${name} is unchanged`);
    assert.equal(existsSync(`${node}.lock`), false);
    assert.equal(existsSync(join(tmp, `.${name}.tmp`)), false);
    // A symlink to it is refused too, and stays a symlink.
    const link = join(tmp, `link-to-${name}`);
    symlinkSync(node, link);
    refused(certify(link), /is a (device|FIFO)/);
    assert.equal(readlinkSync(link), node);
  }
});

test('-, /proc and an empty name are refused in one line; a symlink to a file is followed, never replaced', () => {
  refused(certify('-'), /--out -: .* not to standard output/);
  refused(certify('/proc/x.tsv'), /--out \/proc\/x\.tsv is in \/proc/);
  const target = join(tmp, 'target.tsv');
  const link = join(tmp, 'link.tsv');
  symlinkSync(target, link); // dangling: the run creates the target
  const r = certify(link);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readlinkSync(link), target, 'the link is still a link');
  assert.equal(resultRows(target).length, 1 + 2);
  // Resuming through the link extends the same file.
  const again = cli(['certify', '--model', model, '--out', link, '--max', '3', '--n0', '10', '--n', '200', '--batch', '100']);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(resultRows(target).length, 1 + 3);
  assert.equal(readlinkSync(link), target);
});

/** Starts a long certify, waits for its first rows, applies `damage`, and returns how it ended. */
async function damagedMidRun(name: string, damage: (out: string) => void) {
  const out = join(tmp, name);
  const run = await startUntil(
    ['certify', '--model', model, '--out', out, '--max', '400', '--n0', '10', '--n', '3000', '--batch', '500'],
    () => existsSync(out) && resultRows(out).length >= 3,
  );
  damage(out);
  const status = await run.exited;
  return { out, status, stderr: run.stderr() };
}

test('a results file deleted under a running certify: the run stops in one line and puts the rows back', async () => {
  const r = await damagedMidRun('deleted.tsv', (out) => unlinkSync(out));
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /deleted\.tsv was deleted while this run wrote it; its \d+ bytes of rows are saved in .*deleted\.tsv: rerun/);
  const rows = resultRows(r.out);
  assert.ok(rows.length >= 3, 'the rows are back');
  assert.deepEqual(
    rows.slice(1).map((row) => Number(row[0])),
    rows.slice(1).map((_, i) => i),
  );
  const resumed = cli([
    'certify',
    '--model',
    model,
    '--out',
    r.out,
    '--max',
    String(rows.length + 1),
    '--n0',
    '10',
    '--n',
    '3000',
    '--batch',
    '500',
  ]);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming/);
});

test('a results file moved or truncated under a running certify: the run stops in one line saying so', async () => {
  const moved = await damagedMidRun('moved.tsv', (out) => renameSync(out, join(tmp, 'moved-away.tsv')));
  assert.equal(moved.status, 2, moved.stderr);
  assert.match(moved.stderr, /moved\.tsv was moved to .*moved-away\.tsv while this run wrote it; its rows are there/);
  assert.equal(existsSync(moved.out), false, 'nothing written at the old path');
  const truncated = await damagedMidRun('truncated.tsv', (out) => truncateSync(out, 10));
  assert.equal(truncated.status, 2, truncated.stderr);
  assert.match(truncated.stderr, /truncated\.tsv was truncated by another process while this run wrote it/);
  const replaced = await damagedMidRun('replaced.tsv', (out) => {
    unlinkSync(out);
    writeFileSync(out, 'someone else\n');
  });
  assert.equal(replaced.status, 2, replaced.stderr);
  assert.match(
    replaced.stderr,
    /replaced\.tsv was replaced by another file while this run wrote it; .* saved in .*replaced\.tsv\.recovered-\d+/,
  );
  assert.equal(readFileSync(replaced.out, 'utf8'), 'someone else\n', 'the other file is left alone');
});

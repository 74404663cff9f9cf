import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { Command } from 'commander';
import { register } from '../../src/cli/analyze.js';
import { UserError } from '../../src/base/errors.js';
import { ADAPTIVE_FIXTURE, FIXTURE } from '../report/fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'smoothcert-analyze-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function analyze(...args: string[]): Promise<void> {
  const program = new Command('smoothcert').exitOverride();
  register(program);
  await program.parseAsync(['analyze', ...args], { from: 'user' });
}

const rejectsWith = (args: string[], pattern: RegExp): Promise<void> =>
  assert.rejects(analyze(...args), (err: unknown) => err instanceof UserError && pattern.test(err.message));

test('writes the table for the fixture with the hand-computed values', async () => {
  const out = join(dir, 'table.csv');
  await analyze(FIXTURE, '--radii', '0,0.5,2.25', '--format', 'csv', '--labels', 'gauss', '--out', out);
  // Fixture: 60 % at r = 0, 40 % at 0.5, 0 % at 2.25, ACR 0.515 (see analyze.test.ts).
  assert.equal(readFileSync(out, 'utf8'), 'model,ACR,0.00,0.50,2.25\ngauss,0.515,60.0,40.0,0.0\n');
});

test('default radii run from 0 to 2.5 in steps of 0.25; the default label is the base name', async () => {
  const out = join(dir, 'table.md');
  await analyze(FIXTURE, '--out', out);
  const [head, , body] = readFileSync(out, 'utf8').split('\n');
  assert.equal(head, '| Model | ACR | 0.00 | 0.25 | 0.50 | 0.75 | 1.00 | 1.25 | 1.50 | 1.75 | 2.00 | 2.25 | 2.50 |');
  assert.equal(body, '| certify-small | 0.515 | 60.0 | 50.0 | 40.0 | 30.0 | 20.0 | 20.0 | 20.0 | 10.0 | 10.0 | 0.0 | 0.0 |');
});

test('fixed-n and adaptive files in one table: forward passes where recorded', async () => {
  const out = join(dir, 'mixed.csv');
  await analyze(FIXTURE, ADAPTIVE_FIXTURE, '--radii', '0,0.5', '--format', 'csv', '--labels', 'fixed,adaptive', '--out', out);
  // Adaptive fixture: 60 % at 0, 40 % at 0.5, ACR 0.46, 122800 forward passes (see analyze.test.ts).
  assert.equal(readFileSync(out, 'utf8'), 'model,ACR,0.00,0.50,forward passes\nfixed,0.515,60.0,40.0,\nadaptive,0.460,60.0,40.0,122800\n');
});

test('bad input is a UserError that says what to fix', async () => {
  const badHeader = join(dir, 'bad.tsv');
  writeFileSync(badHeader, 'index\tlabel\n');
  await rejectsWith([join(dir, 'missing.tsv')], /cannot read .*missing\.tsv/);
  await rejectsWith([badHeader], /bad\.tsv: header/);
  await rejectsWith([FIXTURE, '--format', 'html'], /unknown table format 'html'/);
  await rejectsWith([FIXTURE, '--radii', '0,abc'], /--radii expects numbers ≥ 0, got 'abc'/);
  await rejectsWith([FIXTURE, '--radii', '0,-1'], /--radii expects numbers ≥ 0, got '-1'/);
  await rejectsWith([FIXTURE, '--radii', '0,1', '--radii-step', '0.5'], /either --radii or --radii-step/);
  await rejectsWith([FIXTURE, '--radii-step', '0'], /--radii-step must be > 0/);
  await rejectsWith([FIXTURE, FIXTURE], /share the label 'certify-small'/);
  await rejectsWith([FIXTURE, '--labels', 'a,b'], /2 labels for 1 files/);
  await rejectsWith([FIXTURE, '--out', join(dir, 'no', 'such', 'dir.md')], /--out .*directory .*no\/such does not exist/);
  await rejectsWith([FIXTURE, '--plot', join(dir, 'nowhere', 'p.svg')], /--plot .*directory .*nowhere does not exist/);
  const table = join(dir, 't.md');
  await rejectsWith([FIXTURE, '--out', table, '--plot', join(dir, 'p.jpg')], /must end in \.svg or \.png/);
  assert.equal(existsSync(table), false, 'a bad --plot name fails before the table is written');
});

test('the smoothcert binary prints a user error on one line and exits 2', () => {
  const bin = fileURLToPath(new URL('../../../bin/smoothcert.js', import.meta.url));
  const result = spawnSync(process.execPath, [bin, 'analyze', join(dir, 'missing.tsv')], { encoding: 'utf8' });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /^smoothcert: error: cannot read .*missing\.tsv/);
});

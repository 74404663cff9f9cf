import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mulberry32 } from '../../src/data/rng.js';
import { cli, cliStart } from '../helpers/cli.js';
import { saveTinyModel } from '../helpers/models.js';
import { resultRows } from '../helpers/results.js';

const tmp = mkdtempSync(join(tmpdir(), 'smoothcert-faults-'));
const model = join(tmp, 'model');
await saveTinyModel(model, [28, 28, 1], 10, 0.25);
const args = (out: string) => ['certify', '--model', model, '--out', out, '--max', '100', '--n0', '50', '--n', '4000', '--batch', '500'];
const withoutTime = (f: string) =>
  resultRows(f)
    .slice(1)
    .map((row) => row.slice(0, 5).join('\t'));
const rowsIn = (f: string) => (existsSync(f) ? resultRows(f).length - 1 : 0);

test('certify killed with SIGKILL at 20 seeded random moments ends with the uninterrupted TSV', async () => {
  const reference = join(tmp, 'reference.tsv');
  assert.equal(cli(args(reference)).status, 0);
  const out = join(tmp, 'killed.tsv');
  const rng = new Mulberry32(20);
  const killedAt: string[] = [];
  for (let k = 0; k < 20; k++) {
    const child = cliStart(args(out));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const before = rowsIn(out);
    // A third of the kills at a random moment from start-up on (loading, resuming, the lock), the rest a
    // random few milliseconds after a random number of new rows (mid-example, mid-write).
    const early = rng.next() < 1 / 3;
    const delay = early ? 50 + rng.next() * 800 : rng.next() * 30;
    const target = before + 1 + Math.floor(rng.next() * 3);
    const poll = setInterval(() => {
      if (early || rowsIn(out) >= target) {
        clearInterval(poll);
        setTimeout(() => child.kill('SIGKILL'), delay);
      }
    }, 5);
    const code = await exited;
    clearInterval(poll);
    assert.notEqual(code, 0, `run ${k} finished before its kill; make the run longer`);
    killedAt.push(`${early ? 'early' : 'row'} ${rowsIn(out)}`);
  }
  const last = cli(args(out));
  assert.equal(last.status, 0, last.stderr);
  assert.deepEqual(withoutTime(out), withoutTime(reference), `rows when each kill landed: ${killedAt.join(', ')}`);
});

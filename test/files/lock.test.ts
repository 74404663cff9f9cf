import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../src/base/errors.js';
import { lockOutput } from '../../src/files/lock.js';

const tmp = mkdtempSync(join(tmpdir(), 'smoothcert-lock-'));
const LOCK_MODULE = fileURLToPath(new URL('../../src/files/lock.js', import.meta.url));

/** A process that takes the lock of `path`, says so, and holds it until killed. */
async function holder(path: string) {
  const script = `const { lockOutput } = await import(${JSON.stringify(LOCK_MODULE)});
    lockOutput(${JSON.stringify(path)}, 'test output'); console.log('locked'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('locked')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the holder exited (${code}) before locking`)));
  });
  return child;
}

test("a second writer is refused with the holder's pid; the lock is free again once released", () => {
  const path = join(tmp, 'a.tsv');
  const release = lockOutput(path, 'result file');
  assert.throws(
    () => lockOutput(path, 'result file'),
    (e: unknown) => e instanceof UserError && new RegExp(`result file .*a\\.tsv is in use by process ${process.pid} on `).test(e.message),
  );
  release();
  release(); // idempotent
  assert.equal(existsSync(`${path}.lock`), false);
  lockOutput(path, 'result file')();
});

test('a lock held by another live process is refused; one left by a killed process is taken over with a message', async () => {
  const path = join(tmp, 'run');
  const child = await holder(path);
  assert.throws(() => lockOutput(path, 'training run folder'), new RegExp(`in use by process ${child.pid} `));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const messages: string[] = [];
  const release = lockOutput(path, 'training run folder', (m) => messages.push(m));
  assert.equal(messages.length, 1);
  assert.match(messages[0]!, new RegExp(`taking over the lock .* left by process ${child.pid}, which is no longer running`));
  release();
});

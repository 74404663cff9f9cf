import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Command, CommanderError } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { cliReference } from '../../src/cli/reference.js';
import { BIN } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const PAGES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The fenced blocks of a Markdown text, with their language and the line before the fence. */
function blocks(markdown: string): { lang: string; body: string; before: string }[] {
  return [...markdown.matchAll(/(?:^|\n)([^\n]*)\n```(\w*)\n([\s\S]*?)\n```/g)].map((m) => ({ before: m[1]!, lang: m[2]!, body: m[3]! }));
}

/** Shell words of a command line: quotes grouped, a trailing comment dropped. */
function words(line: string): string[] {
  return [...line.replace(/\s#.*$/, '').matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** Every `smoothcert …` command in the shell blocks of a page (continuations joined, && and ; split). */
function commandsOf(markdown: string): string[][] {
  return blocks(markdown)
    .filter((b) => b.lang === 'sh' || b.lang === 'bash' || b.lang === '')
    .flatMap((b) => b.body.replace(/\\\n\s*/g, ' ').split('\n'))
    .flatMap((line) => line.split(/&&|;|\|/))
    .map((part) => words(part.trim()).filter((w) => w !== '&'))
    .filter((w) => w[0] === 'smoothcert' && w[1] !== undefined && !w.includes('--help'));
}

/** The program with every action replaced: parsing checks commands, flags, values and required options only. */
function parsingOnly(): Command {
  const program = buildProgram().exitOverride();
  for (const cmd of program.commands)
    cmd
      .exitOverride()
      .action(() => undefined)
      .configureOutput({ writeErr: () => undefined });
  return program;
}

test('the README is a first page: at most 150 lines', () => {
  const lines = read('README.md').split('\n').length;
  assert.ok(lines <= 150, `README.md has ${lines} lines`);
});

test('docs/cli.md is the reference the code declares (npm run docs:cli writes it)', () => {
  assert.equal(read('docs/cli.md'), cliReference(buildProgram()), 'docs/cli.md is stale: run npm run docs:cli');
});

test('every smoothcert command in the README and docs/ names a command, its flags and valid values', async () => {
  const problems: string[] = [];
  let checked = 0;
  for (const page of PAGES) {
    for (const argv of commandsOf(read(page))) {
      checked++;
      try {
        await parsingOnly().parseAsync(argv.slice(1), { from: 'user' });
      } catch (e) {
        if (!(e instanceof CommanderError)) throw e;
        problems.push(`${page}: ${argv.join(' ')}\n    ${e.message}`);
      }
    }
  }
  assert.ok(checked >= 20, `only ${checked} commands found: is the extraction still right?`);
  assert.deepEqual(problems, []);
});

test('the check sees a wrong flag and a bad value (a control)', async () => {
  for (const argv of [
    ['train', '--out', 'x', '--sigmaa', '0.5'],
    ['certify', '--model', 'm', '--out', 'o', '--n', '-3'],
  ]) {
    await assert.rejects(parsingOnly().parseAsync(argv, { from: 'user' }), CommanderError);
  }
});

test('relative links in the README and docs/ lead to files that exist', () => {
  const broken: string[] = [];
  for (const page of PAGES) {
    for (const m of read(page).matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!.split('#')[0]!;
      if (target === '' || /^[a-z]+:/.test(target)) continue;
      if (!existsSync(resolve(ROOT, dirname(page), target))) broken.push(`${page} → ${m[1]}`);
    }
  }
  assert.deepEqual(broken, []);
});

test("the README's session and library example run as written", { timeout: 300_000 }, () => {
  const readme = read('README.md');
  const session = blocks(readme).find((b) => b.before.includes('<!-- readme-session -->'));
  assert.ok(session, 'the README marks its session with <!-- readme-session -->');
  const dir = mkdtempSync(join(tmpdir(), 'smoothcert-readme-'));
  try {
    for (const line of session.body.split('\n')) {
      const argv = words(line);
      assert.equal(argv[0], 'smoothcert', `a session line that is not a smoothcert command: ${line}`);
      const r = spawnSync(process.execPath, [BIN, ...argv.slice(1)], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, `${line}\n${r.stderr}`);
      if (argv[1] === 'analyze') assert.match(r.stdout, /\| Consistency \| \d\.\d{3} \|/);
    }
    const rows = readFileSync(join(dir, 'runs/session/certify.tsv'), 'utf8').trim().split('\n');
    assert.equal(rows.length, 2 + 50, 'a settings line, the header and one row per image');
    assert.ok(existsSync(join(dir, 'runs/session/certified-accuracy.svg')));

    // The library example, importing the package by its name, on the session's model.
    const example = blocks(readme).find((b) => b.lang === 'ts' && b.body.includes("from 'smoothcert'"));
    assert.ok(example, 'the README has a library example');
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'smoothcert'));
    writeFileSync(join(dir, 'example.mjs'), `${example.body}\nconsole.log(JSON.stringify({ prediction, radius }));\n`);
    const r = spawnSync(process.execPath, ['example.mjs'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { prediction, radius } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { prediction: number; radius: number };
    assert.ok(Number.isInteger(prediction) && prediction >= -1 && prediction < 10 && radius >= 0, r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

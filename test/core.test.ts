import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Packages the core may import: each runs in a browser as it is. */
const BROWSER_SAFE = [/^@tensorflow\/tfjs-(core|layers)$/, /^@stdlib\//, /^vega-lite$/];

/** The Node-only folders (test/structure/layers.test.ts orders every folder). */
const NODE_FOLDERS = ['files', 'onnx', 'backend', 'loaders', 'queue', 'runs', 'serve', 'service', 'cli'];

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every module reachable from `entry` by static or dynamic imports, with the bare specifiers each imports. */
function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const visit = (file: string) => {
    if (graph.has(file)) return;
    const bare: string[] = [];
    graph.set(file, bare);
    for (const m of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (spec.startsWith('.')) visit(join(dirname(file), spec));
      else bare.push(spec);
    }
  };
  visit(entry);
  return graph;
}

test('nothing reachable from smoothcert/core imports a node: built-in, the addon, or a Node-only package', () => {
  const graph = importGraph(join(SRC, 'core.js'));
  assert.ok(graph.size > 30, `the walk found only ${graph.size} modules: is the import pattern still right?`);
  const problems: string[] = [];
  for (const [file, bare] of graph) {
    const name = relative(SRC, file);
    if (NODE_FOLDERS.some((folder) => name.startsWith(`${folder}/`))) {
      problems.push(`${name} is a Node module`);
    }
    for (const spec of bare) {
      const builtin = spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]!);
      if (builtin || !BROWSER_SAFE.some((re) => re.test(spec))) problems.push(`${name} imports ${spec}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the import walk catches a Node import (a control: the package root has them)', () => {
  const graph = importGraph(join(SRC, 'index.js'));
  const bare = [...graph.values()].flat();
  assert.ok(
    bare.some((s) => s.startsWith('node:')),
    'index.js reaches node: modules',
  );
  assert.ok(
    [...graph.keys()].some((f) => relative(SRC, f) === join('backend', 'addon.js')),
    'index.js reaches the addon loader',
  );
});

test('importing the package root loads no smoothcert addon and registers no backend', () => {
  // A fresh process: this one chose its backend before the tests ran.
  const root = fileURLToPath(new URL('../src/index.js', import.meta.url));
  const script = `const m = await import(${JSON.stringify(root)});
    const tf = await import('@tensorflow/tfjs-core');
    const { createRequire } = await import('node:module');
    const addons = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.endsWith('smoothcert_native.node'));
    console.log(JSON.stringify({ exports: Object.keys(m).length, backends: Object.keys(tf.engine().registryFactory), addons }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, SMOOTHCERT_BACKEND: '' },
  });
  assert.equal(r.status, 0, r.stderr);
  const seen = JSON.parse(r.stdout) as { exports: number; backends: string[]; addons: string[] };
  assert.ok(seen.exports > 50);
  assert.deepEqual(
    seen.backends.filter((b) => b !== 'cpu'),
    [],
    "only tfjs's own CPU backend is registered",
  );
  assert.deepEqual(seen.addons, []);
});

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The layers of src/, bottom first, by folder: a module may import from its own layer or a lower
 * one, never from above (type-only imports too). The first seven make the core, which runs in a
 * browser; the rest is Node only. Files directly under src/ are the package's entry points.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['base'],
  ['noise'],
  ['smoothing'],
  ['models'],
  ['data'],
  ['training'],
  ['report'],
  ['files'],
  ['onnx', 'backend'],
  ['plan'],
  ['loaders'],
  ['queue'],
  ['runs'],
  ['serve', 'service'],
  ['cli'],
  ['(entry points)'],
];
const CORE_LAYERS = 7;

/** Packages the core may import: each runs in a browser as it is. */
const BROWSER_SAFE = [/^@tensorflow\/tfjs-(core|layers)$/, /^@stdlib\//, /^vega-lite$/];

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SRC = join(ROOT, 'src');
/** import … from, export … from, import '…', import type …, and import('…'). */
const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') ? [relative(SRC, path)] : [];
  });
}

const folderOf = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '(entry points)');
const layerOf = (folder: string): number => LAYERS.findIndex((l) => l.includes(folder));

interface Import {
  from: string;
  /** A file under src/ (relative specifiers) or a package or built-in. */
  to: string;
  local: boolean;
}

function importsOf(file: string, text: string): Import[] {
  return [...text.matchAll(SPECIFIER)].map((m) => {
    const spec = m[1] ?? m[2] ?? m[3]!;
    if (!spec.startsWith('.')) return { from: file, to: spec, local: false };
    return { from: file, to: normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts'), local: true };
  });
}

/** Every import that breaks the layering or takes a Node-only module into the core. */
function violations(imports: readonly Import[]): string[] {
  const problems: string[] = [];
  for (const i of imports) {
    const from = layerOf(folderOf(i.from));
    if (i.local) {
      const to = layerOf(folderOf(i.to));
      if (to > from) problems.push(`${i.from} imports ${i.to} from a layer above its own`);
    } else if (from < CORE_LAYERS) {
      const builtin = i.to.startsWith('node:') || builtinModules.includes(i.to.split('/')[0]!);
      if (builtin || !BROWSER_SAFE.some((re) => re.test(i.to))) problems.push(`${i.from} (core) imports ${i.to}`);
    }
  }
  return problems;
}

const FILES = sources(SRC);
const IMPORTS = FILES.flatMap((f) => importsOf(f, readFileSync(join(SRC, f), 'utf8')));

test('every folder of src/ has a layer', () => {
  const unplaced = [...new Set(FILES.map(folderOf))].filter((f) => layerOf(f) < 0);
  assert.deepEqual(unplaced, [], 'give each new folder a layer in LAYERS (and a line in docs/ARCHITECTURE.md)');
});

test('no module imports from a layer above its own, and the core imports no Node module', () => {
  assert.ok(IMPORTS.length > 300, `only ${IMPORTS.length} imports found: is the pattern still right?`);
  assert.deepEqual(violations(IMPORTS), []);
});

test('the check sees an upward import, a type-only one, and a Node built-in in the core (a control)', () => {
  const made = [
    ...importsOf('models/x.ts', "import type { RunSettings } from '../files/result-log.js';"),
    ...importsOf('smoothing/y.ts', "import { readFileSync } from 'node:fs';"),
    ...importsOf('base/z.ts', "export { train } from '../runs/train.js';"),
    ...importsOf('cli/ok.ts', "import { train } from '../runs/train.js';\nimport { x } from 'node:fs';"),
  ];
  assert.equal(violations(made).length, 3, violations(made).join('\n'));
});

test('docs/ARCHITECTURE.md names every file under src/', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'ARCHITECTURE.md'), 'utf8');
  const missing = FILES.filter((f) => !doc.includes(f));
  assert.deepEqual(missing, [], 'name each of these (by its path under src/) in docs/ARCHITECTURE.md');
});

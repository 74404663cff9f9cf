// Builds the web UI into dist/web: type-checks web/ (its own tsconfig, DOM types), bundles it with
// esbuild for the browser (no Node built-in may be reached: the build fails otherwise), and copies
// the page and tfjs-wasm's binaries next to the bundle, so the page fetches nothing from elsewhere.
// Run by `npm run build` and `prepare` (hence at `npm ci`).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist', 'web');
const assets = join(out, 'assets');

execFileSync(process.execPath, [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', join(root, 'web', 'tsconfig.json')], {
  stdio: 'inherit',
});
rmSync(out, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });
await build({
  entryPoints: [join(root, 'web', 'main.ts')],
  outfile: join(assets, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  logLevel: 'warning',
});
copyFileSync(join(root, 'web', 'index.html'), join(out, 'index.html'));
copyFileSync(join(root, 'web', 'style.css'), join(assets, 'style.css'));
const wasmDir = join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
for (const f of readdirSync(wasmDir)) if (f.endsWith('.wasm')) copyFileSync(join(wasmDir, f), join(assets, f));

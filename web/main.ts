import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmExtras } from '../src/backend/wasm-extra.js';
import { startDashboard } from './dashboard.js';
import { startPlayground } from './playground.js';

// The page: two views over one server. tfjs-wasm computes by default, with its binaries served
// by the same server (no CDN); WebGL and tfjs's CPU backend are options.

const status = document.getElementById('status')!;
const setStatus = (text: string) => {
  status.textContent = text;
};

async function selectEngine(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`the ${name} engine is not available in this browser`);
  await tf.ready();
}

setWasmPaths('/assets/');
registerWasmExtras();

for (const view of ['dashboard', 'playground'] as const) {
  document.getElementById(`tab-${view}`)!.addEventListener('click', () => {
    for (const other of ['dashboard', 'playground'] as const) {
      document.getElementById(other)!.hidden = other !== view;
      document.getElementById(`tab-${other}`)!.setAttribute('aria-selected', String(other === view));
    }
  });
}

await selectEngine('wasm').catch((e: unknown) => setStatus(`tfjs-wasm failed to start (${(e as Error).message}); choose another engine`));
const updateModels = startPlayground(setStatus, selectEngine);
startDashboard(setStatus, updateModels);
document.body.dataset.ready = 'true';

import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { SettingError, UserError } from '../base/errors.js';
import { NATIVE_BACKEND } from './native-backend.js';
import { registerNativeBackend } from './native.js';
import { registerWasmExtras } from './wasm-extra.js';

/** The engines a user can choose: the oneDNN addon, the tfjs-wasm fallback, tfjs's plain CPU backend. */
export const BACKENDS = ['native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** Environment variable that picks the backend when no option does (the test suite's second run sets it). */
export const BACKEND_ENV = 'SMOOTHCERT_BACKEND';

const TFJS_NAME: Record<BackendName, string> = { native: NATIVE_BACKEND, wasm: 'wasm', cpu: 'cpu' };

/*
 * Importing this module registers tfjs's own CPU backend (tfjs-backend-cpu registers itself on
 * import; the native backend reuses its kernels) and nothing else: smoothcert's addon is loaded
 * and its backend registered on first use (nativeUnavailableReason, or setBackend and initBackend
 * when they run on native), tfjs-wasm when it is chosen.
 */

/** Why the native backend is unavailable, or undefined when it loaded (loads the addon on first call). */
export function nativeUnavailableReason(): string | undefined {
  return registerNativeBackend();
}

let wasmReady: Promise<void> | undefined;

/** Registers tfjs-wasm with the kernels it lacks; it loads its .wasm files from its own dist folder, which Node must be told. */
function prepareWasm(): Promise<void> {
  wasmReady ??= import('@tensorflow/tfjs-backend-wasm').then(({ setWasmPaths }) => {
    setWasmPaths(`${join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
    registerWasmExtras();
  });
  return wasmReady;
}

/** Switches tfjs to the named backend; throws a UserError when it cannot run here. */
export async function setBackend(name: BackendName): Promise<void> {
  if (!BACKENDS.includes(name)) {
    throw new UserError(`unknown backend '${String(name)}'; choose one of ${BACKENDS.join(', ')}`);
  }
  const nativeError = name === 'native' ? nativeUnavailableReason() : undefined;
  if (nativeError !== undefined) {
    throw new SettingError(
      'backend',
      (name) =>
        `the native backend is not available (${nativeError}); install libdnnl-dev and run 'npm rebuild', or choose ${name('backend')} wasm`,
    );
  }
  if (name === 'wasm') await prepareWasm();
  quietCpuBackend();
  if (!(await tf.setBackend(TFJS_NAME[name]))) throw new UserError(`tfjs could not initialize the ${name} backend`);
}

/**
 * tfjs's CPU backend greets its first tensor in Node with advice to install tfjs-node, on stderr
 * of every command that uses it (export, the tests); smoothcert's native backend is that advice.
 * Its instance is made here, once, with the greeting already given.
 */
function quietCpuBackend(): void {
  const cpu = tf.findBackend('cpu');
  if (cpu !== null) Reflect.set(cpu, 'firstUse', false);
}

export interface BackendOptions {
  /** An explicit choice; otherwise $SMOOTHCERT_BACKEND, otherwise native with wasm as fallback. */
  backend?: BackendName;
  /** Where the fallback warning goes (default: stderr). */
  warn?: (message: string) => void;
}

/**
 * Which backend to run: the explicit choice, else the environment's, else native — or, when
 * the addon could not load (nativeError), wasm together with the warning to print.
 */
export function chooseBackend(
  explicit: BackendName | undefined,
  env: string | undefined,
  nativeError: string | undefined,
): { name: BackendName; warning?: string } {
  const requested = explicit ?? parseEnv(env);
  if (requested !== undefined) return { name: requested };
  if (nativeError === undefined) return { name: 'native' };
  return {
    name: 'wasm',
    warning:
      `smoothcert: warning: native backend unavailable (${nativeError}); using the slower tfjs-wasm backend. ` +
      `Install libdnnl-dev and run 'npm rebuild' to enable it.`,
  };
}

let warned = false;

/**
 * Selects the backend for this process and returns its name: the explicit choice, else
 * $SMOOTHCERT_BACKEND, else native — or, when the addon cannot load, tfjs-wasm after one warning.
 */
export async function initBackend(opts: BackendOptions = {}): Promise<BackendName> {
  // An explicit choice never loads the addon (wasm and cpu runs have no use for it).
  const requested = opts.backend ?? parseEnv(process.env[BACKEND_ENV]);
  const { name, warning } = requested === undefined ? chooseBackend(undefined, undefined, nativeUnavailableReason()) : { name: requested };
  if (warning !== undefined && !warned) {
    warned = true;
    (opts.warn ?? ((m) => process.stderr.write(`${m}\n`)))(warning);
  }
  await setBackend(name);
  return name;
}

/** The smoothcert name of tfjs's current backend, or undefined for a backend of someone else's. */
export function activeBackend(): BackendName | undefined {
  const current = tf.getBackend();
  return BACKENDS.find((name) => TFJS_NAME[name] === current);
}

function parseEnv(value: string | undefined): BackendName | undefined {
  if (value === undefined || value === '') return undefined;
  if ((BACKENDS as readonly string[]).includes(value)) return value as BackendName;
  throw new UserError(`${BACKEND_ENV}=${value} is not a backend; use one of ${BACKENDS.join(', ')}`);
}

import { Option } from 'commander';
import { BACKENDS, initBackend, type BackendName } from '../backend/select.js';

/** The --backend option every compute command takes. */
export function backendOption(): Option {
  return new Option(
    '--backend <name>',
    'compute engine (default: native when the oneDNN addon loads, else wasm; or $SMOOTHCERT_BACKEND)',
  ).choices([...BACKENDS]);
}

export function useBackend(name: string | undefined): Promise<BackendName> {
  return initBackend(name === undefined ? {} : { backend: name as BackendName });
}

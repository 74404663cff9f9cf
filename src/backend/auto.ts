/**
 * Importing this module selects the backend before anything else runs (native, or the one
 * $SMOOTHCERT_BACKEND names): node's import option takes ./dist/src/backend/auto.js, as the test script does.
 */
import { initBackend } from './select.js';

await initBackend();

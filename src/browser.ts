/**
 * `smoothcert/browser`: the core (core.ts: CERTIFY and PREDICT, bounds, noise, models, training,
 * report maths) plus loading model folders over HTTP or from a page's File objects. Like the core
 * it reaches no `node:` module and no addon; test/browser.test.ts bundles it for the browser.
 */
export * from './core.js';
export { loadModelFromFiles, loadModelFromSource, loadModelFromUrl, type ModelSource } from './models/load-remote.js';

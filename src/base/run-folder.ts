/**
 * The files of a run folder: `smoothcert train` writes all four, a model folder is the first two
 * (certify, export, the browser loader and the web UI read them).
 */
export const MODEL_FILE = 'model.json';
export const META_FILE = 'smoothcert.json';
export const LOG_FILE = 'log.tsv';
export const CHECKPOINT_FILE = 'checkpoint.ckpt';

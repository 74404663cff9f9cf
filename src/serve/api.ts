// The JSON the server answers with, shared with the page (web/); types only, so the page's
// type-check reaches no Node module through it.

/** One file of a run as the dashboard lists it: what it is, a summary, or the problem reading it. */
export interface RunFile {
  name: string;
  kind: 'log' | 'certify' | 'predict' | 'model';
  /** Changes whenever the file does (size and modification time): the page refetches on a change. */
  version: string;
  summary?: Record<string, unknown>;
  error?: string;
}

/** A folder under the runs root that holds a training log, a model or result TSVs. */
export interface RunInfo {
  /** The folder relative to the root, '/'-separated ('.' for the root itself). */
  id: string;
  files: RunFile[];
}

/** GET /api/runs */
export interface RunsResponse {
  root: string;
  runs: RunInfo[];
}

/** GET /api/samples/DATASET: the first test images, pixels in [0, 1] as float32 values. */
export interface Samples {
  dataset: string;
  shape: number[];
  classNames?: string[];
  images: { index: number; label: number; pixels: number[] }[];
}

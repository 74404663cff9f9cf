/**
 * The thread that reads and summarizes run files for the dashboard's server (runs.ts): a
 * 200 MB TSV takes seconds to read and parse, which on the server's own thread would hold up
 * every other request for as long.
 */
import { parentPort } from 'node:worker_threads';
import { summarizeFile } from './summarize.js';

export interface SummaryRequest {
  id: number;
  path: string;
  version: string;
  shown: string;
}

parentPort?.on('message', (r: SummaryRequest) => {
  parentPort!.postMessage({ id: r.id, file: summarizeFile(r.path, r.version, r.shown) });
});

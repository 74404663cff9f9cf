import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { register as registerAnalyze } from './analyze.js';
import { registerCertify, registerPredict } from './certify.js';
import { register as registerDemo } from './demo.js';
import { register as registerExport } from './export.js';
import { register as registerGaps } from './gaps.js';
import { register as registerServe } from './serve.js';
import { register as registerTrain } from './train.js';
import { register as registerWorker } from './worker.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Builds the `smoothcert` command line; each subcommand lives in its own module. */
export function buildProgram(): Command {
  const program = new Command('smoothcert')
    .description('Certified robustness by randomized smoothing (Cohen et al.) with consistency regularization (Jeong & Shin)')
    .version(pkg.version)
    // Usage errors reach run() as CommanderErrors (subcommands inherit this), which exits 2.
    .exitOverride();
  registerDemo(program);
  registerTrain(program);
  registerCertify(program);
  registerPredict(program);
  registerAnalyze(program);
  registerExport(program);
  registerGaps(program);
  registerServe(program);
  registerWorker(program);
  return program;
}

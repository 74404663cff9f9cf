import { Command } from 'commander';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Builds the `smoothcert` command line; each subcommand lives in its own module. */
export function buildProgram(): Command {
  const program = new Command('smoothcert')
    .description('Certified robustness by randomized smoothing (Cohen et al.) with consistency regularization (Jeong & Shin)')
    .version(pkg.version);
  return program;
}

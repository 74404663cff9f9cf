// Writes docs/cli.md from the built program (npm run docs:cli); the test compares the two.
import { writeFileSync } from 'node:fs';
import { buildProgram } from '../dist/src/cli/main.js';
import { cliReference } from '../dist/src/cli/reference.js';

writeFileSync(new URL('../docs/cli.md', import.meta.url), cliReference(buildProgram()));

import '@tensorflow/tfjs-backend-cpu';
import { UserError } from '../errors.js';
import { buildProgram } from './main.js';

/** Entry point of the binary: user errors become one clear line and exit status 2. */
export async function run(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof UserError) {
      process.stderr.write(`smoothcert: error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

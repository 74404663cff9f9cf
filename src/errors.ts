/**
 * An error caused by the user's input (a missing file, a bad option, a shape mismatch).
 * Its message says what is wrong and how to fix it; the CLI prints it without a stack
 * trace and exits with status 2.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
}

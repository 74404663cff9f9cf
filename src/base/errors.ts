/**
 * An error caused by the user's input (a missing file, a bad option, a shape mismatch).
 * Its message says what is wrong and how to fix it; the CLI prints it without a stack
 * trace and exits with status 2.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
}

/**
 * A setting that is out of range, does not apply, or contradicts the run being resumed. It keeps
 * the setting's key (a library name such as `numNoise`), so a front end can name it in its own
 * words through describe(): the CLI passes its flag names.
 */
export class SettingError extends UserError {
  constructor(
    readonly setting: string,
    private readonly explain: (name: (key: string) => string) => string,
  ) {
    super(explain((key) => key));
  }

  describe(name: (key: string) => string): string {
    return this.explain(name);
  }
}

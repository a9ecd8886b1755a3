/** A command that failed for a reason the user can act on: exit code 1 with one line. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** Wrong usage of the command line: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

// Exit codes are part of the CLI contract (README "Exit codes").
export const EXIT = {
  OK: 0,
  /** check: something expires within --warn-within */
  EXPIRING: 1,
  /** check: EXPIRED / NOT YET VALID / INVALID; rotate: failed and rolled back */
  BROKEN: 2,
  /** could not run: bad input, not found, forbidden, unreachable */
  USAGE: 3,
  /** rotate/restore: failed and the vCluster may be left changed (see message) */
  PARTIAL: 4,
  /** the user declined the confirmation prompt */
  ABORTED: 5,
} as const;

/** An error meant for the user: one line that says what to do, and an exit code. */
export class UserError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.USAGE, override readonly cause?: unknown) {
    super(message);
    this.name = 'UserError';
  }
}

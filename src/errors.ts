// Exit codes are part of the CLI contract (README "Exit codes").
export const EXIT = {
  OK: 0,
  /** check: something needs attention soon (expiring, Secret and disk differ, an unfinished change) */
  ATTENTION: 1,
  /** check: EXPIRED / NOT YET VALID / INVALID; rotate: failed and rolled back */
  BROKEN: 2,
  /** could not run: bad input, not found, forbidden, unreachable */
  CANNOT_RUN: 3,
  /** rotate/restore: failed and the vCluster may be left changed (see message) */
  PARTIAL: 4,
  /** the user declined the confirmation prompt */
  ABORTED: 5,
  /** @deprecated the old name of ATTENTION (it also covers drift and unfinished changes) */
  EXPIRING: 1,
  /** @deprecated the old name of CANNOT_RUN (it also means not found, forbidden, unreachable) */
  USAGE: 3,
} as const;

/** Why an error happened, where a caller decides by it (never by the message text). */
export type ErrorReason = 'forbidden';

/** An error meant for the user: one line that says what to do, and an exit code. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.CANNOT_RUN,
    override readonly cause?: unknown,
    readonly reason?: ErrorReason,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

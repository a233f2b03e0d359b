/**
 * Second-factor lockout: five failed attempts (wrong TOTP, replayed TOTP or
 * wrong recovery code) lock the account's second factor for fifteen minutes;
 * a success clears the count. Every attempt is counted in PostgreSQL before
 * it is checked, so parallel guesses can't get more than five tries.
 * Exported for other second factors (passkeys) to share.
 */
import type { Sql, TransactionSql } from "postgres";
import { TooManyRequests } from "../http/rate-limit";
import { lockSecondsLeft, reserveAttempt, resetFailures } from "./queries";

export const MAX_FAILURES = 5;
export const LOCK_MINUTES = 15;

/** 429 with Retry-After, saying why. */
export class SecondFactorLocked extends TooManyRequests {
  override readonly code: string = "second_factor_locked";
  constructor(retryAfterS: number) {
    super(retryAfterS);
    this.message = `second factor locked after ${MAX_FAILURES} failed attempts; try again in ${retryAfterS} s`;
  }
}

/**
 * Counts this attempt, or throws SecondFactorLocked while the lock holds.
 * `locksNow`: this attempt set the lock (it must not be let through unless it
 * turns out right, which then clears the lock via `attemptSucceeded`).
 */
export async function beginAttempt(sql: Sql | TransactionSql, userId: string): Promise<{ failures: number; locksNow: boolean }> {
  const row = await reserveAttempt(sql, userId, MAX_FAILURES, LOCK_MINUTES);
  if (!row) throw new SecondFactorLocked(Math.max(1, await lockSecondsLeft(sql, userId)));
  return { failures: row.failures, locksNow: row.locks };
}

export async function attemptSucceeded(sql: Sql | TransactionSql, userId: string): Promise<void> {
  await resetFailures(sql, userId);
}

import type { Sql, TransactionSql } from "postgres";

type Q = Sql | TransactionSql;

export type TotpState = {
  email: string;
  totp_enabled: boolean;
  totp_secret_enc: string | null;
  /** Last accepted time step (bigint arrives as a string; converted here). */
  totp_last_step: number | null;
};

export async function findTotpState(sql: Q, userId: string): Promise<TotpState | undefined> {
  const [row] = await sql<{ email: string; totp_enabled: boolean; totp_secret_enc: string | null; totp_last_step: string | null }[]>`
    SELECT email, totp_enabled, totp_secret_enc, totp_last_step::text AS totp_last_step FROM users WHERE id = ${userId}`;
  if (!row) return undefined;
  return { ...row, totp_last_step: row.totp_last_step === null ? null : Number(row.totp_last_step) };
}

/** Stores a new, not yet active secret (replacing any earlier pending one). False when TOTP is already on. */
export async function setPendingSecret(sql: Q, userId: string, secretEnc: string): Promise<boolean> {
  const rows = await sql`
    UPDATE users SET totp_secret_enc = ${secretEnc}, totp_last_step = NULL, updated_at = now()
    WHERE id = ${userId} AND NOT totp_enabled RETURNING id`;
  return rows.length === 1;
}

/**
 * Turns TOTP on for exactly the pending secret that was checked (a re-enrol in
 * between makes this a no-op) and burns the activation code's step.
 */
export async function enableTotp(sql: Q, userId: string, secretEnc: string, step: number): Promise<boolean> {
  const rows = await sql`
    UPDATE users SET totp_enabled = true, totp_last_step = ${step},
      second_factor_failures = 0, second_factor_locked_until = NULL, updated_at = now()
    WHERE id = ${userId} AND NOT totp_enabled AND totp_secret_enc = ${secretEnc} RETURNING id`;
  return rows.length === 1;
}

export async function disableTotp(sql: Q, userId: string): Promise<boolean> {
  const rows = await sql`
    UPDATE users SET totp_enabled = false, totp_secret_enc = NULL, totp_last_step = NULL,
      second_factor_failures = 0, second_factor_locked_until = NULL, updated_at = now()
    WHERE id = ${userId} AND totp_enabled RETURNING id`;
  return rows.length === 1;
}

/**
 * Compare-and-swap on the last accepted step: true for exactly one caller per
 * (user, step), and never for a step at or below one already accepted.
 */
export async function claimStep(sql: Q, userId: string, secretEnc: string, step: number): Promise<boolean> {
  const rows = await sql`
    UPDATE users SET totp_last_step = ${step}
    WHERE id = ${userId} AND totp_enabled AND totp_secret_enc = ${secretEnc}
      AND (totp_last_step IS NULL OR totp_last_step < ${step})
    RETURNING id`;
  return rows.length === 1;
}

export async function replaceRecoveryCodes(sql: Q, userId: string, hashes: string[]): Promise<void> {
  await sql`DELETE FROM recovery_codes WHERE user_id = ${userId}`;
  if (hashes.length > 0) await sql`INSERT INTO recovery_codes ${sql(hashes.map((code_hash) => ({ user_id: userId, code_hash })))}`;
}

export async function deleteRecoveryCodes(sql: Q, userId: string): Promise<void> {
  await sql`DELETE FROM recovery_codes WHERE user_id = ${userId}`;
}

/** Uses an unused recovery code (compare-and-swap on used_at): true for exactly one caller. */
export async function useRecoveryCode(sql: Q, userId: string, codeHash: string): Promise<boolean> {
  const rows = await sql`
    UPDATE recovery_codes SET used_at = now()
    WHERE user_id = ${userId} AND code_hash = ${codeHash} AND used_at IS NULL RETURNING id`;
  return rows.length > 0;
}

/**
 * Counts one second-factor attempt before it is checked (so parallel guesses
 * can't all slip past the limit). The attempt that reaches `max` sets the
 * lock. No row: the account is locked right now. After a lock has run out
 * the count starts again from one.
 */
export async function reserveAttempt(sql: Q, userId: string, max: number, lockMinutes: number) {
  const [row] = await sql<{ failures: number; locks: boolean }[]>`
    UPDATE users SET
      second_factor_failures = (CASE WHEN second_factor_locked_until IS NULL THEN second_factor_failures ELSE 0 END) + 1,
      second_factor_locked_until = CASE
        WHEN (CASE WHEN second_factor_locked_until IS NULL THEN second_factor_failures ELSE 0 END) + 1 >= ${max}
        THEN now() + make_interval(mins => ${lockMinutes}) ELSE NULL END
    WHERE id = ${userId} AND (second_factor_locked_until IS NULL OR second_factor_locked_until <= now())
    RETURNING second_factor_failures AS failures, second_factor_locked_until IS NOT NULL AS locks`;
  return row;
}

/** Seconds left on the lock, or 0 when not locked. */
export async function lockSecondsLeft(sql: Q, userId: string): Promise<number> {
  const [r] = await sql<{ s: number }[]>`
    SELECT COALESCE(GREATEST(0, ceil(extract(epoch FROM second_factor_locked_until - now())))::int, 0) AS s
    FROM users WHERE id = ${userId}`;
  return r?.s ?? 0;
}

/** A second factor passed: the failure count and any lock are cleared. */
export async function resetFailures(sql: Q, userId: string): Promise<void> {
  await sql`UPDATE users SET second_factor_failures = 0, second_factor_locked_until = NULL WHERE id = ${userId}`;
}

import type { Sql, TransactionSql } from "postgres";

type Q = Sql | TransactionSql;

export type ChallengeKind = "register" | "authenticate";

export type PasskeyRow = {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: string;
  counter: string | number | bigint;
  transports: string[];
  name: string;
  created_at: Date;
  last_used_at: Date | null;
};

export type PasskeyOwner = PasskeyRow & { email: string; role: "admin" | "member"; disabled: boolean };

/** Stores a challenge; expired ones go at the same time, so the table stays small. */
export async function insertChallenge(sql: Q, c: { user_id: string | null; challenge: string; kind: ChallengeKind; expires_at: Date }) {
  await sql`DELETE FROM webauthn_challenges WHERE expires_at < now()`;
  await sql`INSERT INTO webauthn_challenges (user_id, challenge, kind, expires_at)
    VALUES (${c.user_id}, ${c.challenge}, ${c.kind}, ${c.expires_at})`;
}

/** Consumes a challenge: whoever asks first gets it, once. `live` is false when it had expired. */
export async function takeChallenge(sql: Q, challenge: string, kind: ChallengeKind) {
  const [row] = await sql<{ user_id: string | null; live: boolean }[]>`
    DELETE FROM webauthn_challenges WHERE challenge = ${challenge} AND kind = ${kind}
    RETURNING user_id, expires_at > now() AS live`;
  return row;
}

export async function listPasskeys(sql: Q, userId: string): Promise<PasskeyRow[]> {
  return sql<PasskeyRow[]>`SELECT * FROM passkeys WHERE user_id = ${userId} ORDER BY created_at, id`;
}

/** A passkey by its credential id, with its owner. */
export async function findByCredential(sql: Q, credentialId: string): Promise<PasskeyOwner | undefined> {
  const [row] = await sql<PasskeyOwner[]>`
    SELECT p.*, u.email, u.role, u.disabled FROM passkeys p JOIN users u ON u.id = p.user_id
    WHERE p.credential_id = ${credentialId}`;
  return row;
}

export async function insertPasskey(
  sql: Q,
  p: { user_id: string; credential_id: string; public_key: string; counter: number; transports: string[]; name: string },
): Promise<PasskeyRow> {
  const [row] = await sql<PasskeyRow[]>`
    INSERT INTO passkeys (user_id, credential_id, public_key, counter, transports, name)
    VALUES (${p.user_id}, ${p.credential_id}, ${p.public_key}, ${p.counter}, ${p.transports}, ${p.name}) RETURNING *`;
  return row!;
}

export async function renamePasskey(sql: Q, userId: string, id: string, name: string): Promise<PasskeyRow | undefined> {
  const [row] = await sql<PasskeyRow[]>`UPDATE passkeys SET name = ${name} WHERE id = ${id} AND user_id = ${userId} RETURNING *`;
  return row;
}

export async function deletePasskey(sql: Q, userId: string, id: string): Promise<PasskeyRow | undefined> {
  const [row] = await sql<PasskeyRow[]>`DELETE FROM passkeys WHERE id = ${id} AND user_id = ${userId} RETURNING *`;
  return row;
}

/**
 * Records a use: the new signature counter and last_used_at, only if the
 * counter is still the one the assertion was checked against (two uses racing
 * with the same counter: one wins). False when the passkey changed or went.
 */
export async function recordUse(sql: Q, id: string, expectedCounter: number, newCounter: number): Promise<boolean> {
  const rows = await sql`
    UPDATE passkeys SET counter = ${newCounter}, last_used_at = now()
    WHERE id = ${id} AND counter = ${expectedCounter} RETURNING id`;
  return rows.length === 1;
}

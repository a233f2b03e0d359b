import type { Sql, TransactionSql } from "postgres";

type Q = Sql | TransactionSql;

export type FlowRow = { provider: string; nonce: string; code_verifier: string; link_user_id: string | null; live: boolean };

export type LoginUser = { id: string; email: string; role: "admin" | "member"; disabled: boolean };

export type IdentityRow = { provider: string; subject: string; user_id: string; email: string | null; created_at: Date };

export async function insertFlow(
  sql: Q,
  f: { state_hash: string; provider: string; nonce: string; code_verifier: string; link_user_id: string | null; expires_at: Date },
): Promise<void> {
  await sql`INSERT INTO oidc_flows (state_hash, provider, nonce, code_verifier, link_user_id, expires_at)
    VALUES (${f.state_hash}, ${f.provider}, ${f.nonce}, ${f.code_verifier}, ${f.link_user_id}, ${f.expires_at})`;
}

export async function deleteExpiredFlows(sql: Q): Promise<void> {
  await sql`DELETE FROM oidc_flows WHERE expires_at < now()`;
}

/** Takes a flow once: the row is gone whatever happens next. `live` is false when it had expired. */
export async function takeFlow(sql: Q, stateHash: string, provider: string): Promise<FlowRow | undefined> {
  const [row] = await sql<FlowRow[]>`
    DELETE FROM oidc_flows WHERE state_hash = ${stateHash} AND provider = ${provider}
    RETURNING provider, nonce, code_verifier, link_user_id, expires_at > now() AS live`;
  return row;
}

export async function findUserById(sql: Q, id: string): Promise<LoginUser | undefined> {
  const [row] = await sql<LoginUser[]>`SELECT id, email, role, disabled FROM users WHERE id = ${id}`;
  return row;
}

export async function findUserByEmail(sql: Q, email: string): Promise<LoginUser | undefined> {
  const [row] = await sql<LoginUser[]>`SELECT id, email, role, disabled FROM users WHERE email = ${email}`;
  return row;
}

/** The identity (provider, subject) and the user it belongs to. */
export async function findIdentity(sql: Q, provider: string, subject: string): Promise<(LoginUser & { identity_email: string | null }) | undefined> {
  const [row] = await sql<(LoginUser & { identity_email: string | null })[]>`
    SELECT u.id, u.email, u.role, u.disabled, i.email AS identity_email
    FROM oidc_identities i JOIN users u ON u.id = i.user_id
    WHERE i.provider = ${provider} AND i.subject = ${subject}`;
  return row;
}

export async function findIdentityOfUser(sql: Q, userId: string, provider: string): Promise<IdentityRow | undefined> {
  const [row] = await sql<IdentityRow[]>`
    SELECT provider, subject, user_id, email, created_at FROM oidc_identities WHERE user_id = ${userId} AND provider = ${provider}`;
  return row;
}

/** Links (provider, subject) to a user; false when that identity already belongs to someone. */
export async function insertIdentity(sql: Q, i: { provider: string; subject: string; user_id: string; email: string | null }): Promise<boolean> {
  const rows = await sql`
    INSERT INTO oidc_identities (provider, subject, user_id, email) VALUES (${i.provider}, ${i.subject}, ${i.user_id}, ${i.email})
    ON CONFLICT (provider, subject) DO NOTHING RETURNING provider`;
  return rows.length === 1;
}

export async function updateIdentityEmail(sql: Q, provider: string, subject: string, email: string | null): Promise<void> {
  await sql`UPDATE oidc_identities SET email = ${email} WHERE provider = ${provider} AND subject = ${subject} AND email IS DISTINCT FROM ${email}`;
}

export async function listIdentities(sql: Q, userId: string): Promise<IdentityRow[]> {
  return sql<IdentityRow[]>`
    SELECT provider, subject, user_id, email, created_at FROM oidc_identities WHERE user_id = ${userId} ORDER BY created_at, provider`;
}

export async function deleteIdentity(sql: Q, userId: string, provider: string): Promise<IdentityRow | undefined> {
  const [row] = await sql<IdentityRow[]>`
    DELETE FROM oidc_identities WHERE user_id = ${userId} AND provider = ${provider}
    RETURNING provider, subject, user_id, email, created_at`;
  return row;
}

/** Other ways the user can still sign in without the given provider: a password, another identity, a passkey. */
export async function otherWaysIn(sql: Q, userId: string, provider: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    SELECT (CASE WHEN u.password_hash IS NOT NULL THEN 1 ELSE 0 END)
         + (SELECT count(*)::int FROM oidc_identities i WHERE i.user_id = u.id AND i.provider <> ${provider})
         + (SELECT count(*)::int FROM passkeys p WHERE p.user_id = u.id) AS n
    FROM users u WHERE u.id = ${userId}`;
  return row?.n ?? 0;
}

/** A member without a password (open sign-up); undefined when the email is taken. */
export async function insertMember(sql: Q, email: string, displayName: string | null): Promise<LoginUser | undefined> {
  const [row] = await sql<LoginUser[]>`
    INSERT INTO users (email, role, display_name) VALUES (${email}, 'member', ${displayName})
    ON CONFLICT (email) DO NOTHING RETURNING id, email, role, disabled`;
  return row;
}

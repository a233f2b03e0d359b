import type { Sql } from "postgres";

export type TokenScope = "read" | "write" | "admin";
export type TokenOwner = { user_id: string; email: string; role: "admin" | "member"; scope: TokenScope; token_id: string };

export async function insertToken(sql: Sql, userId: string, name: string, hash: string, scope: TokenScope, expiresAt: Date | null) {
  const [row] = await sql<{ id: string }[]>`
    INSERT INTO api_tokens (user_id, name, token_hash, scope, expires_at)
    VALUES (${userId}, ${name}, ${hash}, ${scope}, ${expiresAt}) RETURNING id`;
  return row!;
}

/** The live owner of a token: not expired, user not disabled. */
export async function findTokenOwner(sql: Sql, hash: string): Promise<TokenOwner | undefined> {
  const [row] = await sql<TokenOwner[]>`
    SELECT t.id AS token_id, t.scope, u.id AS user_id, u.email, u.role
    FROM api_tokens t JOIN users u ON u.id = t.user_id
    WHERE t.token_hash = ${hash} AND NOT u.disabled AND (t.expires_at IS NULL OR t.expires_at > now())`;
  return row;
}

/** Records use at most once a minute per token, so reads don't all become writes. */
export async function touchToken(sql: Sql, tokenId: string): Promise<void> {
  await sql`UPDATE api_tokens SET last_used_at = now()
    WHERE id = ${tokenId} AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`;
}

export type TokenRow = { id: string; name: string; scope: TokenScope; created_at: Date; last_used_at: Date | null; expires_at: Date | null };

export async function listTokens(sql: Sql, userId: string): Promise<TokenRow[]> {
  return sql<TokenRow[]>`SELECT id, name, scope, created_at, last_used_at, expires_at FROM api_tokens
    WHERE user_id = ${userId} ORDER BY created_at DESC`;
}

export async function deleteToken(sql: Sql, userId: string, id: string): Promise<boolean> {
  return (await sql`DELETE FROM api_tokens WHERE id = ${id} AND user_id = ${userId} RETURNING id`).length === 1;
}

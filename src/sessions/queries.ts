import type { Sql, TransactionSql } from "postgres";

type Q = Sql | TransactionSql;

export type SessionRow = {
  id: string;
  user_id: string;
  ip: string | null;
  user_agent: string | null;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
};

export type SessionOwner = SessionRow & { email: string; role: "admin" | "member" };

export async function insertSession(sql: Q, s: { user_id: string; token_hash: string; ip: string | null; user_agent: string | null; expires_at: Date }) {
  const [row] = await sql<SessionRow[]>`
    INSERT INTO sessions (user_id, token_hash, ip, user_agent, expires_at)
    VALUES (${s.user_id}, ${s.token_hash}, ${s.ip}, ${s.user_agent}, ${s.expires_at}) RETURNING *`;
  return row!;
}

/** A live session: not past its absolute expiry nor idle too long, user enabled. */
export async function findLiveSession(sql: Q, tokenHash: string, idleSeconds: number): Promise<SessionOwner | undefined> {
  const [row] = await sql<SessionOwner[]>`
    SELECT s.id, s.user_id, s.ip, s.user_agent, s.created_at, s.last_seen_at, s.expires_at, u.email, u.role
    FROM sessions s JOIN users u ON u.id = s.user_id
    WHERE s.token_hash = ${tokenHash} AND NOT u.disabled AND s.expires_at > now()
      AND s.last_seen_at > now() - make_interval(secs => ${idleSeconds})`;
  return row;
}

export async function touchSession(sql: Q, id: string): Promise<void> {
  await sql`UPDATE sessions SET last_seen_at = now() WHERE id = ${id}`;
}

export async function listSessions(sql: Q, userId: string): Promise<SessionRow[]> {
  return sql<SessionRow[]>`
    SELECT id, user_id, ip, user_agent, created_at, last_seen_at, expires_at FROM sessions
    WHERE user_id = ${userId} AND expires_at > now() ORDER BY last_seen_at DESC`;
}

export async function deleteSession(sql: Q, userId: string, id: string): Promise<boolean> {
  return (await sql`DELETE FROM sessions WHERE id = ${id} AND user_id = ${userId} RETURNING id`).length === 1;
}

export async function deleteOtherSessions(sql: Q, userId: string, keepId: string | null): Promise<number> {
  const rows = keepId
    ? await sql`DELETE FROM sessions WHERE user_id = ${userId} AND id <> ${keepId} RETURNING id`
    : await sql`DELETE FROM sessions WHERE user_id = ${userId} RETURNING id`;
  return rows.length;
}

export async function deleteExpiredSessions(sql: Q): Promise<void> {
  await sql`DELETE FROM sessions WHERE expires_at < now() - interval '1 day'`;
  await sql`DELETE FROM login_challenges WHERE expires_at < now()`;
}

export async function insertLoginChallenge(sql: Q, c: { user_id: string; token_hash: string; ip: string | null; user_agent: string | null; expires_at: Date }) {
  await sql`INSERT INTO login_challenges (user_id, token_hash, ip, user_agent, expires_at)
    VALUES (${c.user_id}, ${c.token_hash}, ${c.ip}, ${c.user_agent}, ${c.expires_at})`;
}

export async function findLoginChallenge(sql: Q, tokenHash: string) {
  const [row] = await sql<{ id: string; user_id: string; email: string; role: "admin" | "member" }[]>`
    SELECT c.id, c.user_id, u.email, u.role FROM login_challenges c JOIN users u ON u.id = c.user_id
    WHERE c.token_hash = ${tokenHash} AND c.expires_at > now() AND NOT u.disabled`;
  return row;
}

export async function deleteLoginChallenge(sql: Q, id: string): Promise<boolean> {
  return (await sql`DELETE FROM login_challenges WHERE id = ${id} RETURNING id`).length === 1;
}

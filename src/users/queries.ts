import type { Sql } from "postgres";

export type UserRow = { id: string; email: string; role: "admin" | "member"; disabled: boolean; created_at: Date };

export async function insertUser(sql: Sql, email: string, passwordHash: string | null, role: "admin" | "member"): Promise<UserRow | undefined> {
  const [row] = await sql<UserRow[]>`
    INSERT INTO users (email, password_hash, role) VALUES (${email}, ${passwordHash}, ${role})
    ON CONFLICT (email) DO NOTHING
    RETURNING id, email, role, disabled, created_at`;
  return row;
}

export async function findUserByEmail(sql: Sql, email: string): Promise<UserRow | undefined> {
  const [row] = await sql<UserRow[]>`SELECT id, email, role, disabled, created_at FROM users WHERE email = ${email}`;
  return row;
}

export async function countAdmins(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND NOT disabled`;
  return row!.n;
}

export type UserFull = UserRow & { display_name: string | null; totp_enabled: boolean };

export async function listUsers(sql: Sql): Promise<UserFull[]> {
  return sql<UserFull[]>`SELECT id, email, display_name, role, disabled, totp_enabled, created_at FROM users ORDER BY created_at`;
}

export async function findUser(sql: Sql, id: string): Promise<UserFull | undefined> {
  const [row] = await sql<UserFull[]>`SELECT id, email, display_name, role, disabled, totp_enabled, created_at FROM users WHERE id = ${id}`;
  return row;
}

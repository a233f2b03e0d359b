/** Creating users from the CLI (the dashboard's user admin comes later). */
import type { Sql } from "postgres";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { BadRequest, Conflict } from "../http/errors";
import { insertUser, type UserRow } from "./queries";
import { audit } from "../audit/service";

const email = z.string().trim().toLowerCase().email("is not a valid email address").max(254);

export function normalizeEmail(raw: string): string {
  const r = email.safeParse(raw);
  if (!r.success) throw new BadRequest(`email: ${r.error.issues[0]!.message}`);
  return r.data;
}

/** Creates a user; generates a password when none is given and returns it. */
export async function createUser(
  sql: Sql,
  input: { email: string; password?: string; role: "admin" | "member" },
): Promise<{ user: UserRow; password: string; generated: boolean }> {
  const addr = normalizeEmail(input.email);
  const generated = !input.password;
  const password = input.password ?? randomBytes(18).toString("base64url");
  if (password.length < 12) throw new BadRequest("password: must be at least 12 characters");
  const hash = await Bun.password.hash(password, { algorithm: "argon2id" });
  const user = await insertUser(sql, addr, hash, input.role);
  if (!user) throw new Conflict(`a user with email ${addr} already exists`);
  await audit(sql, { id: null, email: "cli", ip: null, userAgent: null }, "user.create", { target_type: "user", target_id: user.id, detail: { email: addr, role: input.role } });
  return { user, password, generated };
}

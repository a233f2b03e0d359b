/**
 * User administration (admin only): create (with a password, or an invite
 * link to set one), change role, disable. Disabling ends every session and
 * token of the user at once. The last enabled admin can't be demoted or disabled.
 */
import { randomBytes } from "node:crypto";
import type { AppContext } from "../context";
import { audit, type Actor } from "../audit/service";
import { Conflict, NotFound, Unprocessable } from "../http/errors";
import { sha256Hex } from "../protocol/hub";
import { findUser, insertUser, listUsers, type UserFull } from "./queries";
import type { UserCreate, UserPatch, UserView } from "./model";

const INVITE_LIFETIME_MS = 7 * 24 * 3600 * 1000;

export function toUserView(u: UserFull): UserView {
  return {
    id: u.id,
    email: u.email,
    display_name: u.display_name,
    role: u.role,
    disabled: u.disabled,
    totp_enabled: u.totp_enabled,
    created_at: u.created_at.toISOString(),
  };
}

export async function list(ctx: AppContext): Promise<UserView[]> {
  return (await listUsers(ctx.sql)).map(toUserView);
}

export async function create(ctx: AppContext, actor: Actor, input: UserCreate) {
  const hash = input.password ? await Bun.password.hash(input.password, { algorithm: "argon2id" }) : null;
  const result = await ctx.sql.begin(async (tx) => {
    const u = await insertUser(tx as never, input.email, hash, input.role);
    if (!u) throw new Conflict(`a user with email ${input.email} already exists`, "email_taken");
    if (input.display_name) await tx`UPDATE users SET display_name = ${input.display_name} WHERE id = ${u.id}`;
    let invite: string | null = null;
    if (!hash) {
      const token = randomBytes(32).toString("base64url");
      await tx`INSERT INTO invites (token_hash, user_id, expires_at) VALUES (${sha256Hex(token)}, ${u.id}, ${new Date(Date.now() + INVITE_LIFETIME_MS)})`;
      invite = `${ctx.config.publicUrl}/invite#${token}`;
    }
    await audit(tx, actor, "user.create", { target_type: "user", target_id: u.id, detail: { email: u.email, role: u.role, invited: !hash } });
    return { id: u.id, invite };
  });
  const user = toUserView((await findUser(ctx.sql, result.id))!);
  return { ...user, invite_url: result.invite };
}

export async function patch(ctx: AppContext, actor: Actor, id: string, input: UserPatch): Promise<UserView> {
  await ctx.sql.begin(async (tx) => {
    const [u] = await tx<{ id: string; role: string; disabled: boolean }[]>`SELECT id, role, disabled FROM users WHERE id = ${id} FOR UPDATE`;
    if (!u) throw new NotFound("user");
    const losesAdmin = u.role === "admin" && !u.disabled && (input.role === "member" || input.disabled === true);
    if (losesAdmin) {
      // Lock every admin row so two admins can't demote each other at once.
      const [n] = await tx<{ n: number }[]>`SELECT count(*)::int AS n FROM (SELECT id FROM users WHERE role = 'admin' AND NOT disabled FOR UPDATE) a`;
      if (n!.n <= 1) throw new Unprocessable("the last enabled admin can't be demoted or disabled", "last_admin");
    }
    if (input.role !== undefined) await tx`UPDATE users SET role = ${input.role}, updated_at = now() WHERE id = ${id}`;
    if (input.display_name !== undefined) await tx`UPDATE users SET display_name = ${input.display_name}, updated_at = now() WHERE id = ${id}`;
    if (input.disabled !== undefined) {
      await tx`UPDATE users SET disabled = ${input.disabled}, updated_at = now() WHERE id = ${id}`;
      if (input.disabled) {
        await tx`DELETE FROM sessions WHERE user_id = ${id}`;
        await tx`DELETE FROM api_tokens WHERE user_id = ${id}`;
        await tx`DELETE FROM login_challenges WHERE user_id = ${id}`;
      }
    }
    await audit(tx, actor, input.disabled ? "user.disable" : "user.update", { target_type: "user", target_id: id, detail: { ...input } });
  });
  return toUserView((await findUser(ctx.sql, id))!);
}

/** Sets the password of an invited user, once. */
export async function acceptInvite(ctx: AppContext, meta: Omit<Actor, "id" | "email">, token: string, password: string) {
  const hash = await Bun.password.hash(password, { algorithm: "argon2id" });
  const userId = await ctx.sql.begin(async (tx) => {
    const [inv] = await tx<{ user_id: string }[]>`
      UPDATE invites SET used_at = now() WHERE token_hash = ${sha256Hex(token)} AND used_at IS NULL AND expires_at > now()
      RETURNING user_id`;
    if (!inv) throw new NotFound("invite");
    await tx`UPDATE users SET password_hash = ${hash}, updated_at = now() WHERE id = ${inv.user_id} AND NOT disabled`;
    await audit(tx, { id: inv.user_id, email: null, ...meta }, "user.invite_accept", { target_type: "user", target_id: inv.user_id });
    return inv.user_id;
  });
  return { user_id: userId };
}

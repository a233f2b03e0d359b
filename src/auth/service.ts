/**
 * Sign-in: the first factor (password here; OIDC and passkeys elsewhere) ends
 * in `finishPrimaryLogin`, which either makes a session or, when the account
 * has a second factor, a pending login that only the second factor completes.
 */
import type { AppContext } from "../context";
import { audit } from "../audit/service";
import { Forbidden, Unauthorized } from "../http/errors";
import { createLoginChallenge, createSession, type RequestMeta } from "../sessions/service";

export type SecondFactor = "totp" | "recovery_code" | "passkey";

export type LoginResult =
  | { status: "ok"; user: { id: string; email: string; role: "admin" | "member" }; setCookies: string[] }
  | { status: "second_factor_required"; methods: SecondFactor[]; setCookies: string[] };

/** A real argon2id hash of nothing anyone knows, so unknown emails cost the same time as wrong passwords. */
let dummyHash: Promise<string> | null = null;
const timingDummy = () => (dummyHash ??= Bun.password.hash(crypto.randomUUID(), { algorithm: "argon2id" }));

type UserForLogin = { id: string; email: string; role: "admin" | "member"; disabled: boolean; password_hash: string | null; totp_enabled: boolean };

export async function secondFactors(ctx: AppContext, userId: string): Promise<SecondFactor[]> {
  const [r] = await ctx.sql<{ totp: boolean; passkeys: number }[]>`
    SELECT u.totp_enabled AS totp, (SELECT count(*)::int FROM passkeys p WHERE p.user_id = u.id) AS passkeys
    FROM users u WHERE u.id = ${userId}`;
  const out: SecondFactor[] = [];
  if (r?.totp) out.push("totp", "recovery_code");
  if (r && r.passkeys > 0) out.push("passkey");
  return out;
}

/**
 * The first factor passed for `user` by `method` ("password", "oidc:google"…):
 * a session, or a pending login when a second factor is set up. Audited.
 */
export async function finishPrimaryLogin(
  ctx: AppContext,
  user: { id: string; email: string; role: "admin" | "member" },
  meta: RequestMeta,
  method: string,
): Promise<LoginResult> {
  const methods = await secondFactors(ctx, user.id);
  const actor = { id: user.id, email: user.email, ...meta };
  if (methods.length > 0) {
    const setCookie = await createLoginChallenge(ctx, user.id, meta);
    await audit(ctx.sql, actor, "auth.login_first_factor", { target_type: "user", target_id: user.id, detail: { method } });
    return { status: "second_factor_required", methods, setCookies: [setCookie] };
  }
  const s = await createSession(ctx, user.id, meta);
  await audit(ctx.sql, actor, "auth.login", { target_type: "session", target_id: s.id, detail: { method } });
  return { status: "ok", user: { id: user.id, email: user.email, role: user.role }, setCookies: [s.setCookie] };
}

/** Email + password. Unknown email and wrong password: same error, same work. */
export async function passwordLogin(ctx: AppContext, email: string, password: string, meta: RequestMeta): Promise<LoginResult> {
  if (!ctx.config.WH_PASSWORD_LOGIN) throw new Forbidden("password sign-in is turned off on this server");
  const addr = email.trim().toLowerCase();
  const [u] = await ctx.sql<UserForLogin[]>`
    SELECT id, email, role, disabled, password_hash, totp_enabled FROM users WHERE email = ${addr}`;
  const ok = await Bun.password.verify(password, u?.password_hash ?? (await timingDummy()));
  if (!u || !ok || u.disabled || !u.password_hash) {
    await audit(ctx.sql, { id: u?.id ?? null, email: addr.slice(0, 254), ...meta }, "auth.login_failed", {
      outcome: "failure",
      target_type: "user",
      target_id: u?.id ?? null,
      detail: { method: "password" },
    });
    throw new Unauthorized("wrong email or password");
  }
  return finishPrimaryLogin(ctx, u, meta, "password");
}

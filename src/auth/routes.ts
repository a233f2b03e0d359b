/** /v1/auth: password sign-in, sign-out, who am I. (TOTP, OIDC and passkey routes live in their features.) */
import { Elysia } from "elysia";
import { z } from "zod";
import type { AppContext } from "../context";
import { audit } from "../audit/service";
import { RateLimiter } from "../http/rate-limit";
import { Forbidden } from "../http/errors";
import { clearCookie, CHALLENGE_COOKIE, readCookie, SESSION_COOKIE } from "../sessions/service";
import { sha256Hex } from "../protocol/hub";
import { authPlugin, requestMeta } from "./index";
import { isSameOrigin } from "./csrf";
import { passwordLogin } from "./service";

export const loginBody = z.object({ email: z.string().min(3).max(254), password: z.string().min(1).max(1024) }).strict();

/** A JSON response carrying several Set-Cookie headers (Elysia's `set` keeps one per name). */
export function jsonWithCookies(body: unknown, setCookies: string[], status = 200): Response {
  const res = new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8" } });
  for (const c of setCookies) res.headers.append("set-cookie", c);
  return res;
}

/** Sign-in and second-factor attempts: per IP and per account, WH_SIGNIN_RATE_PER_MIN (10) a minute. */
export function signInLimits(perMinute = 10) {
  const perIp = new RateLimiter(perMinute, 60_000);
  const perAccount = new RateLimiter(perMinute, 60_000);
  return {
    check(ip: string | null, account?: string) {
      perIp.hit(`ip:${ip ?? "unknown"}`);
      if (account) perAccount.hit(`account:${sha256Hex(account.trim().toLowerCase())}`);
    },
  };
}

/** A sign-in form posted from another site is refused (login CSRF); curl sends no Origin and passes. */
export function refuseCrossSite(request: Request, publicUrl: string) {
  if (request.headers.get("origin") !== null && !isSameOrigin(request.headers, publicUrl)) throw new Forbidden("cross-site request refused");
}

export function authRoutes(ctx: AppContext, limits = signInLimits(ctx.config.WH_SIGNIN_RATE_PER_MIN)) {
  return new Elysia({ prefix: "/v1/auth" })
    .use(authPlugin(ctx))
    .post(
      "/login",
      async ({ body, request, server }) => {
        refuseCrossSite(request, ctx.config.publicUrl);
        const meta = requestMeta(request, server);
        limits.check(meta.ip, body.email);
        const r = await passwordLogin(ctx, body.email, body.password, meta);
        return jsonWithCookies(r.status === "ok" ? { status: r.status, user: r.user } : { status: r.status, methods: r.methods }, r.setCookies);
      },
      { body: loginBody, detail: { summary: "Sign in with email and password; may ask for a second factor" } },
    )
    .post(
      "/logout",
      async ({ request, server }) => {
        const meta = requestMeta(request, server);
        const value = readCookie(request.headers.get("cookie"), SESSION_COOKIE);
        if (value) {
          const [s] = await ctx.sql<{ id: string; user_id: string }[]>`DELETE FROM sessions WHERE token_hash = ${sha256Hex(value)} RETURNING id, user_id`;
          if (s) await audit(ctx.sql, { id: s.user_id, email: null, ...meta }, "auth.logout", { target_type: "session", target_id: s.id });
        }
        return jsonWithCookies({ status: "signed_out" }, [clearCookie(ctx, SESSION_COOKIE), clearCookie(ctx, CHALLENGE_COOKIE)]);
      },
      { detail: { summary: "Sign out: ends this session" } },
    )
    .get(
      "/me",
      async ({ user }) => {
        const [u] = await ctx.sql<{ totp_enabled: boolean; display_name: string | null }[]>`
          SELECT totp_enabled, display_name FROM users WHERE id = ${user.id}`;
        return { id: user.id, email: user.email, role: user.role, via: user.via, scope: user.scope, session_id: user.sessionId, totp_enabled: u?.totp_enabled ?? false, display_name: u?.display_name ?? null };
      },
      { auth: "read", detail: { summary: "The signed-in user" } },
    )
    .get(
      "/providers",
      () => ({
        password: ctx.config.WH_PASSWORD_LOGIN,
        oidc: [
          ...(ctx.config.WH_GOOGLE_CLIENT_ID && ctx.config.WH_GOOGLE_CLIENT_SECRET ? [{ id: "google", name: "Google" }] : []),
          ...(ctx.config.WH_OIDC_ISSUER && ctx.config.WH_OIDC_CLIENT_ID && ctx.config.WH_OIDC_CLIENT_SECRET
            ? [{ id: "oidc", name: ctx.config.WH_OIDC_NAME }]
            : []),
        ],
      }),
      { detail: { summary: "Which sign-in methods this server offers (for the sign-in page)" } },
    );
}

export const loginResponse = z.union([
  z.object({ status: z.literal("ok"), user: z.object({ id: z.string(), email: z.string(), role: z.string() }) }),
  z.object({ status: z.literal("second_factor_required"), methods: z.array(z.string()) }),
]);

/**
 * /v1/auth/totp: enrol, activate and turn off TOTP for the signed-in user;
 * /v1/auth/login/totp: the second step of a sign-in (TOTP or recovery code),
 * reading the wh_login cookie that POST /v1/auth/login set.
 */
import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { authPlugin, requestMeta, type AuthUser } from "../auth/index";
import { jsonWithCookies, refuseCrossSite, signInLimits } from "../auth/routes";
import { Unauthorized } from "../http/errors";
import { CHALLENGE_COOKIE, pendingLogin, readCookie } from "../sessions/service";
import { codeBody, secondFactorBody } from "./model";
import { activate, disable, enroll, loginWithSecondFactor } from "./service";

export type SignInLimits = ReturnType<typeof signInLimits>;

/** The wh_login cookie's value; null when absent or not decodable (readCookie throws on a bad %-escape). */
function challengeCookie(request: Request): string | null {
  try {
    return readCookie(request.headers.get("cookie"), CHALLENGE_COOKIE);
  } catch {
    return null;
  }
}

const who = (u: AuthUser) => ({ id: u.id, email: u.email, ip: u.ip, userAgent: u.userAgent });

/** `limits`: per IP and per account, 10 a minute (tests pass their own). */
export function totpPlugin(ctx: AppContext, limits: SignInLimits = signInLimits(ctx.config.WH_SIGNIN_RATE_PER_MIN)) {
  return new Elysia({ prefix: "/v1/auth" })
    .use(authPlugin(ctx))
    .post(
      "/totp/enroll",
      async ({ user, set }) => {
        set.headers["cache-control"] = "no-store";
        return enroll(ctx, who(user));
      },
      { auth: "write", detail: { summary: "Start TOTP enrolment: an otpauth:// URI for the QR code (replaces a pending one); 409 when TOTP is already on" } },
    )
    .post(
      "/totp/activate",
      async ({ user, body, set }) => {
        set.headers["cache-control"] = "no-store";
        return activate(ctx, who(user), body.code);
      },
      { auth: "write", body: codeBody, detail: { summary: "Finish TOTP enrolment with a current code: returns 10 one-time recovery codes (shown once)" } },
    )
    .delete(
      "/totp",
      async ({ user, body }) => {
        limits.check(user.ip, user.email);
        await disable(ctx, who(user), body);
        return { status: "disabled" as const };
      },
      { auth: "write", body: secondFactorBody, detail: { summary: "Turn TOTP off: needs a current code {code} or a recovery code {recovery_code}" } },
    )
    .post(
      "/login/totp",
      async ({ body, request, server }) => {
        refuseCrossSite(request, ctx.config.publicUrl);
        const meta = requestMeta(request, server);
        const challenge = await pendingLogin(ctx, challengeCookie(request));
        limits.check(meta.ip, challenge?.email);
        if (!challenge) throw new Unauthorized("no sign-in in progress (or it expired): sign in with your password first");
        const r = await loginWithSecondFactor(ctx, challenge, body, meta);
        return jsonWithCookies({ status: "ok", user: r.user }, r.setCookies);
      },
      { body: secondFactorBody, detail: { summary: "Second sign-in step: {code} (TOTP) or {recovery_code}; sets a new session cookie" } },
    );
}

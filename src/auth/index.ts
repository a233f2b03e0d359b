/**
 * The auth plugin: a named Elysia plugin whose `auth` macro resolves the
 * caller — a bearer token or the wh_session cookie — to `user`, or answers
 * 401/403/429 before the handler runs. Cookie-authenticated unsafe requests
 * must come from our own origin (CSRF); bearer requests are exempt.
 * Usage: `.get("/x", ({ user }) => …, { auth: "read" })`.
 */
import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { Forbidden, Unauthorized } from "../http/errors";
import { RateLimiter } from "../http/rate-limit";
import { authenticateToken } from "../tokens/service";
import { readCookie, resolveSession, SESSION_COOKIE, type RequestMeta } from "../sessions/service";
import { isSameOrigin } from "./csrf";

export type AuthUser = {
  id: string;
  email: string;
  role: "admin" | "member";
  scope: "read" | "write" | "admin";
  via: "token" | "session";
  sessionId: string | null;
  tokenId: string | null;
  ip: string | null;
  userAgent: string | null;
};

/** What a route needs: read (any caller), write (not a read token), admin (admin role, not a read token). */
export type Need = "read" | "write" | "admin";

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** IP and user agent of a request, for sessions, audit and rate limits. */
export function requestMeta(request: Request, server: { requestIP(r: Request): { address: string } | null } | null | undefined): RequestMeta {
  return { ip: server?.requestIP(request)?.address ?? null, userAgent: request.headers.get("user-agent") };
}

const plugins = new WeakMap<AppContext, ReturnType<typeof buildAuthPlugin>>();

/** One plugin (and one rate limiter) per app context, shared by every feature. */
export function authPlugin(ctx: AppContext) {
  let p = plugins.get(ctx);
  if (!p) plugins.set(ctx, (p = buildAuthPlugin(ctx)));
  return p;
}

function buildAuthPlugin(ctx: AppContext) {
  const limiter = new RateLimiter(ctx.config.WH_API_RATE_PER_MIN, 60_000);
  return new Elysia({ name: "auth" }).macro({
    auth: (need: Need) => ({
      async resolve({ request, server }) {
        const meta = requestMeta(request, server);
        const header = request.headers.get("authorization");
        let user: AuthUser;
        if (header !== null) {
          const m = /^Bearer ([!-~]+)$/.exec(header);
          if (!m) throw new Unauthorized("send Authorization: Bearer <token>");
          const owner = await authenticateToken(ctx.sql, m[1]!);
          if (!owner) throw new Unauthorized("invalid, expired or revoked token");
          user = { id: owner.user_id, email: owner.email, role: owner.role, scope: owner.scope, via: "token", sessionId: null, tokenId: owner.token_id, ...meta };
        } else {
          const value = readCookie(request.headers.get("cookie"), SESSION_COOKIE);
          const s = value ? await resolveSession(ctx, value) : undefined;
          if (!s) throw new Unauthorized("sign in, or send Authorization: Bearer <token>");
          if (UNSAFE.has(request.method) && !isSameOrigin(request.headers, ctx.config.publicUrl))
            throw new Forbidden("cross-site request refused (Origin / Sec-Fetch-Site do not match this site)");
          user = { id: s.user_id, email: s.email, role: s.role, scope: "admin", via: "session", sessionId: s.id, tokenId: null, ...meta };
        }
        limiter.hit(user.tokenId ? `token:${user.tokenId}` : `session:${user.sessionId}`);
        if (need !== "read" && user.scope === "read") throw new Forbidden("this token is read-only");
        if (need === "admin" && user.role !== "admin") throw new Forbidden("admin only");
        return { user };
      },
    }),
  });
}

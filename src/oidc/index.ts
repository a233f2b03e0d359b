/**
 * /v1/auth/oidc: sign in with Google or another OpenID provider, and manage
 * the identities linked to your account.
 *
 *   GET    /v1/auth/oidc/:provider/start[?link=true]  302 to the provider (sets the wh_oidc flow cookie)
 *   GET    /v1/auth/oidc/:provider/callback           302 to / (or /?second_factor=1, or /?linked=<provider>)
 *   GET    /v1/auth/oidc/identities                   the caller's linked identities
 *   DELETE /v1/auth/oidc/identities/:provider         unlink one
 *
 * A refused callback answers a JSON error ({"error":{"code","message"}}, 4xx,
 * or 502 when the provider is unreachable), not a redirect: `code` names the
 * reason (state_mismatch, id_token_expired, no_account, …) and is the
 * `reason` of the audit row. The flow cookie is cleared either way.
 */
import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { authPlugin, requestMeta } from "../auth";
import { ApiError, errorJson, Forbidden, Unauthorized } from "../http/errors";
import { RateLimiter } from "../http/rate-limit";
import { readCookie, resolveSession, SESSION_COOKIE } from "../sessions/service";
import { callbackQuery, identityList, providerParam, startQuery } from "./model";
import * as oidc from "./service";

/** A 302 carrying several Set-Cookie headers. */
function redirect(location: string, setCookies: string[]): Response {
  const res = new Response(null, { status: 302, headers: { location, "cache-control": "no-store" } });
  for (const c of setCookies) res.headers.append("set-cookie", c);
  return res;
}

export function oidcPlugin(ctx: AppContext) {
  // Starts and callbacks per IP: each start writes a row, each callback calls the provider.
  const perIp = new RateLimiter(30, 60_000);
  return new Elysia({ prefix: "/v1/auth/oidc", tags: ["auth"] } as never)
    .use(authPlugin(ctx))
    .get(
      "/:provider/start",
      async ({ params, query, request, server }) => {
        const meta = requestMeta(request, server);
        perIp.hit(`oidc-start:${meta.ip ?? "unknown"}`);
        let linkUserId: string | null = null;
        if (query.link === "true" || query.link === "1") {
          // Linking is started from our own pages; another site must not start it for a signed-in browser.
          const site = request.headers.get("sec-fetch-site");
          if (site !== null && site !== "same-origin" && site !== "none") throw new Forbidden("cross-site request refused");
          const value = readCookie(request.headers.get("cookie"), SESSION_COOKIE);
          const session = value ? await resolveSession(ctx, value) : undefined;
          if (!session) throw new Unauthorized("sign in first, then link an identity to your account");
          linkUserId = session.user_id;
        }
        const r = await oidc.start(ctx, params.provider, linkUserId);
        return redirect(r.location, [r.setCookie]);
      },
      {
        params: providerParam,
        query: startQuery,
        detail: { summary: "Start signing in with an OpenID provider (google or oidc); ?link=true links it to the signed-in account" },
      },
    )
    .get(
      "/:provider/callback",
      async ({ params, query, request, server }) => {
        const meta = requestMeta(request, server);
        perIp.hit(`oidc-callback:${meta.ip ?? "unknown"}`);
        const cookie = request.headers.get("cookie");
        const clear = oidc.clearFlowCookie(ctx);
        try {
          const r = await oidc.callback(ctx, params.provider, query, { flow: readCookie(cookie, oidc.FLOW_COOKIE), session: readCookie(cookie, SESSION_COOKIE) }, meta);
          if (r.kind === "linked") return redirect(`/?linked=${r.provider}`, [clear]);
          const to = r.login.status === "ok" ? "/" : "/?second_factor=1";
          return redirect(to, [...r.login.setCookies, clear]);
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          const res = errorJson(e.status, e.code, e.message);
          res.headers.append("set-cookie", clear);
          return res;
        }
      },
      { params: providerParam, query: callbackQuery, detail: { summary: "Where the OpenID provider sends the browser back (code, state)" } },
    )
    .get("/identities", async ({ user }) => ({ identities: await oidc.identities(ctx, user.id) }), {
      auth: "read",
      response: identityList,
      detail: { summary: "Your linked sign-in identities" },
    })
    .delete(
      "/identities/:provider",
      async ({ user, params, set }) => {
        await oidc.unlink(ctx, { id: user.id, email: user.email, ip: user.ip, userAgent: user.userAgent }, params.provider);
        set.status = 204;
        return null;
      },
      { auth: "write", params: providerParam, detail: { summary: "Unlink your identity at a provider" } },
    );
}

/**
 * /v1/auth/passkeys: register, list, rename and delete passkeys (signed in),
 * and sign in with one — passwordless, or as the second factor of a pending
 * login (the wh_login cookie). Each ceremony is two calls: `…/options`
 * (hand its JSON to navigator.credentials.create/get) then `…/verify` (post
 * the credential's toJSON()).
 */
import { Elysia } from "elysia";
import { z } from "zod";
import type { AppContext } from "../context";
import { authPlugin, requestMeta } from "../auth";
import { jsonWithCookies, refuseCrossSite, signInLimits } from "../auth/routes";
import { Forbidden, Unauthorized } from "../http/errors";
import { CHALLENGE_COOKIE, pendingLogin, readCookie } from "../sessions/service";
import { authenticateBody, passkey, passkeyIdParam, registerBody, renameBody } from "./model";
import * as passkeys from "./service";

type Limits = ReturnType<typeof signInLimits>;

/**
 * Rate limits of the four sign-in routes: a signInLimits() each (10 a minute
 * per IP, and per account when one is known).
 */
export type PasskeyLimits = { loginOptions: Limits; loginVerify: Limits; secondFactorOptions: Limits; secondFactorVerify: Limits };

const defaultLimits = (perMinute: number): PasskeyLimits => ({
  loginOptions: signInLimits(perMinute),
  loginVerify: signInLimits(perMinute),
  secondFactorOptions: signInLimits(perMinute),
  secondFactorVerify: signInLimits(perMinute),
});

/** What a successful sign-in answers (with Set-Cookie: wh_session). */
const signedIn = z.object({
  status: z.literal("ok"),
  user: z.object({ id: z.string(), email: z.string(), role: z.string() }),
});
const signedInDoc = { 200: { description: "Signed in", content: { "application/json": { schema: z.toJSONSchema(signedIn) } } } } as never;

export function passkeysPlugin(ctx: AppContext, limits: PasskeyLimits = defaultLimits(ctx.config.WH_SIGNIN_RATE_PER_MIN)) {
  /** Registering needs a browser session: a passkey must not be addable with an API token (it would mint sessions). */
  const needSession = (user: { via: "token" | "session" }) => {
    if (user.via !== "session") throw new Forbidden("passkeys are registered from a signed-in browser session, not with an API token");
  };
  /** The pending login of the wh_login cookie; the attempt counts (per IP, and per account when there is one) either way. */
  const pending = async (request: Request, ip: string | null, limit: Limits) => {
    const p = await pendingLogin(ctx, readCookie(request.headers.get("cookie"), CHALLENGE_COOKIE));
    limit.check(ip, p?.email);
    if (!p) throw new Unauthorized("no sign-in is waiting for a second factor; sign in with your password first");
    return p;
  };

  return new Elysia({ prefix: "/v1/auth/passkeys", tags: ["passkeys"] } as never)
    .use(authPlugin(ctx))
    .get("/", async ({ user }) => ({ passkeys: await passkeys.list(ctx, user.id) }), {
      auth: "read",
      response: z.object({ passkeys: z.array(passkey) }),
      detail: { summary: "List your passkeys" },
    })
    .post(
      "/register/options",
      async ({ user }) => {
        needSession(user);
        return passkeys.registrationOptions(ctx, user);
      },
      { auth: "write", detail: { summary: "Start registering a passkey: options for navigator.credentials.create()" } },
    )
    .post(
      "/register/verify",
      async ({ user, body, set }) => {
        needSession(user);
        const created = await passkeys.register(ctx, user, body);
        set.status = 201;
        return created;
      },
      { auth: "write", body: registerBody, detail: { summary: "Finish registering a passkey: the created credential and a name" } },
    )
    .patch("/:id", async ({ user, params, body }) => passkeys.rename(ctx, user, params.id, body.name), {
      auth: "write",
      params: passkeyIdParam,
      body: renameBody,
      response: passkey,
      detail: { summary: "Rename a passkey" },
    })
    .delete(
      "/:id",
      async ({ user, params, set }) => {
        await passkeys.remove(ctx, user, params.id);
        set.status = 204;
        return null;
      },
      { auth: "write", params: passkeyIdParam, detail: { summary: "Delete a passkey; it stops working at once" } },
    )
    .post(
      "/login/options",
      async ({ request, server }) => {
        refuseCrossSite(request, ctx.config.publicUrl);
        limits.loginOptions.check(requestMeta(request, server).ip);
        return passkeys.passwordlessOptions(ctx);
      },
      { detail: { summary: "Start a passwordless sign-in: options for navigator.credentials.get()" } },
    )
    .post(
      "/login/verify",
      async ({ request, server, body }) => {
        refuseCrossSite(request, ctx.config.publicUrl);
        const meta = requestMeta(request, server);
        limits.loginVerify.check(meta.ip, `passkey:${body.response.id}`);
        const r = await passkeys.passwordlessLogin(ctx, body.response, meta);
        return jsonWithCookies({ status: "ok", user: r.user }, r.setCookies);
      },
      { body: authenticateBody, detail: { summary: "Finish a passwordless sign-in: makes a session", responses: signedInDoc } },
    )
    .post(
      "/second-factor/options",
      async ({ request, server }) => {
        refuseCrossSite(request, ctx.config.publicUrl);
        const p = await pending(request, requestMeta(request, server).ip, limits.secondFactorOptions);
        return passkeys.secondFactorOptions(ctx, p);
      },
      { detail: { summary: "Passkey as the second factor of a pending sign-in: options limited to that account's passkeys" } },
    )
    .post(
      "/second-factor/verify",
      async ({ request, server, body }) => {
        refuseCrossSite(request, ctx.config.publicUrl);
        const meta = requestMeta(request, server);
        const p = await pending(request, meta.ip, limits.secondFactorVerify);
        const r = await passkeys.secondFactorLogin(ctx, p, body.response, meta);
        return jsonWithCookies({ status: "ok", user: r.user }, r.setCookies);
      },
      { body: authenticateBody, detail: { summary: "Finish the second factor with a passkey: makes a session", responses: signedInDoc } },
    );
}

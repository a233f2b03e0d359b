/** /v1/users (admin) and /v1/invites/accept (the invite link's form). */
import { Elysia } from "elysia";
import { z } from "zod";
import type { AppContext } from "../context";
import { authPlugin, requestMeta } from "../auth";
import { idParam } from "../protocol/api";
import { inviteAccept, userCreate, userPatch, userView } from "./model";
import * as users from "./admin";
import { refuseCrossSite } from "../auth/routes";

export function usersPlugin(ctx: AppContext) {
  const admin = new Elysia({ prefix: "/v1/users" })
    .use(authPlugin(ctx))
    .post(
      "/",
      async ({ user, body, set }) => {
        set.status = 201;
        return users.create(ctx, user, body);
      },
      { auth: "admin", body: userCreate, detail: { summary: "Create a user; without a password the answer holds an invite link" } },
    )
    .get("/", async () => ({ users: await users.list(ctx) }), {
      auth: "admin",
      response: z.object({ users: z.array(userView) }),
      detail: { summary: "All users" },
    })
    .patch("/:id", ({ user, params, body }) => users.patch(ctx, user, params.id, body), {
      auth: "admin",
      params: idParam,
      body: userPatch,
      response: userView,
      detail: { summary: "Change role, name, or disable (ends all sessions and tokens)" },
    })
    .delete("/:id", ({ user, params }) => users.patch(ctx, user, params.id, { disabled: true }), {
      auth: "admin",
      params: idParam,
      response: userView,
      detail: { summary: "Disable a user (kept for the audit trail and their projects)" },
    });
  const setup = new Elysia().get(
    "/v1/setup-status",
    async () => {
      const [r] = await ctx.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND NOT disabled`;
      return { has_admin: r!.n > 0 };
    },
    { detail: { summary: "Whether an admin exists yet (the dashboard's first-run screen)" } },
  );
  const invites = new Elysia({ prefix: "/v1/invites" }).post(
    "/accept",
    async ({ body, request, server }) => {
      refuseCrossSite(request, ctx.config.publicUrl);
      const meta = requestMeta(request, server);
      return users.acceptInvite(ctx, meta, body.token, body.password);
    },
    { body: inviteAccept, detail: { summary: "Set the password of an invited account" } },
  );
  return new Elysia().use(admin).use(invites).use(setup);
}

/** /v1/sessions: your signed-in browsers; revoke one or all but this one. */
import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { authPlugin } from "../auth";
import { idParam } from "../protocol/api";
import * as sessions from "./service";

export function sessionsPlugin(ctx: AppContext) {
  return new Elysia({ prefix: "/v1/sessions" })
    .use(authPlugin(ctx))
    .get("/", async ({ user }) => ({ sessions: await sessions.list(ctx, user.id, user.sessionId) }), {
      auth: "read",
      detail: { summary: "Active sessions with IP, browser and last use" },
    })
    .delete(
      "/:id",
      async ({ user, params, set }) => {
        await sessions.revoke(ctx, user, params.id);
        set.status = 204;
        return null;
      },
      { auth: "write", params: idParam, detail: { summary: "Revoke one session (effective on its next request)" } },
    )
    .delete("/", async ({ user }) => ({ revoked: await sessions.revokeOthers(ctx, user, user.sessionId) }), {
      auth: "write",
      detail: { summary: "Revoke every session but this one" },
    });
}

/** /v1/tokens: personal API tokens for curl (shown once, stored as sha256). */
import { Elysia } from "elysia";
import { z } from "zod";
import type { AppContext } from "../context";
import { authPlugin } from "../auth";
import { idParam } from "../protocol/api";
import { tokenCreate, tokenView } from "./model";
import * as tokens from "./service";

export function tokensPlugin(ctx: AppContext) {
  return new Elysia({ prefix: "/v1/tokens" })
    .use(authPlugin(ctx))
    .post(
      "/",
      async ({ user, body, set }) => {
        set.status = 201;
        return tokens.create(ctx, user, body);
      },
      { auth: "write", body: tokenCreate, detail: { summary: "Create a personal API token (wh_pat_…, shown once)" } },
    )
    .get("/", async ({ user }) => ({ tokens: await tokens.list(ctx, user.id) }), {
      auth: "read",
      response: z.object({ tokens: z.array(tokenView) }),
      detail: { summary: "Your tokens (never their values)" },
    })
    .delete(
      "/:id",
      async ({ user, params, set }) => {
        await tokens.revoke(ctx, user, params.id);
        set.status = 204;
        return null;
      },
      { auth: "write", params: idParam, detail: { summary: "Revoke a token" } },
    );
}

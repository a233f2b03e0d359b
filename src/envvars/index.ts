/** /v1/projects/:id/env: a project's environment, applied on the next deploy. */
import { Elysia } from "elysia";
import { z } from "zod";
import type { AppContext } from "../context";
import { authPlugin } from "../auth";
import { envPut, envView, idParam } from "../protocol/api";
import * as env from "./service";

export function envPlugin(ctx: AppContext) {
  return new Elysia({ prefix: "/v1/projects/:id/env" })
    .use(authPlugin(ctx))
    .get("/", ({ user, params, query }) => env.get(ctx, user, params.id, query.reveal === "true"), {
      auth: "read",
      params: idParam,
      query: z.object({ reveal: z.enum(["true", "false"]).optional() }),
      response: envView,
      detail: { summary: "Read env vars (masked unless ?reveal=true)" },
    })
    .put("/", ({ user, params, body }) => env.put(ctx, user, params.id, body.vars, body.build), {
      auth: "write",
      params: idParam,
      body: envPut,
      response: envView,
      detail: { summary: "Replace all env vars" },
    });
}

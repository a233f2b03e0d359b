/** /v1/workers: agent register/login/refresh (no user auth) and the admin's worker list. */
import { Elysia } from "elysia";
import { z } from "zod";
import type { AppContext } from "../context";
import { authPlugin, requestMeta } from "../auth";
import { idParam, worker } from "../protocol/api";
import { loginRequest, registerRequest, tokenResponse } from "../protocol/hub";
import * as workers from "./service";

export function workersPlugin(ctx: AppContext) {
  return new Elysia({ prefix: "/v1/workers" })
    .use(authPlugin(ctx))
    .post("/register", ({ body, request, server }) => workers.register(ctx, requestMeta(request, server), body), {
      body: registerRequest,
      response: tokenResponse,
      detail: { summary: "Agent: first registration with the cluster secret and its own api key" },
    })
    .post("/login", ({ body }) => workers.login(ctx, body), {
      body: loginRequest,
      response: tokenResponse,
      detail: { summary: "Agent: later starts, with its worker id and api key" },
    })
    .post("/refresh-token", ({ headers }) => workers.refresh(ctx, headers.authorization), {
      response: tokenResponse,
      detail: { summary: "Agent: a fresh 15-minute token for a still-valid one" },
    })
    .get("/", async () => ({ workers: await workers.list(ctx) }), {
      auth: "admin",
      response: z.object({ workers: z.array(worker) }),
      detail: { summary: "List workers (admin)" },
    })
    .delete(
      "/:id",
      async ({ user, params, set }) => {
        await workers.remove(ctx, user, params.id);
        set.status = 204;
        return null;
      },
      { auth: "admin", params: idParam, detail: { summary: "Delete an empty worker (admin); it can't log in again" } },
    );
}

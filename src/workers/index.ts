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
    .post("/:id/drain", ({ user, params }) => workers.setDraining(ctx, user, params.id, true), {
      auth: "admin",
      params: idParam,
      response: worker,
      detail: { summary: "Drain: no new placements; its apps move away one by one with zero downtime" },
    })
    .post("/:id/undrain", ({ user, params }) => workers.setDraining(ctx, user, params.id, false), {
      auth: "admin",
      params: idParam,
      response: worker,
      detail: { summary: "Take placements again" },
    })
    .delete(
      "/:id",
      async ({ user, params, query, set }) => {
        const r = await workers.remove(ctx, user, params.id, query.force === "true");
        set.status = r === "deleted" ? 204 : 202;
        return r === "deleted" ? null : { status: "draining", message: "the worker is draining and will be deleted once empty" };
      },
      {
        auth: "admin",
        params: idParam,
        query: z.object({ force: z.enum(["true", "false"]).optional() }),
        detail: { summary: "Delete an empty worker (admin); ?force=true drains a busy one first" },
      },
    );
}

/** Deployment routes: under a project, by id, logs, and the project's stop/start/restart. */
import { Elysia } from "elysia";
import { z } from "zod";
import type { AppContext } from "../context";
import { authPlugin } from "../auth";
import { deployment, deploymentCreated, idParam } from "./model";
import { deployTarget } from "../protocol/api";
import * as deployments from "./service";
import { followLogs, logText } from "./logs";

export function deploymentsPlugin(ctx: AppContext) {
  const auth = authPlugin(ctx);
  const project = new Elysia({ prefix: "/v1/projects/:id" })
    .use(auth)
    .post(
      "/deployments",
      async ({ user, params, body, set }) => {
        set.status = 202;
        return deployments.create(ctx, user, params.id, body ?? {});
      },
      {
        auth: "write",
        params: idParam,
        body: deployTarget.optional(),
        response: { 202: deploymentCreated },
        detail: { summary: "Deploy the project's branch; or {branch} another branch's head, or {commit_sha} exactly that commit" },
      },
    )
    .get("/deployments", async ({ user, params }) => ({ deployments: await deployments.list(ctx, user, params.id) }), {
      auth: "read",
      params: idParam,
      response: z.object({ deployments: z.array(deployment) }),
      detail: { summary: "List a project's deployments, newest first" },
    })
    .post("/stop", ({ user, params }) => deployments.stop(ctx, user, params.id), {
      auth: "write",
      params: idParam,
      detail: { summary: "Stop the running deployment" },
    })
    .post("/start", ({ user, params }) => deployments.start(ctx, user, params.id), {
      auth: "write",
      params: idParam,
      detail: { summary: "Start the stopped deployment again" },
    })
    .post("/restart", ({ user, params }) => deployments.restart(ctx, user, params.id), {
      auth: "write",
      params: idParam,
      detail: { summary: "Restart the running container" },
    });

  const byId = new Elysia({ prefix: "/v1/deployments/:id" })
    .use(auth)
    .post(
      "/redeploy",
      async ({ user, params, set }) => {
        set.status = 202;
        return deployments.redeploy(ctx, user, params.id);
      },
      { auth: "write", params: idParam, response: { 202: deploymentCreated }, detail: { summary: "Deploy this deployment's commit again (rollback)" } },
    )
    .get("/", async ({ user, params }) => deployments.toDeployment(await deployments.get(ctx, user, params.id)), {
      auth: "read",
      params: idParam,
      response: deployment,
      detail: { summary: "A deployment with each step's timestamp" },
    })
    .get(
      "/logs",
      async ({ user, params, query, request, server }) => {
        const d = await deployments.get(ctx, user, params.id);
        const headers = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" };
        if (query.follow === "true" || query.follow === "live") {
          server?.timeout(request, 0); // a followed log may be quiet for long stretches
          return new Response(followLogs(ctx, d.id, request.signal, query.follow === "live"), { headers });
        }
        return new Response(await logText(ctx, d.id), { headers });
      },
      {
        auth: "read",
        params: idParam,
        query: z.object({ follow: z.enum(["true", "false", "live"]).optional() }),
        detail: { summary: "Build and runtime logs as text; ?follow=true streams until the deployment settles, ?follow=live also while it runs" },
      },
    );
  return new Elysia().use(project).use(byId);
}

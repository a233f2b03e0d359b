/** /v1/projects: CRUD for projects. */
import { Elysia } from "elysia";
import { z } from "zod";
import type { AppContext } from "../context";
import { authPlugin } from "../auth";
import { idParam, project, projectCreate, projectPatch } from "./model";
import * as projects from "./service";

export function projectsPlugin(ctx: AppContext) {
  return new Elysia({ prefix: "/v1/projects", tags: ["projects"] } as never)
    .use(authPlugin(ctx))
    .get("/", async ({ user }) => ({ projects: await projects.list(ctx, user) }), {
      auth: "read",
      response: z.object({ projects: z.array(project) }),
      detail: { summary: "List your projects" },
    })
    .post(
      "/",
      async ({ user, body, set }) => {
        set.status = 201;
        return projects.create(ctx, user, body);
      },
      { auth: "write", body: projectCreate, detail: { summary: "Create a project" } },
    )
    .get("/:id", async ({ user, params }) => projects.toProject(ctx, await projects.getProject(ctx, user, params.id)), {
      auth: "read",
      params: idParam,
      response: project,
      detail: { summary: "Get a project" },
    })
    .patch("/:id", async ({ user, params, body }) => projects.patch(ctx, user, params.id, body), {
      auth: "write",
      params: idParam,
      body: projectPatch,
      detail: { summary: "Change a project's settings (takes effect on the next deploy)" },
    })
    .delete(
      "/:id",
      async ({ user, params, set }) => {
        await projects.remove(ctx, user, params.id);
        set.status = 204;
        return null;
      },
      { auth: "write", params: idParam, detail: { summary: "Delete a project, its deployments and containers" } },
    );
}

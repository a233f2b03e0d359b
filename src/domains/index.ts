/**
 * Custom domains: /v1/projects/:id/domains (add, list) and /v1/domains/:id
 * (read, verify now, delete); also mounts the edge's ask endpoint. The
 * background checks are startDomainJobs (main.ts starts them).
 */
import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { authPlugin } from "../auth";
import { edgePlugin } from "../edge";
import { domain, domainCreate, domainList, idParam } from "./model";
import * as domains from "./service";

export { startDomainJobs } from "./jobs";

export function domainsPlugin(ctx: AppContext) {
  const auth = authPlugin(ctx);
  const byProject = new Elysia({ prefix: "/v1/projects/:id", tags: ["domains"] } as never)
    .use(auth)
    .get("/domains", async ({ user, params }) => ({ domains: await domains.list(ctx, user, params.id) }), {
      auth: "read",
      params: idParam,
      response: domainList,
      detail: { summary: "List a project's custom domains with their DNS records and verification state" },
    })
    .post(
      "/domains",
      async ({ user, params, body, set }) => {
        set.status = 201;
        return domains.create(ctx, user, params.id, body);
      },
      {
        auth: "write",
        params: idParam,
        body: domainCreate,
        response: { 201: domain },
        detail: { summary: "Add a custom domain (pending until its TXT record _wisehosting.<hostname> holds its token)" },
      },
    );

  const byId = new Elysia({ prefix: "/v1/domains/:id", tags: ["domains"] } as never)
    .use(auth)
    .get("/", async ({ user, params }) => domains.get(ctx, user, params.id), {
      auth: "read",
      params: idParam,
      response: domain,
      detail: { summary: "A custom domain" },
    })
    .post("/verify", async ({ user, params }) => domains.verifyNow(ctx, user, params.id), {
      auth: "write",
      params: idParam,
      response: domain,
      detail: { summary: "Check the domain's DNS now; answers with its state afterwards" },
    })
    .delete(
      "/",
      async ({ user, params, set }) => {
        await domains.remove(ctx, user, params.id);
        set.status = 204;
        return null;
      },
      { auth: "write", params: idParam, detail: { summary: "Remove a custom domain (it stops routing at once)" } },
    );

  return new Elysia().use(byProject).use(byId).use(edgePlugin(ctx));
}

/**
 * GET /v1/usage (JSON or ?format=csv); quotas: GET /v1/quota (your own),
 * GET/PUT/DELETE /v1/users/:id/quota (admin).
 */
import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { authPlugin } from "../auth";
import { idParam } from "../protocol/api";
import { quotaLimits, quotaView, usageQuery } from "./model";
import { clearQuota, getQuota, quotaView as ownQuota, setQuota } from "./quotas";
import { report, toCsv } from "./service";

export { enforceQuota, QuotaExceeded } from "./quotas";

export function usagePlugin(ctx: AppContext) {
  return new Elysia({ tags: ["usage"] } as never)
    .use(authPlugin(ctx))
    .get(
      "/v1/usage",
      async ({ user, query }) => {
        const r = await report(ctx, user, query);
        if (query.format !== "csv") return r;
        const name = `usage-${r.from.slice(0, 13)}-${r.to.slice(0, 13)}.csv`.replace(/:/g, "");
        return new Response(toCsv(r), {
          headers: {
            "content-type": "text/csv; charset=utf-8",
            "content-disposition": `attachment; filename="${name}"`,
            "cache-control": "no-store",
          },
        });
      },
      {
        auth: "read",
        query: usageQuery,
        detail: {
          summary:
            "Usage per project per hour: CPU-seconds, memory MB-hours (limit and used), network bytes, build minutes, container-hours (?from&to&project; admins also ?user and get totals per user; ?format=csv)",
        },
      },
    )
    .get("/v1/quota", ({ user }) => ownQuota(ctx, user.id), {
      auth: "read",
      response: quotaView,
      detail: { summary: "Your quota: each limit (null = none) and the current figure it is checked against" },
    })
    .get("/v1/users/:id/quota", ({ params }) => getQuota(ctx, params.id), {
      auth: "admin",
      params: idParam,
      response: quotaView,
      detail: { summary: "A user's quota (admin)" },
    })
    .put("/v1/users/:id/quota", ({ user, params, body }) => setQuota(ctx, user, params.id, body), {
      auth: "admin",
      params: idParam,
      body: quotaLimits,
      response: quotaView,
      detail: { summary: "Set a user's quota (admin): max_projects, max_app_memory_mb, max_total_memory_mb, max_concurrent_builds; null or missing = no limit" },
    })
    .delete(
      "/v1/users/:id/quota",
      async ({ user, params, set }) => {
        await clearQuota(ctx, user, params.id);
        set.status = 204;
        return null;
      },
      { auth: "admin", params: idParam, detail: { summary: "Remove every limit of a user (admin)" } },
    );
}

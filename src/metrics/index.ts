/**
 * GET /v1/projects/:id/metrics (owner or admin) and GET /v1/workers/:id/metrics
 * (admin): time series ready to chart. The hub hands `stats` messages to
 * {@link onStats}; main.ts starts {@link startMetricsJobs} (retention).
 */
import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { authPlugin } from "../auth";
import { idParam } from "../protocol/api";
import { metricsQuery, projectMetrics, workerMetrics } from "./model";
import * as metrics from "./service";

export { onStats, startMetricsJobs, runRetention } from "./service";

export function metricsPlugin(ctx: AppContext) {
  return new Elysia({ tags: ["metrics"] } as never)
    .use(authPlugin(ctx))
    .get("/v1/projects/:id/metrics", ({ user, params, query }) => metrics.projectMetrics(ctx, user, params.id, query), {
      auth: "read",
      params: idParam,
      query: metricsQuery,
      response: projectMetrics,
      detail: {
        summary: "A project's CPU, memory, network and disk I/O over time (?from&to ISO times, default the last hour; ?step like 10s, 5m, 1h)",
      },
    })
    .get("/v1/workers/:id/metrics", ({ params, query }) => metrics.workerMetrics(ctx, params.id, query), {
      auth: "admin",
      params: idParam,
      query: metricsQuery,
      response: workerMetrics,
      detail: { summary: "A worker's CPU, memory and disk over time, its latest sample and the containers on it (admin)" },
    });
}

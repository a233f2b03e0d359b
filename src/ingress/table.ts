/**
 * Loads the route table both edges serve (the built-in ingress and the Caddy
 * edge): every project whose current deployment is running — which it only
 * becomes after the agent's health check passed — under
 * <project>.<WH_APPS_DOMAIN>, plus that project's verified custom domains.
 */
import type { Sql } from "postgres";
import type { RouteEntry } from "./routes";

export async function loadRoutes(sql: Sql, appsDomain: string): Promise<RouteEntry[]> {
  const rows = await sql<{ hostname: string; project: string; kind: "app" | "domain"; address: string; host_port: number }[]>`
    WITH live AS (
      SELECT p.id, p.name, w.address, d.host_port
      FROM projects p
      JOIN deployments d ON d.id = p.current_deployment_id
      JOIN workers w ON w.id = d.worker_id
      WHERE d.status = 'running' AND d.host_port IS NOT NULL
    )
    SELECT l.name || '.' || ${appsDomain}::text AS hostname, l.name AS project, 'app' AS kind, l.address, l.host_port FROM live l
    UNION ALL
    SELECT dm.hostname, l.name, 'domain', l.address, l.host_port
    FROM domains dm JOIN live l ON l.id = dm.project_id
    WHERE dm.status = 'verified'
    ORDER BY 1`;
  return rows.map((r) => ({ hostname: r.hostname, project: r.project, kind: r.kind, upstream: { address: r.address, port: r.host_port } }));
}

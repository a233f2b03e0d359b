/** Usage and quota SQL. */
import type { Sql, TransactionSql } from "postgres";
import type { QuotaLimits } from "./model";

type Q = Sql | TransactionSql;

export type UsageFilter = { from: Date; to: Date; owner_id?: string; project_id?: string };

/** Raw sums of one project's hour; the service turns them into the published units. */
export type UsageHourRow = {
  hour: Date;
  project_id: string;
  owner_id: string;
  project_name: string | null;
  email: string | null;
  cpu_seconds: number;
  mem_limit_byte_seconds: number;
  mem_byte_seconds: number;
  net_rx_bytes: number;
  net_tx_bytes: number;
  container_seconds: number;
  build_seconds: number;
};

/**
 * Per project per hour: the 1-hour container rollups, joined with build time
 * split across the hours it spans (a build still running counts up to now).
 */
export async function usageHours(sql: Q, f: UsageFilter, limit: number): Promise<UsageHourRow[]> {
  const ownerR = f.owner_id ? sql`r.owner_id = ${f.owner_id}` : sql`true`;
  const projectR = f.project_id ? sql`r.project_id = ${f.project_id}` : sql`true`;
  const ownerB = f.owner_id ? sql`b.owner_id = ${f.owner_id}` : sql`true`;
  const projectB = f.project_id ? sql`b.project_id = ${f.project_id}` : sql`true`;
  return sql<UsageHourRow[]>`
    WITH res AS (
      SELECT r.bucket AS hour, r.project_id, r.owner_id,
        sum(r.cpu_seconds) AS cpu_seconds, sum(r.mem_limit_byte_seconds) AS lim_bs, sum(r.mem_byte_seconds) AS mem_bs,
        sum(r.net_rx_bytes) AS rx, sum(r.net_tx_bytes) AS tx, sum(r.seconds) AS seconds
      FROM container_rollups r
      WHERE r.step_s = 3600 AND r.bucket >= ${f.from} AND r.bucket < ${f.to} AND ${ownerR} AND ${projectR}
      GROUP BY 1, 2, 3
    ), builds AS (
      SELECT h.hour, b.project_id, b.owner_id,
        sum(extract(epoch FROM least(coalesce(b.finished_at, now()), h.hour + interval '1 hour') - greatest(b.started_at, h.hour))) AS seconds
      FROM build_usage b
      CROSS JOIN LATERAL generate_series(
        date_bin(interval '1 hour', b.started_at, TIMESTAMPTZ 'epoch'), coalesce(b.finished_at, now()), interval '1 hour'
      ) AS h(hour)
      WHERE b.started_at < ${f.to} AND coalesce(b.finished_at, now()) > ${f.from}
        AND h.hour >= ${f.from} AND h.hour < ${f.to} AND ${ownerB} AND ${projectB}
      GROUP BY 1, 2, 3
    )
    SELECT coalesce(r.hour, b.hour) AS hour,
      coalesce(r.project_id, b.project_id) AS project_id,
      coalesce(r.owner_id, b.owner_id) AS owner_id,
      p.name AS project_name, u.email,
      coalesce(r.cpu_seconds, 0)::float8 AS cpu_seconds,
      coalesce(r.lim_bs, 0)::float8 AS mem_limit_byte_seconds,
      coalesce(r.mem_bs, 0)::float8 AS mem_byte_seconds,
      coalesce(r.rx, 0)::float8 AS net_rx_bytes,
      coalesce(r.tx, 0)::float8 AS net_tx_bytes,
      coalesce(r.seconds, 0)::float8 AS container_seconds,
      greatest(coalesce(b.seconds, 0), 0)::float8 AS build_seconds
    FROM res r
    FULL JOIN builds b ON b.hour = r.hour AND b.project_id = r.project_id
    LEFT JOIN projects p ON p.id = coalesce(r.project_id, b.project_id)
    LEFT JOIN users u ON u.id = coalesce(r.owner_id, b.owner_id)
    ORDER BY 1, 4 NULLS LAST, 2
    LIMIT ${limit}`;
}

/** Finished builds older than the cut-off (their usage rollups are gone by then too). */
export async function deleteOldBuilds(sql: Q, cutoff: Date): Promise<number> {
  const r = await sql`DELETE FROM build_usage WHERE finished_at < ${cutoff}`;
  return r.count;
}

// ---- quotas --------------------------------------------------------------

export type QuotaRow = QuotaLimits & { user_id: string; updated_at: Date };

export async function findQuota(sql: Q, userId: string): Promise<QuotaRow | undefined> {
  const [row] = await sql<QuotaRow[]>`
    SELECT user_id, max_projects, max_app_memory_mb, max_total_memory_mb, max_concurrent_builds, updated_at
    FROM user_quotas WHERE user_id = ${userId}`;
  return row;
}

export async function upsertQuota(sql: Q, userId: string, limits: QuotaLimits, by: string): Promise<void> {
  await sql`
    INSERT INTO user_quotas (user_id, max_projects, max_app_memory_mb, max_total_memory_mb, max_concurrent_builds, updated_by)
    VALUES (${userId}, ${limits.max_projects}, ${limits.max_app_memory_mb}, ${limits.max_total_memory_mb}, ${limits.max_concurrent_builds}, ${by})
    ON CONFLICT (user_id) DO UPDATE SET
      max_projects = excluded.max_projects,
      max_app_memory_mb = excluded.max_app_memory_mb,
      max_total_memory_mb = excluded.max_total_memory_mb,
      max_concurrent_builds = excluded.max_concurrent_builds,
      updated_by = excluded.updated_by,
      updated_at = now()`;
}

export async function deleteQuota(sql: Q, userId: string): Promise<void> {
  await sql`DELETE FROM user_quotas WHERE user_id = ${userId}`;
}

export async function userExists(sql: Q, userId: string): Promise<boolean> {
  return (await sql`SELECT 1 FROM users WHERE id = ${userId}`).length === 1;
}

export type QuotaFigures = { projects: number; total_memory_mb: number; largest_app_memory_mb: number; concurrent_builds: number };

/** What the limits are checked against; `exceptProject` leaves one project out of the memory sums (it is being changed). */
export async function quotaFigures(sql: Q, userId: string, exceptProject: string | null = null): Promise<QuotaFigures> {
  const [row] = await sql<QuotaFigures[]>`
    SELECT
      (SELECT count(*) FROM projects WHERE owner_id = ${userId})::int AS projects,
      (SELECT coalesce(sum(memory_mb), 0) FROM projects WHERE owner_id = ${userId} AND id IS DISTINCT FROM ${exceptProject}::uuid)::int AS total_memory_mb,
      (SELECT coalesce(max(memory_mb), 0) FROM projects WHERE owner_id = ${userId} AND id IS DISTINCT FROM ${exceptProject}::uuid)::int AS largest_app_memory_mb,
      (SELECT count(*) FROM deployments d JOIN projects p ON p.id = d.project_id
        WHERE p.owner_id = ${userId} AND d.status IN ('queued', 'pending', 'building'))::int AS concurrent_builds`;
  return row!;
}

/** A project's owner and memory, if the viewer may see it. */
export async function projectForQuota(
  sql: Q,
  projectId: string,
  viewer: { id: string; role: "admin" | "member" } | null,
): Promise<{ owner_id: string; memory_mb: number } | undefined> {
  const visible = viewer === null || viewer.role === "admin" ? sql`true` : sql`owner_id = ${viewer.id}`;
  const [row] = await sql<{ owner_id: string; memory_mb: number }[]>`
    SELECT owner_id, memory_mb FROM projects WHERE id = ${projectId} AND ${visible}`;
  return row;
}

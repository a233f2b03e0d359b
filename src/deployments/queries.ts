/**
 * Deployment rows: the state machine as compare-and-swap UPDATEs, and the
 * memory reservation on a worker, taken and released atomically in SQL.
 */
import type { Sql, TransactionSql } from "postgres";
import type { DeploymentStatus } from "../protocol/hub";
import type { Viewer } from "../projects/queries";

type Q = Sql | TransactionSql;

export type DeploymentRow = {
  id: string;
  project_id: string;
  status: DeploymentStatus;
  worker_id: string | null;
  reserved_mb: number;
  commit_sha: string | null;
  host_port: number | null;
  container_id: string | null;
  error: string | null;
  pending_reason: string | null;
  created_by: string | null;
  requested_sha: string | null;
  requested_branch: string | null;
  redeploy_of: string | null;
  /** What made the Containerfile (sql/0009_builders.sql); null until building. */
  builder: string | null;
  placement_epoch: number;
  moving_to: string | null;
  moved_from: string | null;
  move_reason: "failover" | "drain" | null;
  queued_at: Date;
  building_at: Date | null;
  starting_at: Date | null;
  running_at: Date | null;
  failed_at: Date | null;
  stopped_at: Date | null;
  superseded_at: Date | null;
};

/** The states each state may be entered from. Anything else is refused by the UPDATE. */
export const TRANSITIONS: Record<DeploymentStatus, DeploymentStatus[]> = {
  queued: [],
  pending: [],
  building: ["queued"],
  starting: ["building", "stopped"],
  running: ["starting"],
  failed: ["queued", "pending", "building", "starting", "running"],
  stopped: ["running", "starting"],
  superseded: ["running", "starting", "stopped"],
};

const STAMP: Record<DeploymentStatus, string> = {
  queued: "queued_at",
  pending: "queued_at",
  building: "building_at",
  starting: "starting_at",
  running: "running_at",
  failed: "failed_at",
  stopped: "stopped_at",
  superseded: "superseded_at",
};

export async function insertDeployment(
  sql: Q,
  projectId: string,
  userId: string | null,
  pin: { requested_sha?: string | null; redeploy_of?: string | null; requested_branch?: string | null } | null = null,
): Promise<DeploymentRow> {
  const [row] = await sql<DeploymentRow[]>`
    INSERT INTO deployments (project_id, created_by, requested_sha, redeploy_of, requested_branch)
    VALUES (${projectId}, ${userId}, ${pin?.requested_sha ?? null}, ${pin?.redeploy_of ?? null}, ${pin?.requested_branch ?? null}) RETURNING *`;
  return row!;
}

export async function findDeployment(sql: Q, id: string): Promise<DeploymentRow | undefined> {
  const [row] = await sql<DeploymentRow[]>`SELECT * FROM deployments WHERE id = ${id}`;
  return row;
}

/** A deployment the viewer may see (through its project's owner). */
export async function findVisibleDeployment(sql: Q, v: Viewer, id: string): Promise<DeploymentRow | undefined> {
  const [row] = await sql<DeploymentRow[]>`
    SELECT d.* FROM deployments d JOIN projects p ON p.id = d.project_id
    WHERE d.id = ${id} AND ${v.role === "admin" ? sql`true` : sql`p.owner_id = ${v.id}`}`;
  return row;
}

export async function listDeployments(sql: Q, projectId: string, limit = 100): Promise<DeploymentRow[]> {
  return sql<DeploymentRow[]>`
    SELECT * FROM deployments WHERE project_id = ${projectId} ORDER BY queued_at DESC LIMIT ${limit}`;
}

/**
 * Moves a deployment to `to` only if it is still in one of the states `to`
 * may be entered from, stamping that state's time. Returns the row, or
 * undefined when someone else moved it first.
 */
export async function transition(
  sql: Q,
  id: string,
  to: DeploymentStatus,
  extra: Partial<Pick<DeploymentRow, "commit_sha" | "host_port" | "container_id" | "error" | "builder">> = {},
  from: DeploymentStatus[] = TRANSITIONS[to],
): Promise<DeploymentRow | undefined> {
  // Fields not given keep their value (COALESCE), so one statement serves every transition.
  const [row] = await sql<DeploymentRow[]>`
    UPDATE deployments SET status = ${to}, ${sql(STAMP[to])} = now(),
      commit_sha = COALESCE(${extra.commit_sha ?? null}, commit_sha),
      host_port = COALESCE(${extra.host_port ?? null}::integer, host_port),
      container_id = COALESCE(${extra.container_id ?? null}, container_id),
      error = COALESCE(${extra.error ?? null}, error),
      builder = COALESCE(${extra.builder ?? null}, builder)
    WHERE id = ${id} AND status IN ${sql(from)}
    RETURNING *`;
  return row;
}

/** Offline transitions within FLAP_WINDOW_S that make a worker "flapping". */
export const FLAP_LIMIT = 3;
export const FLAP_WINDOW_S = 600;
/** How long a flapping worker must stay online before it gets new placements. */
export const STABLE_AFTER_S = 300;

/**
 * Reserves `mb` on the worker with the most free memory among the online ones
 * and assigns the queued deployment to it, in one transaction. The worker
 * UPDATE re-checks `allocated_mb + mb <= capacity_mb`, so concurrent
 * placements can't over-commit.
 */
export async function placeOnWorker(sql: Sql, deploymentId: string, mb: number): Promise<string | null> {
  return sql.begin(async (tx) => {
    const [d] = await tx`SELECT id FROM deployments WHERE id = ${deploymentId} AND status IN ('queued', 'pending') AND worker_id IS NULL FOR UPDATE SKIP LOCKED`;
    if (!d) return null;
    const [w] = await tx<{ id: string }[]>`
      UPDATE workers SET allocated_mb = allocated_mb + ${mb}
      WHERE id = (
        SELECT id FROM workers
        WHERE status = 'online' AND NOT draining AND allocated_mb + ${mb} <= capacity_mb
          -- a worker that flapped recently gets new work only once it has been up a while
          AND (flap_count < ${FLAP_LIMIT} OR online_since < now() - make_interval(secs => ${STABLE_AFTER_S}))
        ORDER BY capacity_mb - allocated_mb DESC, id
        LIMIT 1 FOR UPDATE SKIP LOCKED
      ) AND allocated_mb + ${mb} <= capacity_mb
      RETURNING id`;
    if (!w) return null;
    // A new placement epoch fences off whatever an earlier placement of this deployment may still do.
    await tx`UPDATE deployments SET worker_id = ${w.id}, reserved_mb = ${mb}, pending_reason = NULL, status = 'queued',
      placement_epoch = placement_epoch + 1 WHERE id = ${deploymentId}`;
    return w.id;
  });
}

/** Reserves `mb` again on the worker already holding a stopped deployment's container. */
export async function reserveOnOwnWorker(sql: Q, deploymentId: string, workerId: string, mb: number): Promise<boolean> {
  const rows = await sql`
    WITH w AS (
      UPDATE workers SET allocated_mb = allocated_mb + ${mb}
      WHERE id = ${workerId} AND status = 'online' AND allocated_mb + ${mb} <= capacity_mb
      RETURNING id
    )
    UPDATE deployments SET reserved_mb = ${mb} FROM w
    WHERE deployments.id = ${deploymentId} AND deployments.reserved_mb = 0 RETURNING deployments.id`;
  return rows.length === 1;
}

/**
 * Gives a deployment's memory back to its worker, once: the row's
 * reserved_mb goes to 0 in the same statement that lowers the worker's
 * allocation, so two releases of one deployment release once.
 */
export async function releaseReservation(sql: Q, deploymentId: string): Promise<void> {
  await sql`
    WITH d AS (
      SELECT id, worker_id, reserved_mb FROM deployments
      WHERE id = ${deploymentId} AND reserved_mb > 0 AND worker_id IS NOT NULL FOR UPDATE
    ), cleared AS (
      UPDATE deployments SET reserved_mb = 0 FROM d WHERE deployments.id = d.id RETURNING d.worker_id, d.reserved_mb
    )
    UPDATE workers SET allocated_mb = allocated_mb - cleared.reserved_mb FROM cleared WHERE workers.id = cleared.worker_id`;
}

/** Releases every reservation of a project; returns its deployments that were placed on a worker. */
export async function releaseAllForProject(sql: Q, projectId: string): Promise<{ id: string; worker_id: string | null }[]> {
  const placed = await sql<{ id: string; worker_id: string | null }[]>`
    SELECT id, worker_id FROM deployments WHERE project_id = ${projectId} AND worker_id IS NOT NULL FOR UPDATE`;
  for (const d of placed) await releaseReservation(sql, d.id);
  return placed;
}

/** Queued deployments not yet on a worker, oldest first, with what placing them needs. */
export async function queuedForPlacement(sql: Q, limit = 100) {
  return sql<{ id: string; project_id: string; memory_mb: number }[]>`
    SELECT d.id, d.project_id, p.memory_mb FROM deployments d JOIN projects p ON p.id = d.project_id
    WHERE d.status IN ('queued', 'pending') AND d.worker_id IS NULL ORDER BY d.queued_at LIMIT ${limit}`;
}

/** No room: the deployment waits in `pending` with the reason. True when it just became pending. */
export async function markPending(sql: Q, id: string, reason: string): Promise<boolean> {
  const [r] = await sql<{ was: string }[]>`
    UPDATE deployments d SET pending_reason = ${reason}, status = 'pending'
    FROM (SELECT status AS was FROM deployments WHERE id = ${id}) old
    WHERE d.id = ${id} AND d.status IN ('queued', 'pending') AND d.worker_id IS NULL
    RETURNING old.was`;
  return r?.was === "queued";
}

/** Takes a placed-but-unsent deployment back off its worker (the worker vanished in between). */
export async function unplace(sql: Sql, id: string): Promise<void> {
  await sql.begin(async (tx) => {
    await releaseReservation(tx, id);
    await tx`UPDATE deployments SET worker_id = NULL WHERE id = ${id} AND status = 'queued'`;
  });
}

export async function insertLogLines(sql: Q, deploymentId: string, stream: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const rows = lines.map((line) => ({ deployment_id: deploymentId, stream, line }));
  await sql`INSERT INTO deployment_logs ${sql(rows, "deployment_id", "stream", "line")}`;
}

export async function logLinesAfter(sql: Q, deploymentId: string, afterId: number, limit = 5000) {
  return sql<{ id: string; stream: string; line: string }[]>`
    SELECT id, stream, line FROM deployment_logs
    WHERE deployment_id = ${deploymentId} AND id > ${afterId} ORDER BY id LIMIT ${limit}`;
}

/** Deployments as the API sees them: start one, list, read, logs, and stop/start/restart a project. */
import type { AppContext } from "../context";
import { Conflict, NotFound } from "../http/errors";
import type { Deployment, DeployTarget } from "../protocol/api";
import type { Viewer } from "../projects/queries";
import { getProject } from "../projects/service";
import { enforceQuota } from "../usage/quotas";
import { audit, type Actor, type Caller } from "../audit/service";
import {
  findVisibleDeployment,
  insertDeployment,
  listDeployments,
  releaseReservation,
  reserveOnOwnWorker,
  transition,
  type DeploymentRow,
} from "./queries";

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toDeployment(r: DeploymentRow): Deployment {
  return {
    id: r.id,
    project_id: r.project_id,
    status: r.status,
    worker_id: r.worker_id,
    commit_sha: r.commit_sha,
    host_port: r.host_port,
    error: r.error,
    pending_reason: r.pending_reason,
    created_by: r.created_by,
    redeploy_of: r.redeploy_of,
    builder: r.builder ?? null,
    queued_at: r.queued_at.toISOString(),
    building_at: iso(r.building_at),
    starting_at: iso(r.starting_at),
    running_at: iso(r.running_at),
    failed_at: iso(r.failed_at),
    stopped_at: iso(r.stopped_at),
    superseded_at: iso(r.superseded_at),
  };
}

/** States after which a deployment changes only when someone acts on it. */
export const SETTLED = new Set(["running", "failed", "stopped", "superseded"]);

/** Deploys the project's branch, or (`target`) another branch or exactly one commit. */
export async function create(ctx: AppContext, v: Caller, projectId: string, target: DeployTarget = {}) {
  await getProject(ctx, v, projectId);
  return createForTarget(ctx, projectId, v.id, target, v);
}

/**
 * Queues a deployment of the project's branch, of `target.branch`'s head, or
 * of exactly `target.commit_sha` (push-to-deploy); audited as `actor`.
 */
export async function createForTarget(ctx: AppContext, projectId: string, userId: string | null, target: DeployTarget, actor: Actor, detail: Record<string, unknown> = {}) {
  await enforceQuota(ctx, { op: "deployment.create", project_id: projectId }); // quota (usage feature)
  const d = await insertDeployment(ctx.sql, projectId, userId, { requested_sha: target.commit_sha, requested_branch: target.branch });
  await audit(ctx.sql, actor, "deployment.create", { target_type: "deployment", target_id: d.id, detail: { project_id: projectId, ...target, ...detail } });
  ctx.events.emit("deployment", { deployment_id: d.id, project_id: projectId, status: "queued" });
  ctx.events.emit("schedule", {});
  return { id: d.id, status: "queued" as const };
}

/**
 * Rollback: a new deployment that builds exactly the commit an earlier one
 * ran. It goes through the same build, health check and switch as any deploy.
 */
export async function redeploy(ctx: AppContext, v: Caller, deploymentId: string) {
  const old = await get(ctx, v, deploymentId);
  if (!old.commit_sha) throw new Conflict("that deployment never got as far as a commit; deploy the branch instead", "no_commit");
  await enforceQuota(ctx, { op: "deployment.create", project_id: old.project_id }); // quota (usage feature)
  const d = await insertDeployment(ctx.sql, old.project_id, v.id, { requested_sha: old.commit_sha, redeploy_of: old.id });
  await audit(ctx.sql, v, "deployment.create", {
    target_type: "deployment",
    target_id: d.id,
    detail: { project_id: old.project_id, redeploy_of: old.id, commit_sha: old.commit_sha },
  });
  ctx.events.emit("deployment", { deployment_id: d.id, project_id: old.project_id, status: "queued" });
  ctx.events.emit("schedule", {});
  return { id: d.id, status: "queued" as const };
}

export async function list(ctx: AppContext, v: Viewer, projectId: string) {
  await getProject(ctx, v, projectId);
  return (await listDeployments(ctx.sql, projectId)).map(toDeployment);
}

export async function get(ctx: AppContext, v: Viewer, id: string): Promise<DeploymentRow> {
  const d = await findVisibleDeployment(ctx.sql, v, id);
  if (!d) throw new NotFound("deployment");
  return d;
}

async function currentOf(ctx: AppContext, v: Viewer, projectId: string): Promise<DeploymentRow> {
  const p = await getProject(ctx, v, projectId);
  if (!p.current_deployment_id) throw new Conflict("the project has no running or stopped deployment yet; deploy it first", "not_deployed");
  return (await findVisibleDeployment(ctx.sql, v, p.current_deployment_id))!;
}

/** Stops routing at once, frees the memory, and asks the worker to stop the container. */
export async function stop(ctx: AppContext, v: Caller, projectId: string) {
  const cur = await currentOf(ctx, v, projectId);
  const stopped = await ctx.sql.begin(async (tx) => {
    const d = await transition(tx, cur.id, "stopped");
    if (d) await releaseReservation(tx, d.id);
    return d;
  });
  if (!stopped) throw new Conflict(`the current deployment is ${cur.status}, not running`, "invalid_state");
  await ctx.events.emitAndWait("routes", {}); // no request reaches it once we answer
  ctx.events.emit("deployment", { deployment_id: cur.id, project_id: projectId, status: "stopped" });
  await audit(ctx.sql, v, "project.stop", { target_type: "project", target_id: projectId, detail: { deployment_id: cur.id } });
  if (stopped.worker_id) ctx.hub.send(stopped.worker_id, "job.stop", { deployment_id: cur.id });
  ctx.events.emit("schedule", {});
  return toDeployment(stopped);
}

/** Starts the stopped container again on its worker, if that worker is online and has room. */
export async function start(ctx: AppContext, v: Caller, projectId: string) {
  const p = await getProject(ctx, v, projectId);
  const cur = await currentOf(ctx, v, projectId);
  if (cur.status !== "stopped" || !cur.worker_id) throw new Conflict(`the current deployment is ${cur.status}, not stopped`, "invalid_state");
  const workerId = cur.worker_id;
  if (!ctx.hub.isConnected(workerId)) throw new Conflict("the worker holding this deployment is offline; deploy again to place it elsewhere", "worker_offline");
  const started = await ctx.sql.begin(async (tx) => {
    if (!(await reserveOnOwnWorker(tx, cur.id, workerId, p.memory_mb))) return "full" as const;
    const d = await transition(tx, cur.id, "starting");
    if (!d) throw new Conflict("the deployment changed state meanwhile; try again", "invalid_state");
    return d;
  });
  if (started === "full") throw new Conflict(`the worker has no ${p.memory_mb} MB free to start this deployment`, "worker_full");
  ctx.events.emit("deployment", { deployment_id: cur.id, project_id: projectId, status: "starting" });
  await audit(ctx.sql, v, "project.start", { target_type: "project", target_id: projectId, detail: { deployment_id: cur.id } });
  ctx.hub.send(workerId, "job.start", { deployment_id: cur.id, port: p.port, health_path: p.health_path });
  return toDeployment(started);
}

export async function restart(ctx: AppContext, v: Caller, projectId: string) {
  const p = await getProject(ctx, v, projectId);
  const cur = await currentOf(ctx, v, projectId);
  if (cur.status !== "running" || !cur.worker_id) throw new Conflict(`the current deployment is ${cur.status}, not running`, "invalid_state");
  if (!ctx.hub.send(cur.worker_id, "job.restart", { deployment_id: cur.id, port: p.port, health_path: p.health_path }))
    throw new Conflict("the worker holding this deployment is offline", "worker_offline");
  await audit(ctx.sql, v, "project.restart", { target_type: "project", target_id: projectId, detail: { deployment_id: cur.id } });
  return toDeployment(cur);
}

/**
 * What the control plane does when an agent reports on a deployment. Every
 * change is a compare-and-swap, so a late, repeated or stale report changes
 * nothing; and a report is only taken from the worker the deployment is on.
 */
import type { AppContext } from "../context";
import type { MessageBody } from "../protocol/hub";
import { findDeployment, insertLogLines, releaseReservation, transition, type DeploymentRow } from "./queries";
import { abandonMove } from "../fleet/queries";

/** How long a replaced container keeps serving requests already sent to it. */
export const DRAIN_MS = 2000;

export async function onJobStatus(ctx: AppContext, workerId: string, msg: MessageBody<"job.status">): Promise<void> {
  const d = await findDeployment(ctx.sql, msg.deployment_id);
  if (!d || d.worker_id !== workerId) return; // not ours to report on
  if (msg.epoch !== undefined && msg.epoch < d.placement_epoch) return; // a report from an earlier placement
  const emit = (row: DeploymentRow | undefined) => {
    if (row) ctx.events.emit("deployment", { deployment_id: row.id, project_id: row.project_id, status: row.status });
    return row;
  };
  switch (msg.status) {
    case "building":
      emit(await transition(ctx.sql, d.id, "building", { commit_sha: msg.commit_sha || undefined, builder: msg.builder || undefined }));
      return;
    case "starting":
      emit(await transition(ctx.sql, d.id, "starting", {}, ["building"]));
      return;
    case "running":
      await onRunning(ctx, d, msg.host_port ?? null, msg.container_id ?? null);
      return;
    case "failed": {
      const failed = await ctx.sql.begin(async (tx) => {
        const row = await transition(tx, d.id, "failed", { error: (msg.error ?? "failed").slice(0, 4000) });
        if (row) {
          await releaseReservation(tx, row.id);
          await abandonMove(tx, row.id); // a failed move lets its source move again later
        }
        return row;
      });
      if (failed) {
        await insertLogLines(ctx.sql, d.id, "system", [`deployment failed: ${failed.error}`]);
        ctx.events.emit("log", { deployment_id: d.id, stream: "system", lines: [`deployment failed: ${failed.error}`] });
        emit(failed);
        ctx.events.emit("routes", {});
        ctx.events.emit("schedule", {});
        ctx.hub.send(workerId, "job.remove", { deployment_id: d.id });
      }
      return;
    }
    case "stopped":
      // Only ever the answer to a job.stop: the API moved the deployment to
      // stopped when it sent it. If a Start came in meanwhile the deployment is
      // `starting` again, and this late answer must not undo that.
      return;
    case "removed":
      await releaseReservation(ctx.sql, d.id);
      ctx.events.emit("schedule", {});
      return;
  }
}

/**
 * The health check passed: the new deployment becomes the project's current
 * one and takes traffic; the one it replaces is superseded, and its container
 * removed after a short drain so requests in flight to it complete.
 */
async function onRunning(ctx: AppContext, d: DeploymentRow, hostPort: number | null, containerId: string | null) {
  if (d.status === "running") {
    // A restart: same deployment, possibly a new port.
    await ctx.sql`UPDATE deployments SET host_port = ${hostPort}, container_id = ${containerId} WHERE id = ${d.id} AND status = 'running'`;
    ctx.events.emit("routes", {});
    return;
  }
  const result = await ctx.sql.begin(async (tx) => {
    const row = await transition(tx, d.id, "running", { host_port: hostPort, container_id: containerId });
    if (!row) return null;
    const [p] = await tx<{ current_deployment_id: string | null }[]>`
      SELECT current_deployment_id FROM projects WHERE id = ${d.project_id} FOR UPDATE`;
    const curId = p?.current_deployment_id ?? null;
    let replaced: DeploymentRow | undefined;
    if (curId && curId !== d.id) {
      const cur = await findDeployment(tx, curId);
      if (cur && cur.queued_at > d.queued_at && cur.status === "running") {
        // A newer deployment already serves: this late one steps aside.
        const self = await transition(tx, d.id, "superseded");
        await releaseReservation(tx, d.id);
        return { row: self!, replaced: self, switched: false };
      }
      replaced = await transition(tx, curId, "superseded");
      if (replaced) await releaseReservation(tx, curId);
    }
    await tx`UPDATE projects SET current_deployment_id = ${d.id} WHERE id = ${d.project_id}`;
    return { row, replaced, switched: true };
  });
  if (!result) return;
  await ctx.events.emitAndWait("routes", {}); // the drain below starts once traffic has moved
  ctx.events.emit("deployment", { deployment_id: d.id, project_id: d.project_id, status: result.row.status });
  const old = result.replaced;
  if (old) {
    ctx.events.emit("deployment", { deployment_id: old.id, project_id: old.project_id, status: "superseded" });
    if (old.worker_id) {
      const workerId = old.worker_id;
      setTimeout(() => ctx.hub.send(workerId, "job.remove", { deployment_id: old.id }), result.switched ? DRAIN_MS : 0);
    }
  }
  ctx.events.emit("schedule", {});
}

/** Stores log lines from the worker a deployment is on, one INSERT per batch. */
export async function onLog(ctx: AppContext, workerId: string, msg: MessageBody<"log">): Promise<void> {
  const d = await findDeployment(ctx.sql, msg.deployment_id);
  if (!d || d.worker_id !== workerId) return;
  const lines = msg.lines.map((l) => l.slice(0, 8192));
  await insertLogLines(ctx.sql, d.id, msg.stream, lines);
  ctx.events.emit("log", { deployment_id: d.id, stream: msg.stream, lines });
}

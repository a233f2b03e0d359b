/**
 * Fleet upkeep, run every couple of seconds: workers silent too long go
 * offline (audited) and their apps move to other workers; draining workers
 * hand over their apps one at a time; emptied workers marked for deletion go.
 * A move is an ordinary deployment of the same commit elsewhere, so the old
 * copy keeps serving until the new one is healthy and routed.
 */
import type { AppContext } from "../context";
import { audit, SYSTEM_ACTOR } from "../audit/service";
import { insertLogLines } from "../deployments/queries";
import { expireSilentWorkers } from "../workers/queries";
import { deleteEmptiedWorkers, insertMove, movesInFlight, nextDrainMoves, strandedDeployments, type MoveCandidate } from "./queries";
import { coalesced } from "../util/coalesce";

async function move(ctx: AppContext, d: MoveCandidate, reason: "failover" | "drain") {
  const id = await insertMove(ctx.sql, d, reason);
  if (!id) return;
  await insertLogLines(ctx.sql, id, "system", [`${reason}: replaces deployment ${d.id} from worker ${d.worker_id}`]);
  await audit(ctx.sql, SYSTEM_ACTOR, "deployment.move", { target_type: "deployment", target_id: id, detail: { from: d.id, reason, worker_id: d.worker_id } });
  ctx.events.emit("deployment", { deployment_id: id, project_id: d.project_id, status: "queued" });
}

/** One pass of upkeep. Exported for tests. */
export async function fleetPass(ctx: AppContext): Promise<void> {
  const timeout = ctx.config.WH_WORKER_TIMEOUT_S;
  for (const id of await expireSilentWorkers(ctx.sql, timeout)) {
    ctx.hub.disconnect(id, "no heartbeat");
    await audit(ctx.sql, SYSTEM_ACTOR, "worker.offline", { target_type: "worker", target_id: id, detail: { reason: "no heartbeat", silent_s: timeout } });
    ctx.events.emit("worker", { worker_id: id, status: "offline" });
  }
  const room = ctx.config.WH_MAX_CONCURRENT_MOVES - (await movesInFlight(ctx.sql));
  for (const d of await strandedDeployments(ctx.sql, timeout, room)) await move(ctx, d, "failover");
  for (const d of await nextDrainMoves(ctx.sql)) await move(ctx, d, "drain");
  for (const id of await deleteEmptiedWorkers(ctx.sql)) {
    ctx.hub.disconnect(id, "worker deleted");
    await audit(ctx.sql, SYSTEM_ACTOR, "worker.delete", { target_type: "worker", target_id: id, detail: { after: "drain" } });
  }
  ctx.events.emit("schedule", {});
}

export function startFleetJobs(ctx: AppContext, everyMs = 2000) {
  const run = coalesced(() => fleetPass(ctx), "fleet");
  const timer = setInterval(() => void run(), everyMs);
  return {
    run,
    stop() {
      clearInterval(timer);
    },
  };
}

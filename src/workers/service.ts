/** Workers: register/login/refresh, listing, deletion, and what happens when one says hello. */
import { timingSafeEqual } from "node:crypto";
import type { AppContext } from "../context";
import { Conflict, NotFound, Unauthorized } from "../http/errors";
import { sha256Hex, type MessageBody } from "../protocol/hub";
import type { Worker } from "../protocol/api";
import { insertDeployment, transition, releaseReservation, insertLogLines } from "../deployments/queries";
import { dispatchDeploy } from "../scheduler/service";
import { abandonMove } from "../fleet/queries";
import { audit, type Actor } from "../audit/service";
import { signWorkerToken, verifyWorkerToken } from "./jwt";
import { deleteWorkerIfEmpty, deploymentsOnWorker, findWorker, insertWorker, listWorkers, markOnline, type WorkerRow } from "./queries";

/** Constant-time equality of two strings of any length (compares their hashes). */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(sha256Hex(a), "hex"), Buffer.from(sha256Hex(b), "hex"));
}

export function toWorker(w: WorkerRow): Worker {
  return {
    id: w.id,
    name: w.name,
    status: w.status,
    last_heartbeat: w.last_heartbeat ? w.last_heartbeat.toISOString() : null,
    capacity_mb: w.capacity_mb,
    allocated_mb: w.allocated_mb,
    address: w.address,
    containers_running: w.containers_running,
    draining: w.draining,
  };
}

export async function register(ctx: AppContext, meta: Omit<Actor, "id" | "email">, input: { secret: string; api_key: string; name: string; capacity: number }) {
  const actor = { id: null, email: `worker:${input.name}`, ...meta };
  if (!sameSecret(input.secret, ctx.config.workerSecret)) {
    await audit(ctx.sql, actor, "worker.register", { outcome: "failure", detail: { name: input.name, reason: "wrong cluster secret" } });
    throw new Unauthorized("wrong cluster secret");
  }
  const row = await insertWorker(ctx.sql, input.name, sha256Hex(input.api_key), input.capacity);
  if (!row) throw new Conflict(`a worker named ${input.name} is already registered; delete it first or pick another WH_WORKER_NAME`, "name_taken");
  await audit(ctx.sql, actor, "worker.register", { target_type: "worker", target_id: row.id, detail: { name: input.name, capacity_mb: input.capacity } });
  return { worker_id: row.id, ...(await signWorkerToken(ctx.config.masterKey, row.id)) };
}

export async function login(ctx: AppContext, input: { worker_id: string; api_key: string }) {
  const w = await findWorker(ctx.sql, input.worker_id);
  const given = Buffer.from(sha256Hex(input.api_key), "hex");
  // Compare against a dummy for an unknown worker: same answer, same work.
  const stored = Buffer.from(w?.api_key_hash ?? "0".repeat(64), "hex");
  if (!timingSafeEqual(given, stored) || !w) throw new Unauthorized("unknown worker or wrong api key");
  return { worker_id: w.id, ...(await signWorkerToken(ctx.config.masterKey, w.id)) };
}

/** Verifies a worker JWT and that its worker still exists. */
export async function authenticateWorker(ctx: AppContext, authorization: string | undefined) {
  const m = /^Bearer (\S+)$/.exec(authorization ?? "");
  const v = m ? await verifyWorkerToken(ctx.config.masterKey, m[1]!) : null;
  if (!v) throw new Unauthorized("invalid or expired worker token");
  const w = await findWorker(ctx.sql, v.workerId);
  if (!w) throw new Unauthorized("this worker was deleted");
  return { worker: w, expiresAt: v.expiresAt };
}

export async function refresh(ctx: AppContext, authorization: string | undefined) {
  const { worker } = await authenticateWorker(ctx, authorization);
  return { worker_id: worker.id, ...(await signWorkerToken(ctx.config.masterKey, worker.id)) };
}

export async function list(ctx: AppContext): Promise<Worker[]> {
  return (await listWorkers(ctx.sql)).map(toWorker);
}

/** No new placements; the fleet job moves its apps away one at a time, each healthy elsewhere before the old one stops. */
export async function setDraining(ctx: AppContext, actor: Actor, id: string, draining: boolean) {
  const rows = await ctx.sql`UPDATE workers SET draining = ${draining}, delete_when_empty = delete_when_empty AND ${draining}
    WHERE id = ${id} RETURNING id`;
  if (rows.length === 0) throw new NotFound("worker");
  await audit(ctx.sql, actor, draining ? "worker.drain" : "worker.undrain", { target_type: "worker", target_id: id });
  ctx.events.emit("schedule", {});
  return toWorker((await findWorker(ctx.sql, id))!);
}

/**
 * Deletes an empty worker. With force, a busy one is drained first and
 * deleted by the fleet job once empty (202).
 */
export async function remove(ctx: AppContext, actor: Actor, id: string, force = false): Promise<"deleted" | "draining"> {
  const r = await deleteWorkerIfEmpty(ctx.sql, id);
  if (r === "missing") throw new NotFound("worker");
  if (r === "busy") {
    if (!force) throw new Conflict("the worker still holds deployments; drain it first or use ?force=true", "worker_busy");
    await ctx.sql`UPDATE workers SET draining = true, delete_when_empty = true WHERE id = ${id}`;
    await audit(ctx.sql, actor, "worker.drain", { target_type: "worker", target_id: id, detail: { then: "delete" } });
    return "draining";
  }
  await audit(ctx.sql, actor, "worker.delete", { target_type: "worker", target_id: id });
  ctx.hub.disconnect(id, "worker deleted");
  return "deleted";
}

/**
 * A worker (re)connected and reported its wh.* containers: bring them in line
 * with what the control plane wants. Containers it no longer wants are removed;
 * a stopped deployment's container is kept stopped; a wanted one that is gone
 * is redeployed; a deploy the agent lost mid-way is failed and queued again.
 */
export async function onHello(ctx: AppContext, workerId: string, hello: MessageBody<"hello">): Promise<void> {
  await markOnline(ctx.sql, workerId, hello.capacity_mb, hello.address);
  ctx.events.emit("worker", { worker_id: workerId, status: "online" });
  const wanted = new Map((await deploymentsOnWorker(ctx.sql, workerId)).map((d) => [d.id, d]));
  const reported = new Set<string>();
  const active = new Set(hello.active_deployments);
  // Containers that now run elsewhere (or nowhere) go first, so an app that
  // moved while this worker was away never runs twice longer than the reconnect.
  for (const c of hello.containers) {
    reported.add(c.deployment_id);
    if (!wanted.has(c.deployment_id)) ctx.hub.send(workerId, "job.remove", { deployment_id: c.deployment_id });
  }
  for (const c of hello.containers) {
    const d = wanted.get(c.deployment_id);
    if (!d) continue;
    if (d.status === "stopped" && c.state === "running") ctx.hub.send(workerId, "job.stop", { deployment_id: d.id });
    else if (d.status === "running" && c.state !== "running") {
      const [p] = await ctx.sql<{ port: number; health_path: string }[]>`SELECT port, health_path FROM projects WHERE id = ${d.project_id}`;
      ctx.hub.send(workerId, "job.start", { deployment_id: d.id, port: p?.port, health_path: p?.health_path });
    }
  }
  for (const d of wanted.values()) {
    if (reported.has(d.id) || active.has(d.id)) continue;
    if (d.status === "queued") {
      await dispatchDeploy(ctx, d.id, workerId); // placed, but the job never reached the agent
      continue;
    }
    const reason = d.status === "stopped" ? "the container is gone from its worker" : "the worker lost this deployment's container";
    const failed = await ctx.sql.begin(async (tx) => {
      const row = await transition(tx, d.id, "failed", { error: reason }, ["building", "starting", "running", "stopped"]);
      if (row) {
        await releaseReservation(tx, d.id);
        await abandonMove(tx, d.id);
      }
      return row;
    });
    if (!failed) continue;
    await insertLogLines(ctx.sql, d.id, "system", [`deployment failed: ${reason}`]);
    ctx.events.emit("deployment", { deployment_id: d.id, project_id: d.project_id, status: "failed" });
    if (d.status !== "stopped" && !d.moving_to) {
      const again = await insertDeployment(ctx.sql, d.project_id, null);
      await insertLogLines(ctx.sql, again.id, "system", [`redeploy of ${d.id}: ${reason}`]);
      ctx.events.emit("deployment", { deployment_id: again.id, project_id: d.project_id, status: "queued" });
    }
  }
  ctx.events.emit("routes", {});
  ctx.events.emit("schedule", {});
}

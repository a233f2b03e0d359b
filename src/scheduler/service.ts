/**
 * Placement: queued deployments go, oldest first, to an online worker with
 * enough free memory (reserved atomically in SQL), and their deploy job is sent.
 * One pass at a time; a pass asked for while one runs runs right after it.
 */
import type { AppContext } from "../context";
import { coalesced } from "../util/coalesce";
import type { ProjectRow } from "../projects/queries";
import { buildEnv, decryptedEnv } from "../envvars/service";
import { cloneCredential } from "../gitproviders/service";
import { insertLogLines, queuedForPlacement, placeOnWorker, markPending, unplace } from "../deployments/queries";

type ProjectForJob = Pick<
  ProjectRow,
  "id" | "name" | "repo_url" | "branch" | "dockerfile" | "port" | "memory_mb" | "cpus" | "health_path" | "build_timeout_s"
>;

/** Sends the deploy job of a deployment already placed on `workerId`; false if the worker is gone. */
export async function dispatchDeploy(ctx: AppContext, deploymentId: string, workerId: string): Promise<boolean> {
  const [p] = await ctx.sql<(ProjectForJob & { requested_sha: string | null; placement_epoch: number })[]>`
    SELECT p.id, p.name, p.repo_url, COALESCE(d.requested_branch, p.branch) AS branch, p.dockerfile, p.port, p.memory_mb, p.cpus, p.health_path, p.build_timeout_s, d.requested_sha, d.placement_epoch
    FROM deployments d JOIN projects p ON p.id = d.project_id WHERE d.id = ${deploymentId}`;
  if (!p) return false;
  const env = await decryptedEnv(ctx, p.id);
  const build_env = await buildEnv(ctx, p.id, env);
  const clone_token = await cloneCredential(ctx, p.id); // private repositories of a linked git account
  return ctx.hub.send(workerId, "job.deploy", {
    deployment_id: deploymentId,
    epoch: p.placement_epoch,
    project_id: p.id,
    project_name: p.name,
    repo_url: p.repo_url,
    branch: p.branch,
    commit_sha: p.requested_sha,
    dockerfile: p.dockerfile,
    port: p.port,
    memory_mb: p.memory_mb,
    cpus: p.cpus,
    health_path: p.health_path,
    env,
    build_env,
    build_timeout_s: p.build_timeout_s,
    allow_local_repos: ctx.config.WH_ALLOW_LOCAL_REPOS,
    ...(clone_token ? { clone_token } : {}),
  });
}

async function schedulePass(ctx: AppContext): Promise<void> {
  for (const d of await queuedForPlacement(ctx.sql)) {
    const workerId = await placeOnWorker(ctx.sql, d.id, d.memory_mb);
    if (!workerId) {
      const reason = `waiting for an online worker with ${d.memory_mb} MB free`;
      if (await markPending(ctx.sql, d.id, reason)) ctx.events.emit("deployment", { deployment_id: d.id, project_id: d.project_id, status: "pending" });
      continue;
    }
    if (await dispatchDeploy(ctx, d.id, workerId)) {
      await insertLogLines(ctx.sql, d.id, "system", [`placed on worker ${workerId}`]);
    } else {
      await unplace(ctx.sql, d.id); // the worker dropped between placement and send
    }
  }
}

/** Runs placement passes on demand (events, and every 5 s), never two at once. */
export function createScheduler(ctx: AppContext) {
  const run = coalesced(() => schedulePass(ctx), "scheduler");
  const off = ctx.events.on("schedule", () => void run());
  const timer = setInterval(() => void run(), 5000);
  return {
    run,
    stop() {
      off();
      clearInterval(timer);
    },
  };
}

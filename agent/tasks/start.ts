/**
 * job.start (and the shared start/restart path): bring an existing
 * container up and confirm it answers.
 */
import type { ContainerJob } from "../../src/protocol/hub";
import { restartArgs, startArgs } from "../podman/containers";
import { containerName } from "../podman/names";
import {
  errorText,
  findContainer,
  healthUrl,
  hostPortOf,
  isValidHealthPath,
  podman,
  report,
  type JobStatus,
  type TaskContext,
} from "./context";
import { waitHealthy } from "./health";

/**
 * Reports `running` for a container that already runs, making sure its
 * runtime logs are followed (from now on, so nothing is sent twice).
 */
export async function confirmRunning(ctx: TaskContext, id: string, name: string, port?: number): Promise<JobStatus> {
  const c = await findContainer(name);
  if (!c) throw new Error(`container ${name} disappeared`);
  const hostPort = await hostPortOf(name, port);
  ctx.runtimeLogs.follow(id, name, new Date());
  return report(ctx, { deployment_id: id, status: "running", host_port: hostPort, container_id: c.container_id });
}

/**
 * Starts or restarts the container of `job.deployment_id`, then reads its
 * published port and, when `job.health_path` is given, waits until it answers
 * HTTP 200..499. Reports `starting` → `running` (host_port, container_id) or
 * `failed`. A container that fails its health check is left as it is for the
 * hub to decide. Fails cleanly when the container doesn't exist.
 */
export async function bringUp(
  ctx: TaskContext,
  job: ContainerJob,
  how: "start" | "restart",
  signal?: AbortSignal,
): Promise<JobStatus> {
  const id = job.deployment_id;
  const failed = (error: string) => report(ctx, { deployment_id: id, status: "failed", error });
  try {
    const name = containerName(id);
    if (job.health_path !== undefined && !isValidHealthPath(job.health_path)) return failed("invalid health path");
    const c = await findContainer(name);
    if (!c) return failed(`container ${name} does not exist on this worker`);
    report(ctx, { deployment_id: id, status: "starting" });

    // podman logs -f ends when the container stops; start a new follower
    // from just before the (re)start so no line is missed or repeated.
    await ctx.runtimeLogs.stop(id);
    const since = new Date();
    await podman(how === "start" ? startArgs(name) : restartArgs(name), signal);
    ctx.runtimeLogs.follow(id, name, since);

    const hostPort = await hostPortOf(name, job.port);
    if (job.health_path !== undefined) {
      const health = await waitHealthy(healthUrl(ctx.advertiseAddr, hostPort, job.health_path), {
        timeoutMs: ctx.healthTimeoutMs ?? 60_000,
        intervalMs: ctx.healthIntervalMs ?? 250,
        signal,
      });
      if (!health.ok) return failed(health.reason);
    }
    return report(ctx, { deployment_id: id, status: "running", host_port: hostPort, container_id: c.container_id });
  } catch (err) {
    return failed(errorText(err));
  }
}

/**
 * job.start: `podman start` + port + health check → `running`. Starting a
 * running container is a no-op for podman, so repeating is safe.
 */
export function start(job: ContainerJob, ctx: TaskContext, signal?: AbortSignal): Promise<JobStatus> {
  return bringUp(ctx, job, "start", signal);
}

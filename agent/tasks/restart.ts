/**
 * job.restart: stop and start the container again (podman restart).
 */
import type { ContainerJob } from "../../src/protocol/hub";
import type { JobStatus, TaskContext } from "./context";
import { bringUp } from "./start";

/**
 * `podman restart` + port + health check. Reports `starting` → `running`
 * (host_port, container_id) or `failed` (also when the container doesn't
 * exist). Restarting a stopped container starts it, so repeating is safe.
 */
export function restart(job: ContainerJob, ctx: TaskContext, signal?: AbortSignal): Promise<JobStatus> {
  return bringUp(ctx, job, "restart", signal);
}

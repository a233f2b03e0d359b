/**
 * job.stop: stop a deployment's container but keep it (and its image) so
 * job.start can bring it back.
 */
import type { ContainerJob } from "../../src/protocol/hub";
import { stopArgs } from "../podman/containers";
import { containerName } from "../podman/names";
import { errorText, podman, report, type JobStatus, type TaskContext } from "./context";

/** Seconds a container gets to exit on SIGTERM before SIGKILL. */
export const STOP_TIMEOUT_SEC = 10;

/**
 * Ends the runtime log follower, then `podman stop --ignore`. Reports
 * `stopped`, also when the container was already stopped or doesn't exist
 * (the wanted end state holds either way), so repeating is safe. Reports
 * `failed` only when podman itself fails.
 */
export async function stop(job: ContainerJob, ctx: TaskContext): Promise<JobStatus> {
  const id = job.deployment_id;
  try {
    const name = containerName(id);
    await ctx.runtimeLogs.stop(id);
    await podman(stopArgs(name, STOP_TIMEOUT_SEC));
    return report(ctx, { deployment_id: id, status: "stopped" });
  } catch (err) {
    return report(ctx, { deployment_id: id, status: "failed", error: errorText(err) });
  }
}

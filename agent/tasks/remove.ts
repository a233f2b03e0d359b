/**
 * job.remove: delete a deployment's container and image from this worker.
 */
import type { ContainerJob } from "../../src/protocol/hub";
import { rmArgs } from "../podman/containers";
import { imagesOfDeploymentArgs, parseImageNames, rmiArgs } from "../podman/images";
import { containerName } from "../podman/names";
import { errorText, podman, podmanTry, report, type JobStatus, type TaskContext } from "./context";
import { STOP_TIMEOUT_SEC } from "./stop";

/**
 * Ends the runtime log follower, `podman rm --force --ignore` the container,
 * then removes the image tagged with the deployment id. Reports `removed`,
 * also when nothing was left to remove, so repeating is safe. An image that
 * can't be removed (still used by some other container) doesn't fail the
 * job: the container is gone, which is what the hub accounts for; the error
 * goes to the agent's log via `ctx.warn`.
 */
export async function remove(job: ContainerJob, ctx: TaskContext): Promise<JobStatus> {
  const id = job.deployment_id;
  try {
    const name = containerName(id);
    await ctx.runtimeLogs.stop(id);
    await podman(rmArgs(name, STOP_TIMEOUT_SEC));
    const ids = parseImageNames(await podman(imagesOfDeploymentArgs(id)));
    if (ids.length > 0) {
      const r = await podmanTry(rmiArgs(...ids));
      if (r.code !== 0) ctx.warn?.(`could not remove the image of ${name}: ${r.stderr.trim()}`);
    }
    return report(ctx, { deployment_id: id, status: "removed" });
  } catch (err) {
    return report(ctx, { deployment_id: id, status: "failed", error: errorText(err) });
  }
}

/**
 * job.remove: delete a deployment's container and image from this worker.
 */
import type { ContainerJob } from "../../src/protocol/hub";
import { rmArgs } from "../podman/containers";
import { imageIdArgs, imagesOfDeploymentArgs, parseImageNames, rmiArgs, untagArgs } from "../podman/images";
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
    // Builds of the same commit share one image (a full cache hit), so an
    // image may carry several deployments' names and run their containers.
    // Take our name off first, then remove the image only if nothing else
    // names or uses it: whichever deployment goes last removes it.
    for (const ref of parseImageNames(await podman(imagesOfDeploymentArgs(id)))) {
      const imageId = (await podmanTry(imageIdArgs(ref))).stdout.trim();
      await podmanTry(untagArgs(ref));
      if (!/^[0-9a-f]{64}$/.test(imageId)) continue;
      const r = await podmanTry(rmiArgs(imageId));
      if (r.code !== 0 && !/in use|multiple|referenced/i.test(r.stderr)) ctx.warn?.(`could not remove the image of ${name}: ${r.stderr.trim()}`);
    }
    return report(ctx, { deployment_id: id, status: "removed" });
  } catch (err) {
    return report(ctx, { deployment_id: id, status: "failed", error: errorText(err) });
  }
}

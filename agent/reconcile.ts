/**
 * What this worker runs, as podman sees it: the `containers` of the hello
 * message, so the hub can reconcile after an agent or hub restart.
 */
import type { ContainerReport } from "../src/protocol/hub";
import { runChecked } from "./exec";
import { parsePs, psArgs } from "./podman/containers";

/** Every wh.* container (any state) labelled wh.worker=<workerName>. Throws when podman fails. */
export async function listContainers(workerName: string): Promise<ContainerReport[]> {
  const r = await runChecked(psArgs(workerName), { timeoutMs: 60_000 });
  return parsePs(r.stdout);
}

/** How many of the reported containers are running (the heartbeat's count). */
export function countRunning(containers: readonly ContainerReport[]): number {
  return containers.filter((c) => c.state === "running").length;
}

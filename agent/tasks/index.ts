/**
 * The jobs the hub can send, as one object the hub client dispatches to
 * (tests swap in fakes).
 */
import type { ContainerJob, ContainerReport, DeployJob } from "../../src/protocol/hub";
import { listContainers } from "../reconcile";
import type { JobStatus, TaskContext } from "./context";
import { deploy } from "./deploy";
import { remove } from "./remove";
import { restart } from "./restart";
import { start } from "./start";
import { stop } from "./stop";

export interface Tasks {
  deploy(job: DeployJob, ctx: TaskContext, signal?: AbortSignal): Promise<JobStatus>;
  stop(job: ContainerJob, ctx: TaskContext): Promise<JobStatus>;
  start(job: ContainerJob, ctx: TaskContext, signal?: AbortSignal): Promise<JobStatus>;
  restart(job: ContainerJob, ctx: TaskContext, signal?: AbortSignal): Promise<JobStatus>;
  remove(job: ContainerJob, ctx: TaskContext): Promise<JobStatus>;
  /** This worker's wh.* containers, for hello and the heartbeat count. */
  listContainers(workerName: string): Promise<ContainerReport[]>;
  /** After hello: follow the runtime logs of running containers from now on (nothing is sent twice). */
  resumeLogs(containers: readonly ContainerReport[], ctx: TaskContext): void;
}

/** The real tasks, backed by podman and git. */
export const podmanTasks: Tasks = {
  deploy,
  stop,
  start,
  restart,
  remove,
  listContainers,
  resumeLogs(containers, ctx) {
    for (const c of containers) if (c.state === "running") ctx.runtimeLogs.follow(c.deployment_id, c.name, new Date());
  },
};

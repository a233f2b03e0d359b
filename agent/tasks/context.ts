/**
 * What every task gets from the hub client, and the podman look-ups several
 * tasks share.
 */
import type { ContainerReport, MessageBody } from "../../src/protocol/hub";
import type { BuildSlots } from "../build-slots";
import type { BuildImages } from "../builders/images";
import { run, runChecked } from "../exec";
import { parsePort, parsePs, portArgs, psByNameArgs } from "../podman/containers";
import type { RuntimeLogs } from "./runtime-logs";

export type JobStatus = MessageBody<"job.status">;
export type LogStream = "build" | "runtime";

export interface TaskContext {
  workerName: string;
  advertiseAddr: string;
  /** Env files are written (0600) under <stateDir>/env while a container is created. */
  stateDir: string;
  /** Clones are made in fresh directories under it. */
  workDir: string;
  buildMemoryMb: number;
  buildCpus: number;
  /** Base images of generated builds (repositories without a Containerfile); the defaults when absent. */
  buildImages?: BuildImages;
  /** At most this many builds at once (WH_MAX_CONCURRENT_BUILDS); absent: no limit. */
  buildSlots?: BuildSlots;
  /** Sends a job.status to the hub (buffered while disconnected). */
  report(status: JobStatus): void;
  /** Sends one log line of a deployment. */
  log(deploymentId: string, stream: LogStream, line: string): void;
  /** Runtime log followers, one per deployment. */
  runtimeLogs: RuntimeLogs;
  /** How long a new container gets to answer HTTP (default 60 s). */
  healthTimeoutMs?: number;
  /** Time between health probes (default 250 ms). */
  healthIntervalMs?: number;
  /** Agent-side warnings that don't fail a job. */
  warn?(message: string): void;
}

/** Short timeout for quick podman queries and state changes. */
export const PODMAN_TIMEOUT_MS = 60_000;

/** Reports and returns the status, so tasks can `return report(ctx, …)`. */
export function report(ctx: TaskContext, status: JobStatus): JobStatus {
  ctx.report(status);
  return status;
}

/** The message of anything thrown. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The container with exactly this name, or null when there is none. */
export async function findContainer(name: string): Promise<ContainerReport | null> {
  const r = await runChecked(psByNameArgs(name), { timeoutMs: PODMAN_TIMEOUT_MS });
  // The name filter is a regex; keep only the exact match.
  return parsePs(r.stdout).find((c) => c.name === name) ?? null;
}

/** The host port podman published the container on (container port optional). */
/** A TCP port free on `addr` right now (bound to port 0 and released). */
export function freeHostPort(addr: string): number {
  const s = Bun.listen({ hostname: addr, port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

export async function hostPortOf(name: string, port?: number): Promise<number> {
  const r = await runChecked(portArgs(name, port), { timeoutMs: PODMAN_TIMEOUT_MS });
  const hostPort = parsePort(r.stdout);
  if (hostPort === null) throw new Error(`container ${name} has no published port${port ? ` for ${port}/tcp` : ""}`);
  return hostPort;
}

/** `http://<addr>:<port><path>` with IPv6 addresses bracketed. */
export function healthUrl(addr: string, port: number, path: string): string {
  const host = addr.includes(":") ? `[${addr}]` : addr;
  return `http://${host}:${port}${path}`;
}

/** True for a health path the hub accepts: '/' then visible ASCII. */
export function isValidHealthPath(p: string): boolean {
  return p.length <= 1024 && /^\/[\x21-\x7e]*$/.test(p);
}

/** Runs `podman start` style commands with the standard timeout. */
export async function podman(argv: string[], signal?: AbortSignal): Promise<string> {
  const r = await runChecked(argv, { timeoutMs: PODMAN_TIMEOUT_MS, signal });
  return r.stdout.trim();
}

/** Like {@link podman} but returns the result instead of throwing. */
export function podmanTry(argv: string[]) {
  return run(argv, { timeoutMs: PODMAN_TIMEOUT_MS });
}

/** Resolves after `ms`, or early (without throwing) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Pure builders for podman container commands, and parsers for their
 * output. Nothing here runs podman. Every builder puts `--` before the
 * container or image name so a name can never be read as an option.
 */
import { z } from "zod";
import { LABELS, type ContainerReport } from "../../src/protocol/hub";

export interface RunSpec {
  name: string;
  image: string;
  labels: { project: string; deployment: string; worker: string };
  memoryMb: number;
  cpus: number;
  /** 0600 file of KEY=value lines; values stay out of argv. */
  envFile: string;
  /** Host IP to publish on. */
  advertiseAddr: string;
  /** Host port to publish on; omitted, podman picks one (read back with `podman port`). */
  hostPort?: number;
  /** Port the app listens on inside the container; also passed as $PORT. */
  port: number;
}

/** Per-container process limit: generous for apps, stops fork bombs. */
export const PIDS_LIMIT = 256;

/** Capabilities an app keeps after `--cap-drop ALL`: enough to drop root and bind low ports. */
export const KEPT_CAPS = ["CHOWN", "SETUID", "SETGID", "NET_BIND_SERVICE"] as const;

/** `-p` value: IPv6 addresses need brackets. No host port = podman chooses. */
export function publishSpec(addr: string, port: number, hostPort?: number): string {
  const host = addr.includes(":") ? `[${addr}]` : addr;
  return `${host}:${hostPort ?? ""}:${port}`;
}

/**
 * `podman run -d` for one deployment: labelled for reconcile, memory (no
 * swap), CPU and pid limits, no new privileges, minimal capabilities, an init
 * process (apps running as PID 1 often ignore SIGTERM), bounded log file,
 * restarted by podman if it dies, port published on the advertise address only.
 */
export function runArgs(spec: RunSpec): string[] {
  return [
    "podman",
    "run",
    "-d",
    "--name",
    spec.name,
    "--label",
    `${LABELS.project}=${spec.labels.project}`,
    "--label",
    `${LABELS.deployment}=${spec.labels.deployment}`,
    "--label",
    `${LABELS.worker}=${spec.labels.worker}`,
    "--memory",
    `${spec.memoryMb}m`,
    "--memory-swap",
    `${spec.memoryMb}m`,
    "--cpus",
    String(spec.cpus),
    "--pids-limit",
    String(PIDS_LIMIT),
    "--security-opt",
    "no-new-privileges",
    "--cap-drop",
    "ALL",
    ...KEPT_CAPS.flatMap((c) => ["--cap-add", c]),
    "--init",
    "--restart",
    "unless-stopped",
    "--log-opt",
    "max-size=10mb",
    "--env-file",
    spec.envFile,
    "-e",
    `PORT=${spec.port}`,
    "-p",
    publishSpec(spec.advertiseAddr, spec.port, spec.hostPort),
    "--",
    spec.image,
  ];
}

/** `podman port`: the host address a container port is published on. */
export function portArgs(name: string, port?: number): string[] {
  return ["podman", "port", "--", name, ...(port !== undefined ? [`${port}/tcp`] : [])];
}

/** `podman stop --ignore`: a missing container is not an error. */
export function stopArgs(name: string, timeoutSec = 10): string[] {
  return ["podman", "stop", "--ignore", "--time", String(timeoutSec), "--", name];
}

export function startArgs(name: string): string[] {
  return ["podman", "start", "--", name];
}

export function restartArgs(name: string, timeoutSec = 10): string[] {
  return ["podman", "restart", "--time", String(timeoutSec), "--", name];
}

/** `podman rm --force --ignore`: stops if needed, fine when already gone, so safe to repeat. */
export function rmArgs(name: string, timeoutSec = 10): string[] {
  return ["podman", "rm", "--force", "--ignore", "--volumes", "--time", String(timeoutSec), "--", name];
}

/** Exit 0 when the container exists, 1 when it doesn't (125 on errors). */
export function existsArgs(name: string): string[] {
  return ["podman", "container", "exists", "--", name];
}

/** Every container (any state) labelled as this worker's, as JSON. */
export function psArgs(workerName: string): string[] {
  return ["podman", "ps", "--all", "--filter", `label=${LABELS.worker}=${workerName}`, "--format", "json"];
}

/** One container, by exact name, as JSON (same shape as {@link psArgs}). */
export function psByNameArgs(name: string): string[] {
  return ["podman", "ps", "--all", "--filter", `name=^${name}$`, "--format", "json"];
}

/** `podman logs` once, without following: what a container printed before it was removed. */
export function logsOnceArgs(name: string): string[] {
  return ["podman", "logs", "--", name];
}

/** `podman logs --follow`; `since` skips lines a previous follower already sent. */
export function logsArgs(name: string, since?: Date): string[] {
  return ["podman", "logs", "--follow", ...(since ? ["--since", since.toISOString()] : []), "--", name];
}

// ---- parsers -------------------------------------------------------------

const psEntry = z.object({
  Id: z.string(),
  Names: z.array(z.string()).nullish(),
  State: z.string().nullish(),
  Labels: z.record(z.string(), z.string()).nullish(),
  Ports: z.array(z.object({ host_port: z.number().int() }).passthrough()).nullish(),
});

/**
 * Parses `podman ps --format json` into reports. Entries without the wh.*
 * labels are skipped: they aren't ours to report.
 */
export function parsePs(stdout: string): ContainerReport[] {
  const trimmed = stdout.trim();
  if (trimmed === "") return [];
  const list = z.array(z.unknown()).parse(JSON.parse(trimmed));
  const out: ContainerReport[] = [];
  for (const item of list) {
    const e = psEntry.safeParse(item);
    if (!e.success) continue;
    const labels = e.data.Labels ?? {};
    const project = labels[LABELS.project];
    const deployment = labels[LABELS.deployment];
    if (!project || !deployment) continue;
    out.push({
      container_id: e.data.Id,
      name: e.data.Names?.[0] ?? "",
      project_id: project,
      deployment_id: deployment,
      state: e.data.State ?? "unknown",
      host_port: e.data.Ports?.[0]?.host_port ?? null,
    });
  }
  return out;
}

/**
 * Parses `podman port` output, either `127.0.0.1:35623` (port given) or
 * `8080/tcp -> 127.0.0.1:35623` (all ports); returns the first host port.
 */
export function parsePort(stdout: string): number | null {
  for (const raw of stdout.split("\n")) {
    const line = raw.trim();
    const m = /:(\d{1,5})$/.exec(line);
    if (!m) continue;
    const port = Number(m[1]);
    if (port >= 1 && port <= 65535) return port;
  }
  return null;
}

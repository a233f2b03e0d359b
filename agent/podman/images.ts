/**
 * Pure builders for podman image commands. Nothing here runs podman.
 */
import { LABELS } from "../../src/protocol/hub";

/** CFS period used to express a CPU limit as a quota (podman's default period). */
export const CPU_PERIOD_US = 100_000;

export interface BuildSpec {
  tag: string;
  contextDir: string;
  /** Absolute path of the Containerfile, inside contextDir. */
  containerfile: string;
  memoryMb: number;
  cpus: number;
  /** Stamped on the image, e.g. wh.deployment, so cleanup can find it by label. */
  labels: Record<string, string>;
}

/** Quota in microseconds per {@link CPU_PERIOD_US} for `cpus` CPUs (at least 1 ms, the kernel's floor). */
export function cpuQuota(cpus: number): number {
  return Math.max(1000, Math.round(cpus * CPU_PERIOD_US));
}

/**
 * `podman build` under memory and CPU limits (podman 4.3's build has no
 * --pids-limit; RUN steps get containers.conf's pids limit). `--pull=missing`
 * uses a local base image when there is one instead of failing offline.
 */
export function buildArgs(spec: BuildSpec): string[] {
  const labels = Object.entries(spec.labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]);
  return [
    "podman",
    "build",
    "--pull=missing",
    "--force-rm",
    "--memory",
    `${spec.memoryMb}m`,
    "--memory-swap",
    `${spec.memoryMb}m`,
    "--cpu-period",
    String(CPU_PERIOD_US),
    "--cpu-quota",
    String(cpuQuota(spec.cpus)),
    "-f",
    spec.containerfile,
    "-t",
    spec.tag,
    ...labels,
    "--",
    spec.contextDir,
  ];
}

/** Labels every image of a deployment carries. */
export function imageLabels(projectId: string, deploymentId: string): Record<string, string> {
  return { [LABELS.project]: projectId, [LABELS.deployment]: deploymentId };
}

/** Full ids of the images built for a deployment, one per line. */
export function imagesOfDeploymentArgs(deploymentId: string): string[] {
  return ["podman", "images", "--quiet", "--no-trunc", "--filter", `label=${LABELS.deployment}=${deploymentId}`];
}

/** Splits `podman images --quiet` output into unique ids. */
export function parseImageIds(stdout: string): string[] {
  const ids = stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^(sha256:)?[0-9a-f]{12,64}$/.test(l));
  return [...new Set(ids)];
}

/**
 * `podman rmi --ignore`: a missing image is fine, so repeating is safe. No
 * --force: that would also remove containers still using the image.
 */
export function rmiArgs(...images: string[]): string[] {
  return ["podman", "rmi", "--ignore", "--", ...images];
}

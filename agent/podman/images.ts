/**
 * Pure builders for podman image commands. Nothing here runs podman.
 */

/** CFS period used to express a CPU limit as a quota (podman's default period). */
export const CPU_PERIOD_US = 100_000;

export interface BuildSpec {
  tag: string;
  contextDir: string;
  /** Absolute path of the Containerfile, inside contextDir. */
  containerfile: string;
  memoryMb: number;
  cpus: number;
  /**
   * Build-time variables, by name only: `--build-arg KEY` without `=value`
   * makes podman take the value from its own environment, so values never
   * reach argv (visible to every user of the host through /proc).
   */
  buildArgNames?: readonly string[];
}

/** Quota in microseconds per {@link CPU_PERIOD_US} for `cpus` CPUs (at least 1 ms, the kernel's floor). */
export function cpuQuota(cpus: number): number {
  return Math.max(1000, Math.round(cpus * CPU_PERIOD_US));
}

/**
 * `podman build` under memory and CPU limits (podman 4.3's build has no
 * --pids-limit; RUN steps get containers.conf's pids limit). `--pull=missing`
 * uses a local base image when there is one instead of failing offline. No
 * --label: it costs an extra image commit (~35 ms a build); the tag
 * localhost/wh/<project>:<deployment id> is what cleanup finds images by.
 * Nothing here defeats the layer cache (--layers is podman's default; no
 * --no-cache, no --squash): a rebuild of the same project reuses the layers
 * whose inputs didn't change.
 */
export function buildArgs(spec: BuildSpec): string[] {
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
    ...(spec.buildArgNames ?? []).flatMap((k) => ["--build-arg", k]),
    "-f",
    spec.containerfile,
    "-t",
    spec.tag,
    "--",
    spec.contextDir,
  ];
}

/**
 * The image names (repository:tag) built for a deployment. Removing by name
 * only untags when another deployment's build produced the same image (a full
 * cache hit), so one deployment's cleanup never takes another's image.
 */
export function imagesOfDeploymentArgs(deploymentId: string): string[] {
  return ["podman", "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", `reference=localhost/wh/*:${deploymentId}`];
}

/** Splits `podman images --format {{.Repository}}:{{.Tag}}` output into unique names of ours. */
export function parseImageNames(stdout: string): string[] {
  const names = stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^localhost\/wh\/[a-z0-9-]+:[0-9a-f-]{36}$/.test(l));
  return [...new Set(names)];
}

/**
 * `podman rmi --ignore`: a missing image is fine, so repeating is safe. No
 * --force: that would also remove containers still using the image.
 */
export function rmiArgs(...images: string[]): string[] {
  return ["podman", "rmi", "--ignore", "--", ...images];
}

/** The full id of an image, by name. */
export function imageIdArgs(ref: string): string[] {
  return ["podman", "image", "inspect", "--format", "{{.Id}}", "--", ref];
}

/** Takes one name off an image; the image itself stays while other names or containers use it. */
export function untagArgs(ref: string): string[] {
  return ["podman", "untag", "--", ref, ref];
}

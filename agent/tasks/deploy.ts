/**
 * job.deploy: from a repository URL to a running, healthy container.
 */
import { mkdir, mkdtemp, open, readdir, realpath, rm, stat, unlink } from "node:fs/promises";
import { join, sep } from "node:path";
import { ENV_KEY, RESERVED_BUILD_ENV } from "../../src/protocol/api";
import type { DeployJob } from "../../src/protocol/hub";
import { DEFAULT_BUILD_IMAGES, generateBuild, hasContainerfileEntry, type BuildImages, type Builder } from "../builders";
import { describeCommand, lastLines, run, Sensitive } from "../exec";
import { checkoutCommitArgs, cloneArgs, fetchCommitArgs, gitEnv, isCommitSha, isValidBranch, revParseArgs, validateRepoUrl } from "../git";
import { logsOnceArgs, rmArgs, runArgs } from "../podman/containers";
import { buildArgs } from "../podman/images";
import { containerName, imageTag, isValidDeploymentId, isValidProjectName } from "../podman/names";
import { bringUp, confirmRunning } from "./start";
import {
  errorText,
  findContainer,
  freeHostPort,
  healthUrl,
  isValidHealthPath,
  podmanTry,
  report,
  type JobStatus,
  type TaskContext,
} from "./context";
import { waitHealthy } from "./health";

export const CLONE_TIMEOUT_MS = 5 * 60_000;
/** A build's time limit when the job doesn't give one (the project default, build_timeout_s 900). */
export const BUILD_TIMEOUT_MS = 15 * 60_000;
export const RUN_TIMEOUT_MS = 2 * 60_000;
/** Clone directories start with this, so leftovers can be told apart from anything else in the work dir. */
export const CLONE_PREFIX = "wh-clone-";

/**
 * Removes what a killed agent may have left: clone directories in the work
 * dir (only ours, by prefix) and env files in <state dir>/env.
 */
export async function cleanLeftovers(workDir: string, stateDir: string): Promise<void> {
  for (const e of await readdir(workDir).catch(() => [] as string[])) {
    if (e.startsWith(CLONE_PREFIX)) await rm(join(workDir, e), { recursive: true, force: true });
  }
  const envDir = join(stateDir, "env");
  for (const e of await readdir(envDir).catch(() => [] as string[])) {
    if (e.endsWith(".env")) await rm(join(envDir, e), { force: true });
  }
}

/** Why a deploy job can't be run, or null. Checked again here even though the hub validated it. */
export function checkDeployJob(job: DeployJob): string | null {
  if (!isValidDeploymentId(job.deployment_id)) return "invalid deployment id";
  if (!isValidProjectName(job.project_name)) return "invalid project name";
  if (!job.project_id || /[\x00-\x1f\x7f]/.test(job.project_id)) return "invalid project id";
  const url = validateRepoUrl(job.repo_url, job.allow_local_repos);
  if (!url.ok) return url.reason;
  if (!isValidBranch(job.branch)) return `invalid branch name ${JSON.stringify(job.branch)}`;
  if (job.dockerfile !== null && !isRelativeRepoPath(job.dockerfile)) return "dockerfile must be a relative path inside the repository";
  if (!(job.port >= 1 && job.port <= 65535)) return "port must be 1-65535";
  if (!(job.memory_mb >= 6)) return "memory_mb is too small (podman needs at least 6 MB)";
  if (!(job.cpus > 0)) return "cpus must be positive";
  if (!isValidHealthPath(job.health_path)) return "invalid health path";
  for (const [k, v] of Object.entries(job.env)) {
    if (!ENV_KEY.test(k)) return `invalid env key ${JSON.stringify(k)}`;
    // podman reads the env file line by line: a newline would smuggle in another variable.
    if (/[\0\n\r]/.test(v)) return `env value of ${k} contains a newline or NUL`;
  }
  for (const [k, v] of Object.entries(job.build_env ?? {})) {
    if (!ENV_KEY.test(k)) return `invalid build env key ${JSON.stringify(k)}`;
    // Handed to podman through its environment: these names would change podman itself.
    if (RESERVED_BUILD_ENV.test(k)) return `build env key ${k} is reserved`;
    if (/\0/.test(v)) return `build env value of ${k} contains NUL`;
  }
  if (job.build_timeout_s !== undefined && !(Number.isInteger(job.build_timeout_s) && job.build_timeout_s > 0)) return "build_timeout_s must be a positive whole number";
  return null;
}

function isRelativeRepoPath(p: string): boolean {
  return p.length > 0 && p.length <= 255 && !p.startsWith("/") && !p.startsWith("-") && !p.split("/").includes("..") && !/[\x00-\x1f\x7f]/.test(p);
}

/**
 * Finds the Containerfile: `dockerfile` if given, else `Containerfile`, else
 * `Dockerfile`. The real path (after symlinks) must be a regular file inside
 * the clone, so a repository can't point the build at a file of the host.
 */
export async function findContainerfile(cloneDir: string, dockerfile: string | null): Promise<string> {
  const root = await realpath(cloneDir);
  const candidates = dockerfile !== null ? [dockerfile] : ["Containerfile", "Dockerfile"];
  for (const c of candidates) {
    let real: string;
    try {
      real = await realpath(join(root, c));
    } catch {
      continue; // missing
    }
    if (!real.startsWith(root + sep)) throw new Error(`${c} points outside the repository`);
    if (!(await stat(real)).isFile()) throw new Error(`${c} is not a regular file`);
    return real;
  }
  throw new Error(
    dockerfile !== null ? `${dockerfile} not found in the repository` : "no Containerfile or Dockerfile at the repository root",
  );
}

/**
 * The Containerfile to build with and the builder that made it: the
 * repository's own (via {@link findContainerfile}, whenever `dockerfile` is set
 * or a Containerfile/Dockerfile entry exists), else one generated for the
 * detected stack and written into the clone (agent/builders).
 */
export async function chooseContainerfile(
  cloneDir: string,
  dockerfile: string | null,
  images: BuildImages,
  log: (line: string) => void,
): Promise<{ builder: Builder; containerfile: string }> {
  if (dockerfile !== null || (await hasContainerfileEntry(cloneDir))) {
    return { builder: "containerfile", containerfile: await findContainerfile(cloneDir, dockerfile) };
  }
  return await generateBuild(cloneDir, images, log);
}

/** Writes KEY=value lines to a new 0600 file (only root can read it) and returns its path. */
export async function writeEnvFile(stateDir: string, deploymentId: string, env: Record<string, string>): Promise<string> {
  const dir = join(stateDir, "env");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${deploymentId}.env`);
  await unlink(path).catch(() => {}); // a leftover from a crash; "wx" below needs it gone
  const fh = await open(path, "wx", 0o600);
  try {
    await fh.writeFile(Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join(""));
  } finally {
    await fh.close();
  }
  return path;
}

/**
 * Deploys one deployment. Contract:
 * - Reports, in order: `building` (with commit_sha) → `starting` → `running`
 *   (with host_port and container_id), or `failed` (with error) at any point.
 *   Returns the final status it reported.
 * - Validates url, branch, names and env first; an invalid job fails without
 *   running git or podman.
 * - Idempotent: if `wh-<deployment_id>` exists and runs, it only reports
 *   `running`; if it exists stopped, it is started and health-checked.
 * - Clones into a fresh directory under the work dir and always removes it.
 *   The env file exists only while `podman run` reads it.
 * - Build output (and git's) goes to the `build` log stream; once the
 *   container answers its output goes to the `runtime` stream (from its first
 *   line) until it is gone or a stop/remove task ends the follower; if it never
 *   answers, its last 200 lines are sent before it is removed.
 * - A container that doesn't become healthy is removed (its image stays until
 *   job.remove) so it doesn't hold memory the hub no longer accounts for.
 * - `signal` cancels (a stop/remove for the same deployment, or shutdown).
 */
export async function deploy(job: DeployJob, ctx: TaskContext, signal?: AbortSignal): Promise<JobStatus> {
  const id = job.deployment_id;
  const failed = (error: string) => report(ctx, { deployment_id: id, status: "failed", error });
  const problem = checkDeployJob(job);
  if (problem) return failed(problem);

  const name = containerName(id);
  const buildLog = (line: string) => ctx.log(id, "build", line);
  let jobDir: string | undefined;
  try {
    // Looked up while the clone runs: a repeated job finds its container and
    // drops the clone, a new one (the usual case) doesn't wait for podman.
    const existingLookup = findContainer(name);
    existingLookup.catch(() => {});

    await mkdir(ctx.workDir, { recursive: true, mode: 0o700 });
    jobDir = await mkdtemp(join(ctx.workDir, `${CLONE_PREFIX}${id}-`));
    const home = join(jobDir, "home");
    const src = join(jobDir, "src");
    await mkdir(home, { mode: 0o700 });
    // A private repository's credential (linked git account): to git through its environment only, scrubbed from output.
    const credential = job.clone_token ? { url: job.repo_url, username: job.clone_token.username, token: new Sensitive(job.clone_token.token) } : undefined;
    const git = { env: gitEnv(home, process.env, credential), inheritEnv: false, signal, onLine: buildLog, secrets: credential ? [credential.token] : [] };

    buildLog(`==> Cloning ${job.repo_url} (branch ${job.branch})`);
    const clone = await run(cloneArgs(job.repo_url, job.branch, src), { ...git, timeoutMs: CLONE_TIMEOUT_MS });
    if (signal?.aborted) return failed("cancelled");
    if (clone.code !== 0) return failed(`git clone failed${clone.timedOut ? " (timed out)" : ""}: ${lastLine(clone.stderr)}`);
    if (job.commit_sha) {
      buildLog(`==> Checking out commit ${job.commit_sha}`);
      const fetched = await run(fetchCommitArgs(job.repo_url, src, job.commit_sha), { ...git, timeoutMs: CLONE_TIMEOUT_MS });
      if (fetched.code !== 0) return failed(`git fetch of ${job.commit_sha} failed: ${lastLine(fetched.stderr)}`);
      const co = await run(checkoutCommitArgs(src, job.commit_sha), { ...git, timeoutMs: 60_000 });
      if (co.code !== 0) return failed(`git checkout of ${job.commit_sha} failed: ${lastLine(co.stderr)}`);
    }
    const rev = await run(revParseArgs(src), { ...git, onLine: undefined, timeoutMs: 30_000 });
    const sha = rev.stdout.trim();
    if (rev.code !== 0 || !isCommitSha(sha)) return failed(`could not read the commit: ${lastLine(rev.stderr)}`);
    const existing = await existingLookup;
    if (existing?.state === "running") return await confirmRunning(ctx, id, name, job.port);
    if (existing) return await bringUp(ctx, { deployment_id: id, port: job.port, health_path: job.health_path }, "start", signal);
    // Chosen before `building` is reported, which carries the builder; a repository that can't be built still goes through building to failed.
    const chosen = await chooseContainerfile(src, job.dockerfile, ctx.buildImages ?? DEFAULT_BUILD_IMAGES, buildLog).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    report(ctx, { deployment_id: id, status: "building", commit_sha: sha, ...(chosen instanceof Error ? {} : { builder: chosen.builder }) });
    if (chosen instanceof Error) throw chosen;
    const { containerfile } = chosen;
    const tag = imageTag(job.project_name, id);
    const buildEnv = job.build_env ?? {};
    const buildTimeoutMs = job.build_timeout_s !== undefined ? job.build_timeout_s * 1000 : BUILD_TIMEOUT_MS;
    const build = buildArgs({
      tag,
      contextDir: src,
      containerfile,
      memoryMb: ctx.buildMemoryMb,
      cpus: ctx.buildCpus,
      buildArgNames: Object.keys(buildEnv),
    });
    const release = await ctx.buildSlots?.acquire(signal, () => buildLog("==> Build queued: waiting for a build slot (other builds are running on this worker)")).catch(() => null);
    if (release === null || signal?.aborted) return failed("cancelled");
    let built;
    try {
      buildLog(`==> Building ${tag} from commit ${sha.slice(0, 12)}`);
      buildLog(describeCommand(build));
      // Build-time values reach podman through its environment only (`--build-arg KEY` reads them there), scrubbed from its output.
      built = await run(build, {
        signal,
        timeoutMs: buildTimeoutMs,
        onLine: buildLog,
        maxOutputBytes: 64 * 1024,
        // A killed podman build leaves its RUN step running: kill that first.
        killContainers: true,
        env: Object.fromEntries(Object.entries(buildEnv).map(([k, v]) => [k, new Sensitive(v)])),
        secrets: Object.values(buildEnv).map((v) => new Sensitive(v)),
      });
    } finally {
      release?.();
    }
    if (signal?.aborted) return failed("cancelled");
    // podman build can exit 0 when killed (SIGTERM): a timeout fails whatever the exit code.
    if (built.timedOut) return failed(`build timed out after ${formatDuration(buildTimeoutMs)}`);
    if (built.code !== 0) return failed(`build failed (exit ${built.code}): ${lastLine(built.stderr)}`);

    report(ctx, { deployment_id: id, status: "starting" });
    buildLog(`==> Starting container ${name}`);
    const secrets = Object.values(job.env).map((v) => new Sensitive(v));
    const envFile = await writeEnvFile(ctx.stateDir, id, job.env);
    let started;
    let hostPort = 0;
    try {
      // The agent picks the host port (saves a `podman port` round trip); if
      // something took it in between, try again with another.
      for (let attempt = 1; ; attempt++) {
        hostPort = await freeHostPort(ctx.advertiseAddr);
        started = await run(
          runArgs({
            name,
            image: tag,
            labels: { project: job.project_id, deployment: id, worker: ctx.workerName },
            memoryMb: job.memory_mb,
            cpus: job.cpus,
            envFile,
            advertiseAddr: ctx.advertiseAddr,
            hostPort,
            port: job.port,
          }),
          { timeoutMs: RUN_TIMEOUT_MS, secrets },
        );
        if (started.code === 0 || attempt === 3 || !/address already in use/i.test(started.stderr)) break;
        await podmanTry(rmArgs(name, 0));
      }
    } finally {
      await unlink(envFile).catch(() => {});
    }
    if (started.code !== 0) return failed(`podman run failed: ${lastLine(started.stderr)}`);
    const containerId = started.stdout.trim().split("\n").pop() ?? "";

    const url = healthUrl(ctx.advertiseAddr, hostPort, job.health_path);
    const health = await waitHealthy(url, {
      timeoutMs: ctx.healthTimeoutMs ?? 60_000,
      intervalMs: ctx.healthIntervalMs ?? 250,
      signal,
    });
    if (!health.ok) {
      // What the app printed is the best clue to why it never answered.
      const printed = await podmanTry(logsOnceArgs(name));
      for (const line of `${printed.stdout}${printed.stderr}`.split("\n").filter(Boolean).slice(-200)) ctx.log(id, "runtime", line);
      buildLog(`==> ${health.reason}; removing the container`);
      await podmanTry(rmArgs(name, 5));
      return failed(health.reason);
    }
    // Follows from the container's first line: nothing printed so far is lost.
    ctx.runtimeLogs.follow(id, name);
    buildLog(`==> Running on ${ctx.advertiseAddr}:${hostPort} (health check answered HTTP ${health.status})`);
    return report(ctx, { deployment_id: id, status: "running", host_port: hostPort, container_id: containerId });
  } catch (err) {
    return failed(errorText(err));
  } finally {
    if (jobDir) await rm(jobDir, { recursive: true, force: true }).catch(() => {});
  }
}

/** `15 min`, `90 s`: how long a build was allowed. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s % 60 === 0 ? `${s / 60} min` : `${s} s`;
}

function lastLine(text: string): string {
  return lastLines(text, 1) || "no output";
}

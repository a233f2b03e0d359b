import { afterAll, expect, test } from "bun:test";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DeployJob } from "../../src/protocol/hub";
import { checkDeployJob, cleanLeftovers, deploy, findContainerfile, formatDuration, writeEnvFile } from "./deploy";
import type { JobStatus, TaskContext } from "./context";
import { RuntimeLogs } from "./runtime-logs";

const root = await mkdtemp(join(tmpdir(), "wh-agent-deploy-"));
afterAll(() => rm(root, { recursive: true, force: true }));

const job: DeployJob = {
  deployment_id: "0b6f7a9e-1111-4222-8333-944455556666",
  project_id: "7d7f7a9e-1111-4222-8333-944455556666",
  project_name: "my-app",
  repo_url: "https://github.com/acme/app.git",
  branch: "main",
  commit_sha: null,
  epoch: 1,
  dockerfile: null,
  port: 8080,
  memory_mb: 256,
  cpus: 0.5,
  health_path: "/healthz",
  env: { DATABASE_URL: "postgres://u:p@db/x", EMPTY: "" },
  allow_local_repos: false,
};

test("a sound job passes", () => {
  expect(checkDeployJob(job)).toBeNull();
  expect(checkDeployJob({ ...job, build_env: { GREETING: "hi there", NPM_TOKEN: "t" }, build_timeout_s: 30 })).toBeNull();
  expect(checkDeployJob({ ...job, repo_url: "file:///srv/r", allow_local_repos: true, dockerfile: "docker/Containerfile" })).toBeNull();
});

test("hostile or broken jobs are refused before anything runs", () => {
  const bad: [Partial<DeployJob>, RegExp][] = [
    [{ repo_url: "-uupload-pack=touch /tmp/x" }, /whitespace|'-'/],
    [{ repo_url: "--upload-pack=x" }, /'-'/],
    [{ repo_url: "ext::sh -c touch% /tmp/pwned" }, /whitespace/],
    [{ repo_url: "file:///etc" }, /local repositories/],
    [{ repo_url: "https://x\n" }, /control/],
    [{ repo_url: "https://user:pw@host/r" }, /credentials/],
    [{ branch: "-x" }, /branch/],
    [{ branch: "a..b" }, /branch/],
    [{ branch: "a b" }, /branch/],
    [{ branch: "a~1" }, /branch/],
    [{ branch: "x.lock" }, /branch/],
    [{ deployment_id: "--rm" }, /deployment id/],
    [{ project_name: "My App" }, /project name/],
    [{ dockerfile: "../Containerfile" }, /dockerfile/],
    [{ dockerfile: "/etc/passwd" }, /dockerfile/],
    [{ dockerfile: "-f" }, /dockerfile/],
    [{ port: 0 }, /port/],
    [{ port: 70000 }, /port/],
    [{ memory_mb: 1 }, /memory/],
    [{ cpus: 0 }, /cpus/],
    [{ health_path: "healthz" }, /health/],
    [{ health_path: "/a b" }, /health/],
    [{ env: { "lower": "x" } }, /env key/],
    [{ env: { "A=B": "x" } }, /env key/],
    [{ env: { A: "x\nB=evil" } }, /newline/],
    [{ env: { A: "x\0" } }, /NUL/],
    [{ build_env: { "lower": "x" } }, /build env key/],
    [{ build_env: { PATH: "/tmp/evil" } }, /reserved/],
    [{ build_env: { CONTAINERS_CONF: "/tmp/x" } }, /reserved/],
    [{ build_env: { LD_PRELOAD: "/tmp/x.so" } }, /reserved/],
    [{ build_env: { A: "x\0" } }, /NUL/],
    [{ build_timeout_s: 0 }, /build_timeout_s/],
    [{ build_timeout_s: 1.5 }, /build_timeout_s/],
  ];
  for (const [patch, reason] of bad) expect(checkDeployJob({ ...job, ...patch })).toMatch(reason);
});

test("deploy() refuses a bad job with a failed status and never touches the work dir", async () => {
  const statuses: JobStatus[] = [];
  const workDir = join(root, "never");
  const ctx: TaskContext = {
    workerName: "w",
    advertiseAddr: "127.0.0.1",
    stateDir: join(root, "state"),
    workDir,
    buildMemoryMb: 1024,
    buildCpus: 1,
    report: (s) => statuses.push(s),
    log: () => {},
    runtimeLogs: new RuntimeLogs(() => {}),
  };
  const s = await deploy({ ...job, repo_url: "ext::sh -c touch% /tmp/pwned" }, ctx);
  expect(s.status).toBe("failed");
  expect(statuses).toEqual([s]);
  expect(await readdir(workDir).catch(() => "missing")).toBe("missing");
});

test("findContainerfile: explicit path, then Containerfile, then Dockerfile; never outside the clone", async () => {
  const repo = join(root, "repo");
  await mkdir(join(repo, "sub"), { recursive: true });
  await writeFile(join(repo, "Dockerfile"), "FROM x");
  expect(await findContainerfile(repo, null)).toBe(join(repo, "Dockerfile"));
  await writeFile(join(repo, "Containerfile"), "FROM x");
  expect(await findContainerfile(repo, null)).toBe(join(repo, "Containerfile"));
  await writeFile(join(repo, "sub", "Build.file"), "FROM x");
  expect(await findContainerfile(repo, "sub/Build.file")).toBe(join(repo, "sub", "Build.file"));
  await symlink("/etc/passwd", join(repo, "evil"));
  await symlink("sub/Build.file", join(repo, "inside-link"));
  expect(await findContainerfile(repo, "inside-link")).toBe(join(repo, "sub", "Build.file"));
  expect(findContainerfile(repo, "evil")).rejects.toThrow(/outside the repository/);
  expect(findContainerfile(repo, "sub")).rejects.toThrow(/not a regular file/);
  expect(findContainerfile(repo, "missing")).rejects.toThrow(/missing not found/);
  const empty = join(root, "empty");
  await mkdir(empty);
  expect(findContainerfile(empty, null)).rejects.toThrow(/no Containerfile or Dockerfile/);
});

test("env file: KEY=value lines, mode 0600 in a 0700 dir, replaced when left over", async () => {
  const stateDir = join(root, "state-env");
  const path = await writeEnvFile(stateDir, "d1", { A: "1", B: "x y=z", EMPTY: "" });
  expect(await readFile(path, "utf8")).toBe("A=1\nB=x y=z\nEMPTY=\n");
  expect((await stat(path)).mode & 0o777).toBe(0o600);
  expect((await stat(join(stateDir, "env"))).mode & 0o777).toBe(0o700);
  expect(await readFile(await writeEnvFile(stateDir, "d1", { C: "3" }), "utf8")).toBe("C=3\n");
});

test("cleanLeftovers removes only our clone dirs and env files", async () => {
  const work = join(root, "work");
  const state = join(root, "state-left");
  await mkdir(join(work, "wh-clone-d1-abc123", "src"), { recursive: true });
  await mkdir(join(work, "keep-me"), { recursive: true });
  await writeEnvFile(state, "d1", { A: "1" });
  await cleanLeftovers(work, state);
  expect(await readdir(work)).toEqual(["keep-me"]);
  expect(await readdir(join(state, "env"))).toEqual([]);
  await cleanLeftovers(join(root, "nope"), join(root, "nope")); // missing dirs are fine
});

test("formatDuration: minutes when whole, else seconds", () => {
  expect(formatDuration(15 * 60_000)).toBe("15 min");
  expect(formatDuration(30_000)).toBe("30 s");
  expect(formatDuration(90_000)).toBe("90 s");
});

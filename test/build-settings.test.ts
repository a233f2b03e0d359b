/**
 * Build settings end to end (compiled binaries, real PostgreSQL, podman and
 * git): a build-time variable reaches `podman build` through its environment
 * (never argv, never the log); a build past the project's timeout is killed
 * and fails with "build timed out"; a rebuild of a project reuses its cached
 * layers; with WH_MAX_CONCURRENT_BUILDS=1 a second build waits for the slot.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { freshDatabase, postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { BASE_IMAGE, ensureBaseImage, podmanAvailable, podmanEnv, removeWorkerContainers } from "./helpers/podman";
import { makeAppRepo } from "./helpers/gitrepo";
import { AGENT, binariesBuilt, CONTROL_PLANE, freePort, launch, until, type Proc } from "./helpers/processes";

const skip =
  missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable()) ||
  missingPart("podman with /bin/busybox", podmanAvailable()) ||
  missingPart("the compiled binaries in dist/ (bun run build)", binariesBuilt());

/** argv and environment of every running `podman build` (readable: same user). */
function podmanBuilds(): { argv: string[]; environ: string[] }[] {
  const out: { argv: string[]; environ: string[] }[] = [];
  for (const pid of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
      if (!(argv[0]?.endsWith("podman") && argv[1] === "build")) continue;
      out.push({ argv, environ: readFileSync(`/proc/${pid}/environ`, "utf8").split("\0") });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Command lines of running processes containing `needle`. */
function processesWith(needle: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      if (cmd.includes(needle)) out.push(cmd);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe.skipIf(skip)("build settings: build-time env, timeout, layer cache, build slots", () => {
  const apiPort = freePort();
  const ingressPort = freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const workerName = `bs-${randomBytes(3).toString("hex")}`;
  const tag = randomBytes(3).toString("hex");
  const app = `app-${tag}`;
  const slow = `slow-${tag}`;
  // Random per run: the first build can't find these layers in the cache of an earlier run.
  const secret = `greeting-${randomBytes(8).toString("hex")}`;
  const slowSecret = `slow-${randomBytes(8).toString("hex")}`;
  const sleepMarker = `${30 + Math.floor(Math.random() * 30)}.${randomBytes(2).readUInt16BE()}`;
  const dataDir = mkdtempSync(join(tmpdir(), "wh-bs-cp-"));
  const agentDir = mkdtempSync(join(tmpdir(), "wh-bs-agent-"));
  const repo = makeAppRepo("page v1\n");
  const slowRepo = makeAppRepo("slow\n");
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let server: Proc;
  let agent: Proc;
  let token = "";
  let appId = "";

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(api + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, json: text.startsWith("{") ? JSON.parse(text) : undefined, text };
  };
  const get = (path: string) => fetch(`http://127.0.0.1:${ingressPort}${path}`, { headers: { host: `${app}.localhost:${ingressPort}` } });
  const logs = async (id: string) => (await call("GET", `/v1/deployments/${id}/logs`)).text;
  const settle = (id: string, ms = 90_000) =>
    until(`deployment ${id} to settle`, async () => {
      const d = (await call("GET", `/v1/deployments/${id}`)).json;
      return ["running", "failed"].includes(d.status) ? d : null;
    }, ms).catch(async (e) => {
      throw new Error(`${e.message}\n--- log:\n${await logs(id)}\n--- agent:\n${agent.output().slice(-4000)}`);
    });
  const deploy = async (projectId: string) => {
    const dep = await call("POST", `/v1/projects/${projectId}/deployments`);
    expect(dep.status).toBe(202);
    return dep.json.id as string;
  };

  beforeAll(async () => {
    ensureBaseImage();
    // The build-time variable is written into the image; the page is copied after it.
    writeFileSync(join(repo.dir, "Containerfile"), `FROM ${BASE_IMAGE}\nARG GREETING\nRUN echo "$GREETING" > /www/greeting.txt\nCOPY index.html /www/index.html\n`);
    Bun.spawnSync(["git", "-C", repo.dir, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qam", "build arg"]);
    writeFileSync(join(slowRepo.dir, "Containerfile"), `FROM ${BASE_IMAGE}\nARG GREETING\nRUN sleep ${sleepMarker}\n`);
    Bun.spawnSync(["git", "-C", slowRepo.dir, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qam", "slow"]);
    db = await freshDatabase();
    const env = {
      WH_DATABASE_URL: db.url,
      WH_DATA_DIR: dataDir,
      WH_LISTEN: `127.0.0.1:${apiPort}`,
      WH_INGRESS_LISTEN: `127.0.0.1:${ingressPort}`,
      WH_ALLOW_LOCAL_REPOS: "true",
    };
    server = launch([CONTROL_PLANE, "serve"], env);
    await server.waitFor(/ready in \d+ ms/);
    const workerSecret = /WH_WORKER_SECRET=(\S+)/.exec(await server.waitFor(/WH_WORKER_SECRET=\S+/))![1]!;
    Bun.spawnSync([CONTROL_PLANE, "admin", "create", "--email", "ops@example.com"], { env: { ...process.env, ...env } });
    token = Bun.spawnSync([CONTROL_PLANE, "token", "create", "--email", "ops@example.com", "--name", "bs"], { env: { ...process.env, ...env } }).stdout.toString().trim();
    expect(token).toMatch(/^wh_pat_/);
    agent = launch([AGENT], {
      ...podmanEnv,
      WH_HUB_URL: api,
      WH_WORKER_SECRET: workerSecret,
      WH_WORKER_NAME: workerName,
      WH_WORKER_STATE_DIR: agentDir,
      WH_WORKER_MEMORY_MB: "2048",
      WH_MAX_CONCURRENT_BUILDS: "1",
    });
    await until("the worker to come online", async () => (await call("GET", "/v1/workers")).json?.workers?.find((w: { status: string }) => w.status === "online"), 30_000);
  });

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    removeWorkerContainers(workerName);
    for (const name of [app, slow]) {
      const images = Bun.spawnSync(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", `reference=localhost/wh/${name}`], { env: podmanEnv }).stdout.toString().split("\n").filter(Boolean);
      if (images.length) Bun.spawnSync(["podman", "rmi", "--ignore", "--", ...images], { env: podmanEnv });
    }
    await db?.drop();
    for (const d of [dataDir, agentDir, repo.dir, slowRepo.dir]) rmSync(d, { recursive: true, force: true });
  });

  test("a build-time variable reaches the build, never podman's argv or the build log", async () => {
    const created = await call("POST", "/v1/projects", { name: app, repo_url: `file://${repo.dir}`, memory_mb: 64, cpus: 0.25 });
    expect(created.status).toBe(201);
    expect(created.json.build_timeout_s).toBe(900);
    appId = created.json.id;
    // Validation: a build key must be one of vars, and not a name podman's own environment needs.
    expect((await call("PUT", `/v1/projects/${appId}/env`, { vars: { A: "1" }, build: ["B"] })).status).toBe(400);
    expect((await call("PUT", `/v1/projects/${appId}/env`, { vars: { PATH: "/x" }, build: ["PATH"] })).status).toBe(400);
    const put = await call("PUT", `/v1/projects/${appId}/env`, { vars: { GREETING: secret, RUNTIME_ONLY: "runtime-value" }, build: ["GREETING"] });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({ vars: { GREETING: "********", RUNTIME_ONLY: "********" }, build: ["GREETING"], revealed: false });

    const id = await deploy(appId);
    const d = await settle(id);
    const log = await logs(id);
    expect({ status: d.status, error: d.error }).toEqual({ status: "running", error: null });
    const greeting = await get("/greeting.txt");
    expect(greeting.status).toBe(200);
    expect(await greeting.text()).toBe(`${secret}\n`);
    // The command the agent ran, as logged: the name only.
    expect(log).toMatch(/\$ podman build .*--build-arg GREETING -f /);
    expect(log).not.toContain(secret);
    expect(log).not.toContain("RUNTIME_ONLY");
    expect(agent.output()).not.toContain(secret);
    // A fresh value: the RUN step can't come from the cache yet.
    expect(log).toMatch(/RUN echo "\$GREETING" > \/www\/greeting.txt\n(?!.*Using cache)/);
  }, 100_000);

  test("a second build of the project reuses the unchanged layers", async () => {
    const sha = repo.commitPage("page v2\n");
    const id = await deploy(appId);
    const d = await settle(id);
    const log = await logs(id);
    expect({ status: d.status, error: d.error, commit: d.commit_sha }).toEqual({ status: "running", error: null, commit: sha });
    // The RUN step (same base, same ARG value) comes from the cache, across a new clone; the changed COPY is rebuilt.
    expect(log).toMatch(/RUN echo "\$GREETING" > \/www\/greeting.txt\n(?:.*\n)?.*Using cache/);
    expect(log).toMatch(/COPY index.html \/www\/index.html\n(?!.*Using cache)/);
    expect(await (await get("/")).text()).toBe("page v2\n");
    expect(await (await get("/greeting.txt")).text()).toBe(`${secret}\n`);
  }, 100_000);

  test("a build past build_timeout_s is killed and fails with \"build timed out\"; meanwhile the other build waits for the slot", async () => {
    expect((await call("POST", "/v1/projects", { name: `${slow}-x`, repo_url: `file://${slowRepo.dir}`, build_timeout_s: 29 })).status).toBe(400);
    const created = await call("POST", "/v1/projects", { name: slow, repo_url: `file://${slowRepo.dir}`, memory_mb: 64, cpus: 0.25, build_timeout_s: 30 });
    expect(created.status).toBe(201);
    expect(created.json.build_timeout_s).toBe(30);
    const slowId = created.json.id;
    await call("PUT", `/v1/projects/${slowId}/env`, { vars: { GREETING: slowSecret }, build: ["GREETING"] });
    const slowDep = await deploy(slowId);
    await until("the slow build's RUN step", async () => processesWith(`sleep ${sleepMarker}`).length > 0, 60_000);
    const started = Date.now();

    // While it builds: the value is in podman's environment, not in its argv.
    const builds = podmanBuilds().filter((b) => b.argv.includes(`localhost/wh/${slow}:${slowDep}`));
    expect(builds.length).toBeGreaterThan(0);
    for (const b of builds) {
      expect(b.argv.join(" ")).toContain("--build-arg GREETING");
      expect(b.argv.join(" ")).not.toContain(slowSecret);
      expect(b.environ).toContain(`GREETING=${slowSecret}`);
    }

    // K=1: a build of the other project waits until the slow one ends.
    repo.commitPage("page v3\n");
    const waiting = await deploy(appId);
    await until("the second build to wait for a slot", async () => /waiting for a build slot/.test(await logs(waiting)), 30_000);
    expect((await call("GET", `/v1/deployments/${waiting}`)).json.status).toBe("building");
    expect(await logs(waiting)).not.toContain("$ podman build");

    const d = await settle(slowDep, 60_000);
    const took = Date.now() - started;
    expect(d.status).toBe("failed");
    expect(d.error).toMatch(/^build timed out/);
    expect(took).toBeLessThan(40_000);
    expect(await logs(slowDep)).not.toContain(slowSecret);
    // The RUN step's process went with the build.
    await until("the build's sleep to be gone", async () => processesWith(`sleep ${sleepMarker}`).length === 0, 15_000);

    const next = await settle(waiting);
    expect({ status: next.status, error: next.error }).toEqual({ status: "running", error: null });
    expect(await (await get("/")).text()).toBe("page v3\n");
  }, 120_000);
});

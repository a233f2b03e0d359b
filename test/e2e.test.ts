/**
 * End to end with the compiled binaries as processes, real PostgreSQL, real
 * podman and real git: a repository becomes a running container served by the
 * ingress; a redeploy under continuous traffic drops nothing; stop, start,
 * restart and delete do what they say on the worker.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { freshDatabase, postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { containersOf, ensureBaseImage, podmanAvailable, podmanEnv, removeWorkerContainers } from "./helpers/podman";
import { makeAppRepo } from "./helpers/gitrepo";
import { AGENT, binariesBuilt, CONTROL_PLANE, freePort, launch, until, type Proc } from "./helpers/processes";

const skip =
  missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable()) ||
  missingPart("podman with /bin/busybox", podmanAvailable()) ||
  missingPart("the compiled binaries in dist/ (bun run build)", binariesBuilt());

describe.skipIf(skip)("end to end: git repo → container → ingress", () => {
  const apiPort = freePort();
  const ingressPort = freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const workerName = `e2e-${randomBytes(3).toString("hex")}`;
  const project = `app-${randomBytes(3).toString("hex")}`;
  const dataDir = mkdtempSync(join(tmpdir(), "wh-e2e-cp-"));
  const agentDir = mkdtempSync(join(tmpdir(), "wh-e2e-agent-"));
  const repo = makeAppRepo("hello v1\n");
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let server: Proc;
  let agent: Proc;
  let token = "";
  let env: Record<string, string>;
  let agentEnv: Record<string, string>;
  let projectId = "";

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(api + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, json: text.startsWith("{") ? JSON.parse(text) : undefined, text };
  };
  const app = (path = "/") => fetch(`http://127.0.0.1:${ingressPort}${path}`, { headers: { host: `${project}.localhost:${ingressPort}` } });
  const deployment = async (id: string) => (await call("GET", `/v1/deployments/${id}`)).json;
  const settle = (id: string, ms = 120_000) =>
    until(`deployment ${id} to settle`, async () => {
      const d = await deployment(id);
      return ["running", "failed"].includes(d.status) ? d : null;
    }, ms);

  beforeAll(async () => {
    ensureBaseImage();
    db = await freshDatabase();
    env = {
      WH_DATABASE_URL: db.url,
      WH_DATA_DIR: dataDir,
      WH_LISTEN: `127.0.0.1:${apiPort}`,
      WH_INGRESS_LISTEN: `127.0.0.1:${ingressPort}`,
      WH_ALLOW_LOCAL_REPOS: "true",
    };
    server = launch([CONTROL_PLANE, "serve"], env);
    await server.waitFor(/ready in \d+ ms/);
    const secret = /WH_WORKER_SECRET=(\S+)/.exec(await server.waitFor(/WH_WORKER_SECRET=\S+/))![1]!;
    const admin = Bun.spawnSync([CONTROL_PLANE, "admin", "create", "--email", "ops@example.com"], { env: { ...process.env, ...env } });
    expect(admin.stdout.toString()).toMatch(/password: \S{12,}/);
    token = Bun.spawnSync([CONTROL_PLANE, "token", "create", "--email", "ops@example.com", "--name", "e2e"], { env: { ...process.env, ...env } }).stdout.toString().trim();
    expect(token).toMatch(/^wh_pat_/);
    agentEnv = {
      ...podmanEnv,
      WH_HUB_URL: api,
      WH_WORKER_SECRET: secret,
      WH_WORKER_NAME: workerName,
      WH_WORKER_STATE_DIR: agentDir,
      WH_WORKER_MEMORY_MB: "2048",
    };
    agent = launch([AGENT], agentEnv);
    await until("the worker to come online", async () => (await call("GET", "/v1/workers")).json?.workers?.find((w: { status: string }) => w.status === "online"), 30_000).catch((e) => {
      throw new Error(`${e.message}\n--- control plane:\n${server.output()}\n--- agent:\n${agent.output()}`);
    });
  });

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    removeWorkerContainers(workerName);
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(agentDir, { recursive: true, force: true });
    rmSync(repo.dir, { recursive: true, force: true });
  });

  test("deploy a local git repo and fetch its page through the ingress", async () => {
    const created = await call("POST", "/v1/projects", { name: project, repo_url: `file://${repo.dir}`, memory_mb: 64, cpus: 0.25 });
    expect(created.status).toBe(201);
    projectId = created.json.id;
    await call("PUT", `/v1/projects/${projectId}/env`, { vars: { GREETING: "top-secret-value" } });
    const dep = await call("POST", `/v1/projects/${projectId}/deployments`);
    expect(dep).toMatchObject({ status: 202, json: { status: "queued" } });
    // Follow the log from the start: the stream ends by itself once the deployment settles.
    const followed = fetch(`${api}/v1/deployments/${dep.json.id}/logs?follow=true`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.text());
    const d = await settle(dep.json.id);
    const followText = await Promise.race([followed, Bun.sleep(10_000).then(() => "follow did not end")]);
    expect(followText).toMatch(/COPY index.html/);
    expect({ status: d.status, error: d.error }).toEqual({ status: "running", error: null });
    expect(d.commit_sha).toBe(repo.head());
    for (const step of ["queued_at", "building_at", "starting_at", "running_at"]) expect(d[step]).toBeString();
    const res = await app();
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("hello v1\n");
    const logs = await call("GET", `/v1/deployments/${dep.json.id}/logs`);
    expect(logs.text).toMatch(/COPY index.html/);
    expect(logs.text).not.toContain("top-secret-value");
    // Least privilege on the container itself.
    const [c] = containersOf(workerName);
    const inspect = JSON.parse(Bun.spawnSync(["podman", "inspect", c!.Names[0]!], { env: podmanEnv }).stdout.toString())[0];
    expect(inspect.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(inspect.HostConfig.SecurityOpt.join(" ")).toContain("no-new-privileges");
    expect(inspect.Config.Env).toContain("GREETING=top-secret-value");
    expect(inspect.Config.Env).toContain("PORT=8080");
    expect(JSON.stringify(inspect.Config.Cmd ?? []) + JSON.stringify(inspect.Args ?? [])).not.toContain("top-secret-value");
    const unknownHost = await fetch(`http://127.0.0.1:${ingressPort}/`, { headers: { host: "nope.localhost" } });
    expect(unknownHost.status).toBe(404);
  });

  test("redeploy under continuous requests: zero failures, new content after the switch", async () => {
    const sha = repo.commitPage("hello v2\n");
    let stop = false;
    const seen: { at: number; body: string; ok: boolean }[] = [];
    const client = (async () => {
      const end = Date.now() + 150_000;
      while (!stop && Date.now() < end && seen.length < 50_000) {
        try {
          const r = await app();
          seen.push({ at: Date.now(), body: await r.text(), ok: r.status === 200 });
        } catch {
          seen.push({ at: Date.now(), body: "", ok: false });
        }
      }
    })();
    const dep = await call("POST", `/v1/projects/${projectId}/deployments`);
    const d = await settle(dep.json.id);
    expect(d.status).toBe("running");
    expect(d.commit_sha).toBe(sha);
    await Bun.sleep(4000); // past the old container's drain and removal
    stop = true;
    await client;
    const failures = seen.filter((s) => !s.ok || !/^hello v[12]\n$/.test(s.body));
    expect(seen.length).toBeGreaterThan(50);
    expect(failures).toEqual([]);
    const firstNew = seen.findIndex((s) => s.body === "hello v2\n");
    expect(firstNew).toBeGreaterThan(-1);
    expect(seen.slice(firstNew).every((s) => s.body === "hello v2\n")).toBe(true);
    // The old deployment was superseded and its container removed.
    const list = (await call("GET", `/v1/projects/${projectId}/deployments`)).json.deployments;
    expect(list.map((x: { status: string }) => x.status)).toEqual(["running", "superseded"]);
    await until("the old container to go", async () => containersOf(workerName).length === 1, 15_000);
  });

  test("stop, start and restart", async () => {
    expect((await call("POST", `/v1/projects/${projectId}/stop`)).status).toBe(200);
    expect((await app()).status).toBe(404);
    await until("the container to stop", async () => containersOf(workerName)[0]?.State === "exited", 30_000);
    expect((await call("POST", `/v1/projects/${projectId}/start`)).status).toBe(200);
    await until("the app to answer again", async () => (await app()).status === 200, 60_000);
    expect(await (await app()).text()).toBe("hello v2\n");
    expect((await call("POST", `/v1/projects/${projectId}/restart`)).status).toBe(200);
    await Bun.sleep(500);
    await until("the app to answer after restart", async () => (await app()).status === 200, 60_000);
  });

  test("bad input never reaches the worker", async () => {
    const before = containersOf(workerName).length;
    for (const body of [
      { name: "inj1", repo_url: "--upload-pack=touch /tmp/wh-pwned" },
      { name: "inj2", repo_url: `file://${repo.dir}`, branch: "--upload-pack=touch /tmp/wh-pwned" },
      { name: "inj3", repo_url: "ext::sh -c touch% /tmp/wh-pwned" },
    ])
      expect((await call("POST", "/v1/projects", body)).status).toBe(400);
    expect(containersOf(workerName).length).toBe(before);
  });

  test("a build that fails reports failed with its log, and the running app keeps serving", async () => {
    const bad = makeAppRepo("x\n", { containerfile: "Dockerfile" });
    Bun.spawnSync(["sh", "-c", `cd ${bad.dir} && printf 'FROM localhost/wh-test-busybox:latest\\nRUN /bin/busybox false\\n' > Dockerfile && git -c user.name=t -c user.email=t@e commit -qam broken`]);
    const patched = await call("PATCH", `/v1/projects/${projectId}`, { repo_url: `file://${bad.dir}` });
    expect(patched.status).toBe(200);
    const dep = await call("POST", `/v1/projects/${projectId}/deployments`);
    const d = await settle(dep.json.id);
    expect(d.status).toBe("failed");
    expect(d.error).toBeString();
    expect((await app()).status).toBe(200);
    rmSync(bad.dir, { recursive: true, force: true });
    await call("PATCH", `/v1/projects/${projectId}`, { repo_url: `file://${repo.dir}` });
  });

  test("an agent restart recovers its containers; one removed meanwhile is redeployed", async () => {
    const before = (await call("GET", `/v1/projects/${projectId}`)).json;
    expect(before.status).toBe("running");
    const [container] = containersOf(workerName);
    await agent.stop("SIGKILL");
    expect((await app()).status).toBe(200); // the app doesn't need its agent
    agent = launch([AGENT], agentEnv);
    await agent.waitFor(/connected, reported 1 container/, 30_000);
    await Bun.sleep(1000);
    const after = (await call("GET", `/v1/projects/${projectId}`)).json;
    expect(after.current_deployment_id).toBe(before.current_deployment_id);
    expect(containersOf(workerName).map((c) => c.Names[0])).toEqual(container!.Names);

    // Remove the container behind the agent's back while it is down: the
    // control plane sees it missing on reconnect and deploys the project again.
    await agent.stop("SIGKILL");
    Bun.spawnSync(["podman", "rm", "-f", "-t", "0", container!.Names[0]!], { env: podmanEnv });
    agent = launch([AGENT], agentEnv);
    const redeployed = await until("a redeploy", async () => {
      const p = (await call("GET", `/v1/projects/${projectId}`)).json;
      return p.current_deployment_id !== before.current_deployment_id && p.status === "running" ? p : null;
    }, 120_000);
    expect(redeployed.status).toBe("running");
    expect(await (await app()).text()).toBe("hello v2\n");
    const old = await deployment(before.current_deployment_id);
    expect(old.status).toBe("failed");
  });

  test("rollback: redeploying the first deployment serves its commit again", async () => {
    const list = (await call("GET", `/v1/projects/${projectId}/deployments`)).json.deployments;
    const first = list[list.length - 1];
    expect(first.commit_sha).not.toBe(repo.head());
    const dep = await call("POST", `/v1/deployments/${first.id}/redeploy`);
    expect(dep).toMatchObject({ status: 202, json: { status: "queued" } });
    const d = await settle(dep.json.id);
    expect({ status: d.status, error: d.error }).toEqual({ status: "running", error: null });
    expect(d.commit_sha).toBe(first.commit_sha);
    expect(d.redeploy_of).toBe(first.id);
    expect(await (await app()).text()).toBe("hello v1\n");
  });

  test("delete removes the container", async () => {
    expect((await call("DELETE", `/v1/projects/${projectId}`)).status).toBe(204);
    await until("the containers to be removed", async () => containersOf(workerName).length === 0, 30_000);
    await until("the images to be removed", async () => {
      const r = Bun.spawnSync(["podman", "images", "--quiet", "--filter", `reference=localhost/wh/${project}`], { env: podmanEnv });
      return r.stdout.toString().trim() === "";
    }, 60_000).catch((e) => {
      const left = Bun.spawnSync(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", `reference=localhost/wh/${project}`], { env: podmanEnv }).stdout.toString();
      throw new Error(`${e.message}\nleft: ${left}\n--- agent:\n${agent.output().split("\n").filter((l) => /remove|image|deploy|WARN|ERROR/i.test(l)).slice(-60).join("\n")}`);
    });
    expect((await app()).status).toBe(404);
    const workers = (await call("GET", "/v1/workers")).json.workers;
    expect(workers[0].allocated_mb).toBe(0);
  });
});

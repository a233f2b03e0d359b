/**
 * Fleet operations with two real agents on one machine (containers told apart
 * by their wh.worker label): a worker killed with SIGKILL has its apps served
 * from the other worker within 45 s and its stale containers removed when it
 * comes back; draining moves apps with zero failed requests.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { makeIdentRepo } from "./helpers/gitrepo";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { freshDatabase, postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { containersOf, ensureBaseImage, podmanAvailable, podmanEnv, removeWorkerContainers } from "./helpers/podman";
import { AGENT, binariesBuilt, CONTROL_PLANE, freePort, launch, until, type Proc } from "./helpers/processes";

const skip =
  missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable()) ||
  missingPart("podman with /bin/busybox", podmanAvailable()) ||
  missingPart("the compiled binaries in dist/ (bun run build)", binariesBuilt());

describe.skipIf(skip)("fleet: failover and drain with two agents", () => {
  const apiPort = freePort();
  const ingressPort = freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const tag = randomBytes(3).toString("hex");
  const names = [`fa-${tag}`, `fb-${tag}`];
  const dataDir = mkdtempSync(join(tmpdir(), "wh-fleet-cp-"));
  const stateDirs = names.map(() => mkdtempSync(join(tmpdir(), "wh-fleet-agent-")));
  const repo = makeIdentRepo();
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let server: Proc;
  const agents: (Proc | null)[] = [null, null];
  let agentEnv: (i: number) => Record<string, string>;
  let token = "";
  const projects: { id: string; name: string }[] = [];

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(api + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, json: text.startsWith("{") ? JSON.parse(text) : undefined };
  };
  const ident = async (project: string) => {
    const r = await fetch(`http://127.0.0.1:${ingressPort}/cgi-bin/id`, { headers: { host: `${project}.localhost` } });
    return { status: r.status, body: (await r.text()).trim() };
  };
  const workers = async () => (await call("GET", "/v1/workers")).json.workers as { id: string; name: string; status: string; draining: boolean }[];
  const workerOf = async (projectId: string) => (await call("GET", `/v1/projects/${projectId}`)).json.worker_id as string;

  beforeAll(async () => {
    ensureBaseImage();
    db = await freshDatabase();
    const env = { WH_DATABASE_URL: db.url, WH_DATA_DIR: dataDir, WH_LISTEN: `127.0.0.1:${apiPort}`, WH_INGRESS_LISTEN: `127.0.0.1:${ingressPort}`, WH_ALLOW_LOCAL_REPOS: "true" };
    server = launch([CONTROL_PLANE, "serve"], env);
    await server.waitFor(/ready in \d+ ms/);
    const secret = /WH_WORKER_SECRET=(\S+)/.exec(await server.waitFor(/WH_WORKER_SECRET=\S+/))![1]!;
    Bun.spawnSync([CONTROL_PLANE, "admin", "create", "--email", "ops@example.com"], { env: { ...process.env, ...env } });
    token = Bun.spawnSync([CONTROL_PLANE, "token", "create", "--email", "ops@example.com", "--name", "t", "--scope", "admin"], { env: { ...process.env, ...env } }).stdout.toString().trim();
    agentEnv = (i) => ({ ...podmanEnv, WH_HUB_URL: api, WH_WORKER_SECRET: secret, WH_WORKER_NAME: names[i]!, WH_WORKER_STATE_DIR: stateDirs[i]!, WH_WORKER_MEMORY_MB: "2048" });
    for (const i of [0, 1]) agents[i] = launch([AGENT], agentEnv(i));
    await until("both workers online", async () => (await workers()).filter((w) => w.status === "online").length === 2, 30_000);
  });

  afterAll(async () => {
    for (const a of agents) await a?.stop();
    await server?.stop();
    for (const n of names) removeWorkerContainers(n);
    await db?.drop();
    for (const d of [dataDir, repo, ...stateDirs]) rmSync(d, { recursive: true, force: true });
  });

  test("three apps deployed across both workers", async () => {
    for (let i = 0; i < 3; i++) {
      const name = `fl${i}-${tag}`;
      const p = await call("POST", "/v1/projects", { name, repo_url: `file://${repo}`, memory_mb: 128 });
      expect(p.status).toBe(201);
      projects.push({ id: p.json.id, name });
      await call("POST", `/v1/projects/${p.json.id}/deployments`);
    }
    for (const p of projects) await until(`${p.name} running`, async () => (await ident(p.name)).status === 200, 60_000);
    const ws = await workers();
    const used = new Set(await Promise.all(projects.map((p) => workerOf(p.id))));
    expect(used.size).toBe(2);
    expect(ws.every((w) => used.has(w.id))).toBe(true);
  });

  test("SIGKILL one agent: within 45 s its apps are served from the other worker, once switched never by the old copy", async () => {
    const ws = await workers();
    const victim = ws.find((w) => w.name === names[0])!;
    const moved = [];
    for (const p of projects) if ((await workerOf(p.id)) === victim.id) moved.push(p);
    expect(moved.length).toBeGreaterThan(0);
    const before = new Map(await Promise.all(moved.map(async (p) => [p.name, (await ident(p.name)).body] as const)));
    const seen = new Map(moved.map((p) => [p.name, [] as string[]]));
    let stop = false;
    const watch = (async () => {
      const end = Date.now() + 90_000;
      while (!stop && Date.now() < end) {
        for (const p of moved) {
          const r = await ident(p.name).catch(() => ({ status: 0, body: "" }));
          if (r.status === 200) seen.get(p.name)!.push(r.body);
        }
        await Bun.sleep(50);
      }
    })();
    const killedAt = Date.now();
    await agents[0]!.stop("SIGKILL");
    agents[0] = null;
    for (const p of moved)
      await until(`${p.name} served from the other worker`, async () => {
        const w = await workerOf(p.id);
        const r = await ident(p.name);
        return w !== victim.id && r.status === 200 && r.body !== before.get(p.name);
      }, 60_000);
    const tookS = (Date.now() - killedAt) / 1000;
    expect(tookS).toBeLessThan(45);
    await Bun.sleep(1000);
    stop = true;
    await watch;
    for (const p of moved) {
      const bodies = seen.get(p.name)!;
      const firstNew = bodies.findIndex((b) => b !== before.get(p.name));
      expect(firstNew).toBeGreaterThan(-1);
      expect(bodies.slice(firstNew).every((b) => b === bodies[firstNew])).toBe(true);
    }
    const audit = await call("GET", `/v1/audit-events?action=worker.offline`);
    expect(audit.json.events.some((e: { target_id: string }) => e.target_id === victim.id)).toBe(true);
    // The killed agent comes back: its stale containers are removed.
    expect(containersOf(names[0]!).filter((c) => c.State === "running").length).toBe(moved.length);
    agents[0] = launch([AGENT], agentEnv(0));
    await until("stale containers removed", async () => containersOf(names[0]!).length === 0, 30_000);
    for (const p of moved) expect((await ident(p.name)).status).toBe(200);
  });

  test("drain under continuous requests: zero failures; the drained worker ends empty", async () => {
    await until("the agent back online", async () => (await workers()).filter((w) => w.status === "online").length === 2, 30_000).catch((e) => {
      throw new Error(`${e.message}\n--- agent:\n${agents[0]?.output()}\n--- control plane:\n${server.output().slice(-3000)}`);
    });
    const target = (await workers()).find((w) => w.name === names[1])!;
    let stop = false;
    const results: number[] = [];
    const client = (async () => {
      const end = Date.now() + 120_000;
      while (!stop && Date.now() < end && results.length < 100_000) {
        for (const p of projects) results.push((await ident(p.name).catch(() => ({ status: 0 }))).status);
      }
    })();
    expect((await call("POST", `/v1/workers/${target.id}/drain`)).json.draining).toBe(true);
    for (const p of projects) await until(`${p.name} off the drained worker`, async () => (await workerOf(p.id)) !== target.id, 90_000);
    await Bun.sleep(3000);
    stop = true;
    await client;
    expect(results.length).toBeGreaterThan(100);
    expect(results.filter((s) => s !== 200)).toEqual([]);
    await until("drained worker empty", async () => containersOf(names[1]!).length === 0, 30_000);
    const undrained = await call("POST", `/v1/workers/${target.id}/undrain`);
    expect(undrained.json.draining).toBe(false);
  });
});

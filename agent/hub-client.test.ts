/**
 * HubClient against a small fake control plane (Bun.serve): registration,
 * login, the signed socket, hello, heartbeats, job dispatch, reconnects.
 * Tasks are fakes; podman is never run.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerWebSocket } from "bun";
import {
  macKeyFromApiKey,
  NonceCache,
  open,
  seal,
  type ContainerReport,
  type DeployJob,
  type MessageBody,
  type MessageType,
} from "../src/protocol/hub";
import type { AgentConfig } from "./config";
import { Sensitive } from "./exec";
import { backoffDelay, FatalError, HubClient, type Tasks } from "./hub-client";
import { loadState, statePath } from "./state";
import { setLogWriter } from "./log";

const agentLog: string[] = [];
setLogWriter((line) => agentLog.push(line));

const WORKER_ID = "3f9f1f4e-5b2a-4c1e-9d7a-1b2c3d4e5f60";

type Received = { type: MessageType; body: any };

/** A fake hub that records what it receives and can send jobs. */
function fakeHub() {
  const hub = {
    apiKey: "",
    deleted: false,
    registrations: 0,
    logins: 0,
    refreshes: 0,
    authHeaders: [] as string[],
    received: [] as Received[],
    rejected: [] as string[],
    sockets: [] as ServerWebSocket<undefined>[],
    tokenTtlMs: 15 * 60_000,
    send<T extends MessageType>(type: T, body: MessageBody<T>) {
      hub.sockets.at(-1)!.send(JSON.stringify(seal(macKeyFromApiKey(hub.apiKey), type, body)));
    },
    sendRaw(text: string) {
      hub.sockets.at(-1)!.send(text);
    },
    of(type: MessageType) {
      return hub.received.filter((m) => m.type === type);
    },
  };
  const nonces = new NonceCache();
  const token = () => ({ worker_id: WORKER_ID, token: `jwt-${hub.logins + hub.registrations + hub.refreshes}`, expires_at: Date.now() + hub.tokenTtlMs });
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req, srv) {
      const path = new URL(req.url).pathname;
      if (path === "/v1/workers/register") {
        const body = (await req.json()) as { secret: string; api_key: string; name: string; capacity: number };
        if (body.secret !== "cluster-secret") return Response.json({ error: { code: "unauthorized", message: "wrong cluster secret" } }, { status: 401 });
        hub.apiKey = body.api_key;
        hub.registrations++;
        return Response.json(token());
      }
      if (path === "/v1/workers/login") {
        const body = (await req.json()) as { worker_id: string; api_key: string };
        if (hub.deleted || body.api_key !== hub.apiKey) return Response.json({ error: { code: "unauthorized", message: "unknown worker" } }, { status: 401 });
        hub.logins++;
        return Response.json(token());
      }
      if (path === "/v1/workers/refresh-token") {
        hub.refreshes++;
        return Response.json(token());
      }
      if (path === "/v1/workers/ws") {
        hub.authHeaders.push(req.headers.get("authorization") ?? "");
        if (srv.upgrade(req)) return undefined;
      }
      return new Response("not found", { status: 404 });
    },
    websocket: {
      open(ws) {
        hub.sockets.push(ws);
      },
      message(_ws, raw) {
        const r = open(macKeyFromApiKey(hub.apiKey), String(raw), nonces);
        if (r.ok) hub.received.push({ type: r.type, body: r.body });
        else hub.rejected.push(r.reason);
      },
    },
  });
  return { hub, server, url: `http://127.0.0.1:${server.port}` };
}

const dirs: string[] = [];
const clients: HubClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
});
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function config(hubUrl: string, secret: string | null = "cluster-secret"): Promise<AgentConfig> {
  const dir = await mkdtemp(join(tmpdir(), "wh-agent-hub-"));
  dirs.push(dir);
  return {
    hubUrl,
    workerSecret: secret ? new Sensitive(secret) : undefined,
    workerName: "test-worker",
    stateDir: dir,
    advertiseAddr: "127.0.0.1",
    memoryMb: 4096,
    workDir: join(dir, "work"),
    buildMemoryMb: 1024,
    buildCpus: 1,
  };
}

const report: ContainerReport[] = [
  { container_id: "c1", name: "wh-d0", project_id: "p0", deployment_id: "d0", state: "running", host_port: 40000 },
];

function fakeTasks(calls: string[]): Partial<Tasks> {
  return {
    listContainers: async () => report,
    resumeLogs: (containers) => calls.push(`resume ${containers.map((c) => c.name).join(",")}`),
    deploy: async (job, ctx, signal) => {
      calls.push(`deploy ${job.deployment_id}`);
      ctx.report({ deployment_id: job.deployment_id, status: "building", commit_sha: "a".repeat(40) });
      ctx.log(job.deployment_id, "build", "STEP 1/1");
      if (job.project_name === "slow") await new Promise((r) => { setTimeout(r, 1500); signal?.addEventListener("abort", r); });
      if (signal?.aborted) {
        ctx.report({ deployment_id: job.deployment_id, status: "failed", error: "cancelled" });
        return { deployment_id: job.deployment_id, status: "failed", error: "cancelled" };
      }
      ctx.report({ deployment_id: job.deployment_id, status: "running", host_port: 41000, container_id: "c2" });
      return { deployment_id: job.deployment_id, status: "running" };
    },
    stop: async (job, ctx) => {
      calls.push(`stop ${job.deployment_id}`);
      ctx.report({ deployment_id: job.deployment_id, status: "stopped" });
      return { deployment_id: job.deployment_id, status: "stopped" };
    },
  };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await Bun.sleep(10);
  }
}

const deployJob: DeployJob = {
  deployment_id: "d1",
  project_id: "p1",
  project_name: "app",
  repo_url: "https://example.com/r.git",
  branch: "main",
  commit_sha: null,
  epoch: 1,
  dockerfile: null,
  port: 8080,
  memory_mb: 256,
  cpus: 0.5,
  health_path: "/",
  env: {},
  allow_local_repos: false,
};

test("backoff: 0.5 s doubling to 30 s, jittered", () => {
  expect(backoffDelay(0, () => 1)).toBe(500);
  expect(backoffDelay(0, () => 0)).toBe(250);
  expect(backoffDelay(3, () => 1)).toBe(4000);
  expect(backoffDelay(20, () => 1)).toBe(30_000);
  expect(backoffDelay(1000, () => 0)).toBe(15_000);
});

test("first start registers, saves state, connects with the token and says hello", async () => {
  const { hub, server, url } = fakeHub();
  const cfg = await config(url);
  const client = new HubClient({ config: cfg, tasks: fakeTasks([]), heartbeatMs: 30 });
  clients.push(client);
  await client.start();
  await until(() => hub.of("heartbeat").length >= 2);

  expect(hub.registrations).toBe(1);
  const saved = await loadState(cfg.stateDir);
  expect(saved).toEqual({ worker_id: WORKER_ID, api_key: hub.apiKey });
  expect(hub.apiKey).toMatch(/^[0-9a-f]{64}$/);
  expect((await stat(statePath(cfg.stateDir))).mode & 0o777).toBe(0o600);
  expect(hub.authHeaders).toEqual(["Bearer jwt-1"]);
  expect(hub.received[0]).toEqual({
    type: "hello",
    body: { agent_version: expect.any(String), active_deployments: [], capacity_mb: 4096, address: "127.0.0.1", containers: report },
  });
  expect(hub.of("heartbeat")[0]!.body).toEqual({ running: 1 });
  expect(hub.rejected).toEqual([]);
  expect(client.connected).toBe(true);
  await client.stop();
  server.stop(true);
});

test("jobs are dispatched; statuses and logs come back signed; forged messages are dropped", async () => {
  const { hub, server, url } = fakeHub();
  const calls: string[] = [];
  const client = new HubClient({ config: await config(url), tasks: fakeTasks(calls), heartbeatMs: 10_000 });
  clients.push(client);
  await client.start();
  await until(() => hub.of("hello").length === 1);

  // Forged: right shape, wrong key. Replayed: the same envelope twice.
  hub.sendRaw(JSON.stringify(seal(macKeyFromApiKey("f".repeat(64)), "job.deploy", { ...deployJob, deployment_id: "forged" })));
  const env = JSON.stringify(seal(macKeyFromApiKey(hub.apiKey), "job.deploy", deployJob));
  hub.sendRaw(env);
  hub.sendRaw(env);
  hub.sendRaw("not json");
  await until(() => hub.of("job.status").length >= 2);
  await Bun.sleep(150);
  expect(calls).toEqual(["resume wh-d0", "deploy d1"]);
  expect(hub.received.filter((m) => m.type !== "heartbeat").map((m) => [m.type, m.body.status ?? m.body.lines])).toEqual([
    ["hello", undefined],
    ["job.status", "building"],
    ["log", ["STEP 1/1"]],
    ["job.status", "running"],
  ]);
  await client.stop();
  server.stop(true);
});

test("a stop cancels the running deploy of the same deployment, then runs", async () => {
  const { hub, server, url } = fakeHub();
  const calls: string[] = [];
  const client = new HubClient({ config: await config(url), tasks: fakeTasks(calls), heartbeatMs: 10_000 });
  clients.push(client);
  await client.start();
  await until(() => hub.of("hello").length === 1);
  hub.send("job.deploy", { ...deployJob, project_name: "slow" });
  await until(() => calls.length === 2);
  hub.send("job.stop", { deployment_id: "d1" });
  await until(() => hub.of("job.status").length >= 3);
  expect(calls).toEqual(["resume wh-d0", "deploy d1", "stop d1"]);
  expect(hub.of("job.status").map((m) => m.body.status)).toEqual(["building", "failed", "stopped"]);
  await client.stop();
  server.stop(true);
});

test("after a dropped connection it reconnects, says hello again (with deploys in flight) and resends", async () => {
  const { hub, server, url } = fakeHub();
  const calls: string[] = [];
  const client = new HubClient({ config: await config(url), tasks: fakeTasks(calls), heartbeatMs: 10_000 });
  clients.push(client);
  await client.start();
  await until(() => hub.of("hello").length === 1);
  hub.send("job.deploy", { ...deployJob, project_name: "slow" });
  await until(() => hub.of("job.status").length === 1);
  hub.sockets[0]!.close(4000, "replaced");
  await until(() => hub.of("hello").length === 2);
  expect(hub.of("hello")[1]!.body.active_deployments).toEqual(["d1"]);
  await until(() => hub.of("job.status").length === 2);
  expect(hub.of("job.status")[1]!.body.status).toBe("running");
  // The token was still fresh: no second login was needed.
  expect(hub.authHeaders).toEqual(["Bearer jwt-1", "Bearer jwt-1"]);
  await client.stop();
  server.stop(true);
});

test("a later start logs in with the stored identity; a refused login is fatal", async () => {
  const { hub, server, url } = fakeHub();
  const cfg = await config(url);
  const first = new HubClient({ config: cfg, tasks: fakeTasks([]) });
  await first.start();
  await until(() => hub.of("hello").length === 1);
  await first.stop();

  const second = new HubClient({ config: { ...cfg, workerSecret: undefined }, tasks: fakeTasks([]) });
  clients.push(second);
  await second.start();
  await until(() => hub.of("hello").length === 2);
  expect(hub.registrations).toBe(1);
  expect(hub.logins).toBe(1);
  await second.stop();

  hub.deleted = true;
  let fatal: FatalError | undefined;
  const third = new HubClient({ config: cfg, tasks: fakeTasks([]), onFatal: (e) => (fatal = e) });
  clients.push(third);
  await third.start();
  await until(() => fatal !== undefined);
  expect(fatal!.message).toMatch(/refused worker .* probably deleted/);
  server.stop(true);
});

test("tokens near expiry are refreshed and handed to the socket", async () => {
  const { hub, server, url } = fakeHub();
  // Expires in 2 min + 5 s: the refresh timer fires after its 5 s floor.
  hub.tokenTtlMs = 2 * 60_000 + 5_100;
  const client = new HubClient({ config: await config(url), tasks: fakeTasks([]), heartbeatMs: 10_000 });
  clients.push(client);
  await client.start();
  await until(() => hub.of("auth.refresh").length === 1, 10_000);
  expect(hub.refreshes).toBe(1);
  expect(hub.of("auth.refresh")[0]!.body).toEqual({ token: "jwt-2" });
  await client.stop();
  server.stop(true);
}, 15_000);

test("without state and without a secret, start() says what is missing", async () => {
  const client = new HubClient({ config: await config("http://127.0.0.1:9", null), tasks: fakeTasks([]) });
  expect(client.start()).rejects.toThrow(/WH_WORKER_SECRET/);
});

test("a wrong cluster secret is fatal", async () => {
  const { server, url } = fakeHub();
  let fatal: FatalError | undefined;
  const client = new HubClient({ config: await config(url, "wrong"), tasks: fakeTasks([]), onFatal: (e) => (fatal = e) });
  clients.push(client);
  await client.start();
  await until(() => fatal !== undefined);
  expect(fatal!.message).toMatch(/registration refused.*401.*wrong cluster secret/);
  server.stop(true);
});

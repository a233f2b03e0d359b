/**
 * Stats, metrics, usage and quotas against real PostgreSQL: stats messages
 * through the hub socket and through onStats with chosen times (so every
 * figure can be worked out by hand), series from raw samples and both
 * rollups, usage as JSON and CSV, retention, and each quota refusing with a
 * 403 that names the limit and the figure, creating nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { freshDatabase, postgresAvailable } from "./helpers/db";
import { ensureBaseImage, podmanAvailable, podmanEnv, removeWorkerContainers } from "./helpers/podman";
import { makeAppRepo } from "./helpers/gitrepo";
import { AGENT, binariesBuilt, CONTROL_PLANE, freePort, launch, until, type Proc } from "./helpers/processes";
import { missingPart } from "./helpers/require";
import { startTestApp, type TestApp } from "./helpers/app";
import { macKeyFromApiKey, seal, type MessageBody } from "../src/protocol/hub";
import { onStats, runRetention } from "../src/metrics/service";

const skip = missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable());

const MiB = 1024 * 1024;
const HOUR = 3600_000;
type Stats = MessageBody<"stats">;
type Sample = Stats["samples"][number];

const host = (cpu = 10): Sample["host"] => ({ cpu_percent: cpu, mem_used_bytes: 4e9, mem_total_bytes: 8e9, disk_used_bytes: 50e9, disk_total_bytes: 100e9 });
const container = (deployment_id: string, cpu: number, memMiB: number, rx: number, tx: number, restarts = 0) => ({
  deployment_id,
  cpu_percent: cpu,
  mem_bytes: memMiB * MiB,
  mem_limit_bytes: 64 * MiB,
  net_rx_bytes: rx,
  net_tx_bytes: tx,
  blk_read_bytes: 0,
  blk_write_bytes: 4096,
  restarts,
});
const sumOf = (rows: Record<string, number>[], k: string) => rows.reduce((a, r) => a + r[k]!, 0);

describe.skipIf(skip)("metrics and usage", () => {
  let t: TestApp;
  let admin: { id: string; token: string };
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let workerId = "";
  let p1 = "";
  let p2 = "";
  let d1 = "";
  let d2 = "";
  // An hour boundary an hour ago, so the samples straddle it and all are within 24 h.
  const B = Math.floor(Date.now() / HOUR) * HOUR - HOUR;

  beforeAll(async () => {
    t = await startTestApp();
    admin = await t.userWithToken("admin@example.com", "admin", "admin");
    alice = await t.userWithToken("alice@example.com");
    bob = await t.userWithToken("bob@example.com");
    workerId = (await t.sql<{ id: string }[]>`
      INSERT INTO workers (name, api_key_hash, capacity_mb, status) VALUES ('w1', ${"0".repeat(64)}, 4096, 'online') RETURNING id`)[0]!.id;
    const mk = async (token: string, name: string) => (await t.call("POST", "/v1/projects", { token, body: { name, repo_url: "https://git.example.com/x.git", memory_mb: 64 } })).json.id as string;
    p1 = await mk(alice.token, "alice-app");
    p2 = await mk(bob.token, "bob-app");
    const dep = async (p: string) =>
      (await t.sql<{ id: string }[]>`INSERT INTO deployments (project_id, status, worker_id, reserved_mb) VALUES (${p}, 'running', ${workerId}, 0) RETURNING id`)[0]!.id;
    d1 = await dep(p1);
    d2 = await dep(p2);
  });
  afterAll(async () => t?.close());

  // alice's d1: six samples 10 s apart across the hour boundary B, in two messages;
  // the network counter drops at B (the container restarted).
  const firstBody = (): Stats => ({
    samples: [
      { at: B - 30_000, host: host(10), containers: [container(d1, 50, 10, 1000, 100), container(d2, 10, 5, 100, 10)] },
      { at: B - 20_000, host: host(20), containers: [container(d1, 50, 20, 3000, 300)] },
      { at: B - 10_000, host: host(30), containers: [container(d1, 100, 30, 6000, 600)] },
    ],
  });
  const secondBody = (): Stats => ({
    samples: [
      { at: B, host: host(40), containers: [container(d1, 100, 40, 500, 50, 1)] },
      { at: B + 10_000, host: host(50), containers: [container(d1, 20, 10, 1500, 150, 1)] },
      { at: B + 20_000, host: host(60), containers: [container(d1, 20, 10, 2500, 250, 1)] },
    ],
  });

  test("a stats message through the hub socket is stored, rollups included", async () => {
    const apiKey = randomBytes(32).toString("hex");
    const base = t.listen();
    const reg = await fetch(base + "/v1/workers/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ secret: t.config.workerSecret, api_key: apiKey, name: "hub-w", capacity: 2048 }),
    });
    const { worker_id, token } = (await reg.json()) as { worker_id: string; token: string };
    const key = macKeyFromApiKey(apiKey);
    const ws = new WebSocket(base.replace("http", "ws") + "/v1/workers/ws", { headers: { authorization: `Bearer ${token}` } } as never);
    await new Promise((r) => ws.addEventListener("open", r));
    ws.send(JSON.stringify(seal(key, "hello", { agent_version: "test", active_deployments: [], capacity_mb: 2048, address: "127.0.0.1", containers: [] })));
    const until = async (cond: () => Promise<boolean>) => {
      for (let i = 0; i < 100 && !(await cond()); i++) await Bun.sleep(30);
      return cond();
    };
    expect(await until(async () => (await t.sql`SELECT status FROM workers WHERE id = ${worker_id}`)[0]!.status === "online")).toBe(true);
    const p = (await t.call("POST", "/v1/projects", { token: alice.token, body: { name: "hub-app", repo_url: "https://git.example.com/h.git" } })).json.id;
    const d = (await t.sql<{ id: string }[]>`INSERT INTO deployments (project_id, status, worker_id) VALUES (${p}, 'running', ${worker_id}) RETURNING id`)[0]!.id;
    const now = Date.now();
    ws.send(
      JSON.stringify(
        seal(key, "stats", {
          samples: [
            { at: now - 10_000, host: host(5), containers: [container(d, 25, 8, 100, 200)] },
            { at: now, host: host(6), containers: [container(d, 25, 8, 300, 500), container(d1, 99, 1, 1, 1)] },
          ],
        }),
      ),
    );
    expect(await until(async () => (await t.sql`SELECT count(*)::int AS n FROM container_samples WHERE deployment_id = ${d}`)[0]!.n === 2)).toBe(true);
    // d1 isn't on this worker: dropped.
    expect((await t.sql`SELECT count(*)::int AS n FROM container_samples WHERE deployment_id = ${d1}`)[0]!.n).toBe(0);
    expect((await t.sql`SELECT count(*)::int AS n FROM host_samples WHERE worker_id = ${worker_id}`)[0]!.n).toBe(2);
    const [hour] = await t.sql`SELECT samples, seconds, cpu_seconds, net_rx_bytes::int AS rx, net_tx_bytes::int AS tx FROM container_rollups WHERE step_s = 3600 AND deployment_id = ${d}`;
    expect(hour).toEqual({ samples: 2, seconds: 20, cpu_seconds: 5, rx: 300, tx: 500 });
    ws.close();
  });

  test("one stats message is one INSERT statement", async () => {
    const statements: string[] = [];
    const spy = postgres(t.config.WH_DATABASE_URL!, { max: 1, onnotice: () => {}, debug: (_c, q) => statements.push(q) });
    try {
      const r = await onStats({ sql: spy }, workerId, firstBody(), B);
      expect(r).toEqual({ hosts: 3, containers: 4 });
    } finally {
      await spy.end();
    }
    // Besides postgres.js's own type lookup on connecting: the deployments/previous-sample read, then one write.
    const ours = statements.filter((q) => !q.includes("pg_catalog"));
    expect(ours).toHaveLength(2);
    expect(ours[0]).toMatch(/^\s*SELECT d\.id/);
    expect(ours[1]).toMatch(/^\s*WITH\s+hs AS \(\s*INSERT INTO host_samples/);
    expect(ours[1]).toContain("INSERT INTO container_samples");
    expect(ours[1]!.match(/INSERT INTO/g)).toHaveLength(4); // raw and rollups, hosts and containers, one statement
  });

  test("a resent message counts once; the second continues from the stored samples", async () => {
    expect(await onStats(t.ctx, workerId, firstBody(), B)).toEqual({ hosts: 0, containers: 0 });
    expect(await onStats(t.ctx, workerId, secondBody(), B + 21_000)).toEqual({ hosts: 3, containers: 3 });
    const rows = await t.sql<{ at: Date; interval_s: number; cpu_seconds: number; net_rx_delta: string }[]>`
      SELECT at, interval_s, cpu_seconds, net_rx_delta FROM container_samples WHERE deployment_id = ${d1} ORDER BY at`;
    expect(rows.map((r) => [r.interval_s, r.cpu_seconds, Number(r.net_rx_delta)])).toEqual([
      [10, 5, 1000],
      [10, 5, 2000],
      [10, 10, 3000],
      [10, 10, 500], // the counter went back: restarted, counted from zero
      [10, 2, 1000],
      [10, 2, 1000],
    ]);
  });

  test("samples too old, too far ahead, or of unknown deployments are dropped", async () => {
    const now = Date.now();
    const r = await onStats(t.ctx, workerId, {
      samples: [
        { at: now - 2 * HOUR, host: host(), containers: [container(d1, 1, 1, 1, 1)] },
        { at: now + 10 * 60_000, host: host(), containers: [container(d1, 1, 1, 1, 1)] },
        { at: now, host: host(), containers: [container("not-a-uuid", 1, 1, 1, 1), container("00000000-0000-4000-8000-000000000000", 1, 1, 1, 1)] },
      ],
    });
    expect(r).toEqual({ hosts: 1, containers: 0 });
  });

  test("usage: per project per hour, hours sum to the totals; members see their own", async () => {
    const q = `from=${new Date(B - HOUR).toISOString()}&to=${new Date(B + HOUR).toISOString()}`;
    const mine = await t.call("GET", `/v1/usage?${q}`, { token: alice.token });
    expect(mine.status).toBe(200);
    expect(mine.json.users).toBeUndefined();
    const rows = mine.json.rows.filter((r: { project_id: string }) => r.project_id === p1);
    expect(mine.json.rows.every((r: { owner_id: string }) => r.owner_id === alice.id)).toBe(true);
    expect(rows.map((r: { hour: string }) => r.hour)).toEqual([new Date(B - HOUR).toISOString(), new Date(B).toISOString()]);
    expect(rows[0]).toEqual({
      hour: new Date(B - HOUR).toISOString(),
      project_id: p1,
      project_name: "alice-app",
      owner_id: alice.id,
      cpu_seconds: 20,
      memory_limit_mb_hours: 0.5333,
      memory_mb_hours: 0.1667,
      net_rx_bytes: 6000,
      net_tx_bytes: 600,
      build_minutes: 0,
      container_hours: 0.0083,
    });
    expect(rows[1]).toMatchObject({ cpu_seconds: 14, net_rx_bytes: 2500, net_tx_bytes: 250, memory_mb_hours: 0.1667, container_hours: 0.0083 });
    for (const k of ["cpu_seconds", "memory_limit_mb_hours", "memory_mb_hours", "net_rx_bytes", "net_tx_bytes", "build_minutes", "container_hours"])
      expect(mine.json.total[k]).toBeCloseTo(sumOf(mine.json.rows, k), 6);
    expect(mine.json.projects.find((p: { project_id: string }) => p.project_id === p1)).toMatchObject({ cpu_seconds: 34, net_rx_bytes: 8500 });

    // Another user's project is a 404; admins see everyone with totals per user, or one user.
    expect((await t.call("GET", `/v1/usage?project=${p2}`, { token: alice.token })).status).toBe(404);
    const all = await t.call("GET", `/v1/usage?${q}`, { token: admin.token });
    expect(new Set(all.json.rows.map((r: { owner_id: string }) => r.owner_id))).toEqual(new Set([alice.id, bob.id]));
    const bobTotals = all.json.users.find((u: { user_id: string }) => u.user_id === bob.id);
    expect(bobTotals).toMatchObject({ email: "bob@example.com", cpu_seconds: 1, net_rx_bytes: 100 });
    const onlyBob = await t.call("GET", `/v1/usage?${q}&user=${bob.id}`, { token: admin.token });
    expect(onlyBob.json.rows.map((r: { project_id: string }) => r.project_id)).toEqual([p2]);
    // A member's ?user is ignored: still only their own.
    const sneaky = await t.call("GET", `/v1/usage?${q}&user=${bob.id}`, { token: alice.token });
    expect(sneaky.json.rows.every((r: { owner_id: string }) => r.owner_id === alice.id)).toBe(true);
    expect((await t.call("GET", `/v1/usage?from=2020-01-02T00:00:00Z&to=2020-01-01T00:00:00Z`, { token: alice.token })).status).toBe(400);
    expect((await t.call("GET", `/v1/usage?project=nope`, { token: alice.token })).status).toBe(400);
  });

  test("usage: build minutes split across the hours a build spans; stop/start doesn't add any", async () => {
    await t.sql`INSERT INTO build_usage (deployment_id, project_id, owner_id, started_at, finished_at)
      VALUES (gen_random_uuid(), ${p1}, ${alice.id}, ${new Date(B - 10 * 60_000)}, ${new Date(B + 5 * 60_000)})`;
    const q = `from=${new Date(B - HOUR).toISOString()}&to=${new Date(B + HOUR).toISOString()}&project=${p1}`;
    const r = await t.call("GET", `/v1/usage?${q}`, { token: alice.token });
    expect(r.json.rows.map((x: { build_minutes: number }) => x.build_minutes)).toEqual([10, 5]);
    expect(r.json.total.build_minutes).toBe(15);

    // The trigger: a build is recorded from building to starting; a later stop and start leaves it alone.
    const p3 = (await t.call("POST", "/v1/projects", { token: alice.token, body: { name: "alice-builds", repo_url: "https://git.example.com/b.git" } })).json.id;
    const d3 = (await t.sql<{ id: string }[]>`INSERT INTO deployments (project_id) VALUES (${p3}) RETURNING id`)[0]!.id;
    await t.sql`UPDATE deployments SET status = 'building', building_at = now() WHERE id = ${d3}`;
    const [open] = await t.sql`SELECT finished_at FROM build_usage WHERE deployment_id = ${d3}`;
    expect(open).toEqual({ finished_at: null });
    await t.sql`UPDATE deployments SET status = 'starting', starting_at = now() WHERE id = ${d3}`;
    const [done] = await t.sql<{ finished_at: Date }[]>`SELECT finished_at FROM build_usage WHERE deployment_id = ${d3}`;
    expect(done!.finished_at).toBeInstanceOf(Date);
    for (const s of ["running", "stopped", "starting", "running"]) await t.sql`UPDATE deployments SET status = ${s} WHERE id = ${d3}`;
    const [after] = await t.sql<{ finished_at: Date }[]>`SELECT finished_at FROM build_usage WHERE deployment_id = ${d3}`;
    expect(after!.finished_at.getTime()).toBe(done!.finished_at.getTime());
    // Deleting the project mid-build closes the build; its usage stays.
    await t.sql`UPDATE deployments SET status = 'building' WHERE id = ${d3}`;
    expect((await t.call("DELETE", `/v1/projects/${p3}`, { token: alice.token })).status).toBe(204);
    expect((await t.sql`SELECT count(*)::int AS n FROM build_usage WHERE project_id = ${p3} AND finished_at IS NULL`)[0]!.n).toBe(0);
    expect((await t.sql`SELECT count(*)::int AS n FROM build_usage WHERE project_id = ${p3}`)[0]!.n).toBe(1);
  });

  test("usage as CSV: a header, one line per project-hour, the same figures", async () => {
    const q = `from=${new Date(B - HOUR).toISOString()}&to=${new Date(B + HOUR).toISOString()}&project=${p1}`;
    const json = (await t.call("GET", `/v1/usage?${q}`, { token: alice.token })).json;
    const csv = await t.call("GET", `/v1/usage?${q}&format=csv`, { token: alice.token });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toStartWith("text/csv");
    expect(csv.headers.get("content-disposition")).toMatch(/^attachment; filename="usage-.+\.csv"$/);
    const lines = csv.text.trimEnd().split("\r\n");
    expect(lines[0]).toBe("hour,project_id,project_name,owner_id,cpu_seconds,memory_limit_mb_hours,memory_mb_hours,net_rx_bytes,net_tx_bytes,build_minutes,container_hours");
    expect(lines).toHaveLength(json.rows.length + 1);
    expect(lines[1]).toBe(`${new Date(B - HOUR).toISOString()},${p1},alice-app,${alice.id},20,0.5333,0.1667,6000,600,10,0.0083`);
  });

  test("project metrics: the same figures from raw samples, minute and hour rollups", async () => {
    const get = (q: string, token = alice.token) => t.call("GET", `/v1/projects/${p1}/metrics?${q}`, { token });
    const raw = await get(`from=${new Date(B - 60_000).toISOString()}&to=${new Date(B + 30_000).toISOString()}&step=10s`);
    expect(raw.status).toBe(200);
    expect(raw.json).toMatchObject({ project_id: p1, step: 10, source: "raw", limits: { memory_bytes: 64 * MiB, cpus: 0.5 } });
    expect(raw.json.t).toHaveLength(9);
    expect(raw.json.t[0]).toBe((B - 60_000) / 1000);
    expect(raw.json.series.cpu_percent).toEqual([null, null, null, 50, 50, 100, 100, 20, 20]);
    expect(raw.json.series.mem_bytes).toEqual([null, null, null, 10 * MiB, 20 * MiB, 30 * MiB, 40 * MiB, 10 * MiB, 10 * MiB]);
    expect(raw.json.series.net_rx_bytes_per_s).toEqual([null, null, null, 100, 200, 300, 50, 100, 100]);
    expect(raw.json.series.restarts).toEqual([null, null, null, 0, 0, 0, 1, 1, 1]);
    expect(raw.json.totals).toEqual({ cpu_seconds: 34, net_rx_bytes: 8500, net_tx_bytes: 850, container_seconds: 60 });

    const minute = await get(`from=${new Date(B - 120_000).toISOString()}&to=${new Date(B + 60_000).toISOString()}&step=1m`);
    expect(minute.json).toMatchObject({ step: 60, source: "minute" });
    expect(minute.json.series.cpu_percent).toEqual([null, 66.667, 46.667]);
    expect(minute.json.series.mem_limit_bytes).toEqual([null, 64 * MiB, 64 * MiB]);
    expect(minute.json.series.cpu_percent_max).toEqual([null, 100, 100]);
    expect(minute.json.totals).toEqual(raw.json.totals);

    const hour = await get(`from=${new Date(B - HOUR).toISOString()}&to=${new Date(B + HOUR).toISOString()}&step=1h`);
    expect(hour.json).toMatchObject({ step: 3600, source: "hour" });
    expect(hour.json.totals).toEqual(raw.json.totals);

    // Default window: the last hour, at an automatic step.
    const auto = await get("");
    expect(auto.status).toBe(200);
    expect(auto.json.t.length).toBeLessThanOrEqual(361);

    expect((await get("", bob.token)).status).toBe(404);
    expect((await get("step=3x")).status).toBe(400);
    expect((await get("step=10s&from=2020-01-01T00:00:00Z&to=2020-01-10T00:00:00Z")).json.source).toBe("hour");
    expect((await get(`from=${new Date(B).toISOString()}&to=${new Date(B - 1000).toISOString()}`)).status).toBe(400);
    const tooMany = await get(`from=${new Date(Date.now() - 20 * HOUR).toISOString()}&step=10s`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.error.message).toMatch(/^step: .*at most 1500/);
  });

  test("worker metrics (admin): host series, latest sample and the containers on it", async () => {
    const r = await t.call("GET", `/v1/workers/${workerId}/metrics?from=${new Date(B - 60_000).toISOString()}&to=${new Date(B + 60_000).toISOString()}&step=1m`, { token: admin.token });
    expect(r.status).toBe(200);
    expect(r.json.series.cpu_percent).toEqual([20, 50]);
    expect(r.json.series.mem_total_bytes).toEqual([8e9, 8e9]);
    expect(r.json.series.disk_used_bytes).toEqual([50e9, 50e9]);
    // The sample at "now" from the dropped-samples test.
    expect(r.json.latest).toMatchObject({ cpu_percent: 10, mem_used_bytes: 4e9 });
    expect(r.json.containers).toEqual([]);
    await onStats(t.ctx, workerId, { samples: [{ at: Date.now(), host: host(33), containers: [container(d1, 12.5, 9, 9000, 900, 1)] }] });
    const live = await t.call("GET", `/v1/workers/${workerId}/metrics`, { token: admin.token });
    expect(live.json.latest.cpu_percent).toBe(33);
    expect(live.json.containers).toEqual([
      expect.objectContaining({ deployment_id: d1, project_id: p1, project_name: "alice-app", cpu_percent: 12.5, mem_bytes: 9 * MiB, net_rx_bytes: 9000, restarts: 1 }),
    ]);
    expect((await t.call("GET", `/v1/workers/${workerId}/metrics`, { token: alice.token })).status).toBe(403);
    expect((await t.call("GET", `/v1/workers/00000000-0000-4000-8000-000000000000/metrics`, { token: admin.token })).status).toBe(404);
  });

  test("retention: raw 24 h, minute rollups 14 days, hour rollups 400 days", async () => {
    const now = Date.now();
    const days = (n: number) => new Date(now - n * 86400_000);
    const dep = "11111111-1111-4111-8111-111111111111";
    const row = (at: Date) => ({
      deployment_id: dep, at, project_id: p1, owner_id: alice.id, worker_id: workerId, cpu_percent: 1, mem_bytes: 1, mem_limit_bytes: 1,
      net_rx_bytes: 1, net_tx_bytes: 1, blk_read_bytes: 0, blk_write_bytes: 0, restarts: 0, interval_s: 10, cpu_seconds: 0.1,
      net_rx_delta: 1, net_tx_delta: 1, blk_read_delta: 0, blk_write_delta: 0,
    });
    await t.sql`INSERT INTO container_samples ${t.sql([row(days(1.1)), row(days(0.9))])}`;
    const roll = (step: number, bucket: Date) => ({
      step_s: step, bucket, deployment_id: dep, project_id: p1, owner_id: alice.id, worker_id: workerId, samples: 1, seconds: 10, cpu_seconds: 1,
      cpu_percent_max: 1, mem_byte_seconds: 1, mem_limit_byte_seconds: 1, mem_bytes_max: 1, mem_limit_bytes: 1, net_rx_bytes: 1, net_tx_bytes: 1,
      blk_read_bytes: 0, blk_write_bytes: 0, restarts_max: 0,
    });
    await t.sql`INSERT INTO container_rollups ${t.sql([roll(60, days(15)), roll(60, days(13)), roll(3600, days(401)), roll(3600, days(399))])}`;
    const deleted = await runRetention(t.ctx, now, 1);
    expect(deleted["container_samples"]).toBe(1);
    expect(deleted["container_rollups:60"]).toBe(1);
    expect(deleted["container_rollups:3600"]).toBe(1);
    const left = await t.sql<{ n: number }[]>`
      SELECT (SELECT count(*) FROM container_samples WHERE deployment_id = ${dep})::int
        + (SELECT count(*) FROM container_rollups WHERE deployment_id = ${dep})::int AS n`;
    expect(left[0]!.n).toBe(3);
    // Everything the other tests wrote is recent and stays.
    expect((await t.sql`SELECT count(*)::int AS n FROM container_samples WHERE deployment_id = ${d1}`)[0]!.n).toBe(7);
  });
});

describe.skipIf(skip)("quotas", () => {
  let t: TestApp;
  let admin: { id: string; token: string };
  let carol: { id: string; token: string };
  const count = async (table: "projects" | "deployments") => (await t.sql`SELECT count(*)::int AS n FROM ${t.sql(table)}`)[0]!.n as number;
  const create = (name: string, memory_mb = 128, token = carol.token) =>
    t.call("POST", "/v1/projects", { token, body: { name, repo_url: "https://git.example.com/q.git", memory_mb } });
  const setQuota = (body: Record<string, unknown>, token = admin.token) => t.call("PUT", `/v1/users/${carol.id}/quota`, { token, body });

  beforeAll(async () => {
    t = await startTestApp();
    admin = await t.userWithToken("admin@example.com", "admin", "admin");
    carol = await t.userWithToken("carol@example.com");
  });
  afterAll(async () => t?.close());

  test("no quota: nothing is limited; only admins set quotas", async () => {
    expect((await create("c-one")).status).toBe(201);
    const mine = await t.call("GET", "/v1/quota", { token: carol.token });
    expect(mine.json).toEqual({
      user_id: carol.id,
      limits: { max_projects: null, max_app_memory_mb: null, max_total_memory_mb: null, max_concurrent_builds: null },
      current: { projects: 1, largest_app_memory_mb: 128, total_memory_mb: 128, concurrent_builds: 0 },
      updated_at: null,
    });
    expect((await setQuota({ max_projects: 1 }, carol.token)).status).toBe(403);
    expect((await t.call("GET", `/v1/users/${carol.id}/quota`, { token: carol.token })).status).toBe(403);
    expect((await setQuota({ max_projects: -1 })).status).toBe(400);
    expect((await setQuota({ max_projects: 1, surprise: 2 })).status).toBe(400);
    expect((await t.call("PUT", `/v1/users/00000000-0000-4000-8000-000000000000/quota`, { token: admin.token, body: {} })).status).toBe(404);
  });

  test("max_projects: the next project is refused with the limit and the figure, and not created", async () => {
    const set = await setQuota({ max_projects: 1 });
    expect(set.status).toBe(200);
    expect(set.json.limits).toEqual({ max_projects: 1, max_app_memory_mb: null, max_total_memory_mb: null, max_concurrent_builds: null });
    const before = await count("projects");
    const r = await create("c-two");
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe("quota_exceeded");
    expect(r.json.error.message).toBe("quota max_projects exceeded: 1 project in use, the limit is 1");
    expect(await count("projects")).toBe(before);
    // The admin's own projects are not carol's quota.
    expect((await create("admin-app", 128, admin.token)).status).toBe(201);
  });

  test("max_app_memory_mb: on create and when raising memory; lowering is fine", async () => {
    await setQuota({ max_app_memory_mb: 256 });
    const before = await count("projects");
    const r = await create("c-big", 512);
    expect(r.status).toBe(403);
    expect(r.json.error.message).toBe("quota max_app_memory_mb exceeded: 512 MB for one app, the limit is 256 MB per app");
    expect(await count("projects")).toBe(before);
    const [p] = (await t.call("GET", "/v1/projects", { token: carol.token })).json.projects;
    const patch = await t.call("PATCH", `/v1/projects/${p.id}`, { token: carol.token, body: { memory_mb: 300, branch: "dev" } });
    expect(patch.status).toBe(403);
    expect(patch.json.error.message).toMatch(/^quota max_app_memory_mb exceeded: 300 MB/);
    const unchanged = (await t.call("GET", `/v1/projects/${p.id}`, { token: carol.token })).json;
    expect({ memory_mb: unchanged.memory_mb, branch: unchanged.branch }).toEqual({ memory_mb: 128, branch: "main" });
    expect((await t.call("PATCH", `/v1/projects/${p.id}`, { token: carol.token, body: { memory_mb: 256 } })).status).toBe(200);
    // Another user's project stays a 404, never a quota answer.
    const other = (await t.call("GET", "/v1/projects", { token: admin.token })).json.projects.find((x: { name: string }) => x.name === "admin-app");
    expect((await t.call("PATCH", `/v1/projects/${other.id}`, { token: carol.token, body: { memory_mb: 4096 } })).status).toBe(404);
  });

  test("max_total_memory_mb: the sum over the user's apps", async () => {
    await setQuota({ max_total_memory_mb: 384 });
    const before = await count("projects");
    const r = await create("c-more", 256);
    expect(r.status).toBe(403);
    expect(r.json.error.message).toBe("quota max_total_memory_mb exceeded: 256 MB in use by your apps, 512 MB with this change, the limit is 384 MB");
    expect(await count("projects")).toBe(before);
    expect((await create("c-fits", 128)).status).toBe(201);
    const view = (await t.call("GET", `/v1/users/${carol.id}/quota`, { token: admin.token })).json;
    expect(view.current).toMatchObject({ projects: 2, total_memory_mb: 384, largest_app_memory_mb: 256 });
  });

  test("max_concurrent_builds: deploys and rollbacks past the limit are refused, nothing queued", async () => {
    await setQuota({ max_concurrent_builds: 1 });
    const [p] = (await t.call("GET", "/v1/projects", { token: carol.token })).json.projects;
    const first = await t.call("POST", `/v1/projects/${p.id}/deployments`, { token: carol.token });
    expect(first.status).toBe(202);
    const before = await count("deployments");
    const second = await t.call("POST", `/v1/projects/${p.id}/deployments`, { token: carol.token });
    expect(second.status).toBe(403);
    expect(second.json.error.message).toBe("quota max_concurrent_builds exceeded: 1 build queued or running, the limit is 1");
    await t.sql`UPDATE deployments SET commit_sha = ${"a".repeat(40)} WHERE id = ${first.json.id}`;
    const rollback = await t.call("POST", `/v1/deployments/${first.json.id}/redeploy`, { token: carol.token });
    expect(rollback.status).toBe(403);
    expect(rollback.json.error.message).toMatch(/^quota max_concurrent_builds exceeded/);
    expect(await count("deployments")).toBe(before);
    // Once the build is over, the next one may start.
    await t.sql`UPDATE deployments SET status = 'failed' WHERE id = ${first.json.id}`;
    expect((await t.call("POST", `/v1/projects/${p.id}/deployments`, { token: carol.token })).status).toBe(202);
  });

  test("a lowered limit blocks deploys of an app over it; clearing the quota lifts everything", async () => {
    await setQuota({ max_app_memory_mb: 128 });
    const big = (await t.call("GET", "/v1/projects", { token: carol.token })).json.projects.find((x: { memory_mb: number }) => x.memory_mb === 256);
    const r = await t.call("POST", `/v1/projects/${big.id}/deployments`, { token: carol.token });
    expect(r.status).toBe(403);
    expect(r.json.error.message).toBe("quota max_app_memory_mb exceeded: 256 MB for one app, the limit is 128 MB per app");
    expect((await t.call("DELETE", `/v1/users/${carol.id}/quota`, { token: admin.token })).status).toBe(204);
    expect((await t.call("POST", `/v1/projects/${big.id}/deployments`, { token: carol.token })).status).toBe(202);
    expect((await create("c-free", 4096)).status).toBe(201);
    const audits = await t.sql`SELECT action FROM audit_events WHERE action LIKE 'quota.%' ORDER BY id`;
    expect(audits.map((a) => a.action)).toContain("quota.clear");
  });
});

const skipE2e =
  skip ||
  missingPart("podman with /bin/busybox", podmanAvailable()) ||
  missingPart("the compiled binaries in dist/ (bun run build)", binariesBuilt());

/**
 * The real thing: the compiled control plane and agent, real podman and git.
 * A deployed app under HTTP load shows up in usage and metrics with non-zero
 * figures that agree: CPU-seconds never go down from one stats batch to the
 * next, and the hour rows add up to the totals.
 */
describe.skipIf(skipE2e)("metrics end to end: a running app under load", () => {
  const apiPort = freePort();
  const ingressPort = freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const workerName = `mx-${randomBytes(3).toString("hex")}`;
  const project = `mx-${randomBytes(3).toString("hex")}`;
  const dataDir = mkdtempSync(join(tmpdir(), "wh-mx-cp-"));
  const agentDir = mkdtempSync(join(tmpdir(), "wh-mx-agent-"));
  const repo = makeAppRepo("metrics\n");
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let server: Proc;
  let agent: Proc;
  let token = "";

  const call = async (path: string, method = "GET", body?: unknown) => {
    const res = await fetch(api + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, json: text.startsWith("{") ? JSON.parse(text) : undefined, text };
  };

  beforeAll(async () => {
    ensureBaseImage();
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
    const secret = /WH_WORKER_SECRET=(\S+)/.exec(await server.waitFor(/WH_WORKER_SECRET=\S+/))![1]!;
    Bun.spawnSync([CONTROL_PLANE, "admin", "create", "--email", "ops@example.com"], { env: { ...process.env, ...env } });
    token = Bun.spawnSync([CONTROL_PLANE, "token", "create", "--email", "ops@example.com", "--name", "mx"], { env: { ...process.env, ...env } }).stdout.toString().trim();
    agent = launch([AGENT], {
      ...podmanEnv,
      WH_HUB_URL: api,
      WH_WORKER_SECRET: secret,
      WH_WORKER_NAME: workerName,
      WH_WORKER_STATE_DIR: agentDir,
      WH_WORKER_MEMORY_MB: "1024",
    });
    await agent.waitFor(/hub: connected/, 30_000);
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    removeWorkerContainers(workerName);
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(agentDir, { recursive: true, force: true });
    rmSync(repo.dir, { recursive: true, force: true });
  });

  test("usage and metrics are non-zero and consistent", async () => {
    const created = await call("/v1/projects", "POST", { name: project, repo_url: `file://${repo.dir}`, memory_mb: 64, cpus: 0.5 });
    expect(created.status).toBe(201);
    const projectId = created.json.id;
    const dep = await call(`/v1/projects/${projectId}/deployments`, "POST");
    const d = await until(
      "the deployment to settle",
      async () => {
        const x = (await call(`/v1/deployments/${dep.json.id}`)).json;
        return ["running", "failed"].includes(x.status) ? x : null;
      },
      90_000,
    ).catch((e) => {
      throw new Error(`${e.message}\n--- control plane:\n${server.output()}\n--- agent:\n${agent.output()}`);
    });
    expect(d.status).toBe("running");

    // HTTP load through the ingress while the agent samples.
    let loading = true;
    let served = 0;
    const load = Promise.all(
      Array.from({ length: 6 }, async () => {
        while (loading) {
          const r = await fetch(`http://127.0.0.1:${ingressPort}/`, { headers: { host: `${project}.localhost:${ingressPort}` } }).catch(() => null);
          if (r?.status === 200) served++;
          await r?.text();
        }
      }),
    );

    const from = new Date(Date.now() - 3600_000).toISOString();
    const usage = async () => (await call(`/v1/usage?project=${projectId}&from=${from}`)).json;
    const seen: number[] = [];
    let batches = 0;
    try {
      // Until three stats batches held the container (each batch adds 10 container-seconds).
      await until(
        "three stats batches with the container",
        async () => {
          const u = await usage();
          seen.push(u.total.cpu_seconds);
          batches = Math.round(u.total.container_hours * 360);
          return batches >= 3;
        },
        60_000,
        1000,
      );
    } finally {
      loading = false;
      await load;
    }
    expect(served).toBeGreaterThan(100);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);

    const u = await usage();
    expect(u.total.cpu_seconds).toBeGreaterThan(0);
    expect(u.total.cpu_seconds).toBeGreaterThanOrEqual(seen.at(-1)!);
    expect(u.total.net_rx_bytes).toBeGreaterThan(0);
    expect(u.total.net_tx_bytes).toBeGreaterThan(0);
    expect(u.total.memory_mb_hours).toBeGreaterThan(0);
    // Build minutes: the deployment's building_at → starting_at.
    expect(u.total.build_minutes).toBeCloseTo((Date.parse(d.starting_at) - Date.parse(d.building_at)) / 60_000, 3);
    // The limit held is the project's 64 MB for every container-hour.
    expect(u.total.memory_limit_mb_hours / u.total.container_hours).toBeCloseTo(64, 0);
    expect(u.total.memory_mb_hours).toBeLessThan(u.total.memory_limit_mb_hours);
    for (const k of ["cpu_seconds", "memory_limit_mb_hours", "memory_mb_hours", "net_rx_bytes", "net_tx_bytes", "build_minutes", "container_hours"])
      expect(u.total[k]).toBeCloseTo(sumOf(u.rows, k), 6);

    // The chart series agree with usage: raw 10 s points, at least two of them with the container.
    const m = (await call(`/v1/projects/${projectId}/metrics?from=${from}&step=10s`)).json;
    expect(m.source).toBe("raw");
    const points = m.series.cpu_percent.filter((v: number | null) => v !== null);
    expect(points.length).toBeGreaterThanOrEqual(2);
    expect(m.series.mem_bytes.some((v: number | null) => v !== null && v > 0)).toBe(true);
    expect(m.series.net_tx_bytes_per_s.some((v: number | null) => v !== null && v > 0)).toBe(true);
    const after = await usage();
    expect(m.totals.cpu_seconds).toBeGreaterThan(0);
    expect(m.totals.cpu_seconds).toBeGreaterThanOrEqual(u.total.cpu_seconds - 0.01);
    expect(m.totals.cpu_seconds).toBeLessThanOrEqual(after.total.cpu_seconds + 0.01);

    // The worker's page: host figures and the container on it.
    const workers = (await call("/v1/workers")).json.workers;
    const w = (await call(`/v1/workers/${workers[0].id}/metrics`)).json;
    expect(w.latest.mem_total_bytes).toBeGreaterThan(0);
    expect(w.latest.disk_total_bytes).toBeGreaterThan(0);
    expect(w.series.cpu_percent.some((v: number | null) => v !== null)).toBe(true);
    expect(w.containers.map((c: { deployment_id: string }) => c.deployment_id)).toContain(dep.json.id);
  }, 150_000);
});

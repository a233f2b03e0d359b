/**
 * Placement against a real PostgreSQL: with no room a deployment waits in
 * `pending` with a clear reason, and is placed (and its job sent) as soon as room appears.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { startTestApp, type TestApp } from "./helpers/app";
import { createScheduler } from "../src/scheduler/service";
import { onJobStatus } from "../src/deployments/lifecycle";
import { macKeyFromApiKey, NonceCache, open } from "../src/protocol/hub";

const skip = missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable());

describe.skipIf(skip)("scheduler", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  test("no room: pending with a reason; room appears: placed and dispatched", async () => {
    const u = await t.userWithToken("s@example.com");
    const [w] = await t.sql<{ id: string }[]>`INSERT INTO workers (name, api_key_hash, capacity_mb, status, online_since)
      VALUES ('small', ${"a".repeat(64)}, 128, 'online', now() - interval '1 hour') RETURNING id`;
    const sent: string[] = [];
    t.ctx.hub.attach(w!.id, { send: (d: string) => void sent.push(d), close() {} }, macKeyFromApiKey("k"), Date.now() + 60_000);
    const statuses: string[] = [];
    t.ctx.events.on("deployment", (e) => void statuses.push(e.status));
    const p = await t.call("POST", "/v1/projects", { token: u.token, body: { name: "big", repo_url: "https://x.example/r", memory_mb: 512 } });
    const d = await t.call("POST", `/v1/projects/${p.json.id}/deployments`, { token: u.token });
    const scheduler = createScheduler(t.ctx);
    try {
      await scheduler.run();
      const waiting = (await t.call("GET", `/v1/deployments/${d.json.id}`, { token: u.token })).json;
      expect(waiting).toMatchObject({ status: "pending", worker_id: null, pending_reason: "waiting for an online worker with 512 MB free" });
      expect(statuses).toContain("pending");
      expect(sent).toEqual([]);
      await t.sql`UPDATE workers SET capacity_mb = 1024 WHERE id = ${w!.id}`;
      await scheduler.run();
      const placed = (await t.call("GET", `/v1/deployments/${d.json.id}`, { token: u.token })).json;
      expect(placed).toMatchObject({ status: "queued", worker_id: w!.id, pending_reason: null });
      expect(sent).toHaveLength(1);
      const job = open(macKeyFromApiKey("k"), sent[0]!, new NonceCache());
      expect(job).toMatchObject({ ok: true, type: "job.deploy", body: { deployment_id: d.json.id, memory_mb: 512, epoch: 1 } });
      expect((await t.sql`SELECT allocated_mb FROM workers WHERE id = ${w!.id}`)[0]!.allocated_mb).toBe(512);
    } finally {
      scheduler.stop();
      t.ctx.hub.closeAll();
    }
  });

  test("Stop then Start at once: the late answer to the stop doesn't undo the start", async () => {
    const u = await t.userWithToken("r@example.com");
    const [w] = await t.sql<{ id: string }[]>`INSERT INTO workers (name, api_key_hash, capacity_mb, status, online_since)
      VALUES ('racer', ${"b".repeat(64)}, 4096, 'online', now() - interval '1 hour') RETURNING id`;
    t.ctx.hub.attach(w!.id, { send: () => {}, close() {} }, macKeyFromApiKey("k2"), Date.now() + 60_000);
    try {
      const p = await t.call("POST", "/v1/projects", { token: u.token, body: { name: "racy", repo_url: "https://x.example/r", memory_mb: 64 } });
      const [d] = await t.sql<{ id: string }[]>`INSERT INTO deployments (project_id, status, worker_id, reserved_mb, host_port, running_at)
        VALUES (${p.json.id}, 'running', ${w!.id}, 64, 41234, now()) RETURNING id`;
      await t.sql`UPDATE projects SET current_deployment_id = ${d!.id} WHERE id = ${p.json.id}`;
      await t.sql`UPDATE workers SET allocated_mb = 64 WHERE id = ${w!.id}`;
      expect((await t.call("POST", `/v1/projects/${p.json.id}/stop`, { token: u.token })).status).toBe(200);
      expect((await t.call("POST", `/v1/projects/${p.json.id}/start`, { token: u.token })).status).toBe(200);
      await onJobStatus(t.ctx, w!.id, { deployment_id: d!.id, status: "stopped" });
      expect((await t.sql`SELECT status FROM deployments WHERE id = ${d!.id}`)[0]!.status).toBe("starting");
      await onJobStatus(t.ctx, w!.id, { deployment_id: d!.id, status: "running", host_port: 41234, container_id: "c" });
      expect((await t.sql`SELECT status FROM deployments WHERE id = ${d!.id}`)[0]!.status).toBe("running");
      expect((await t.sql`SELECT allocated_mb FROM workers WHERE id = ${w!.id}`)[0]!.allocated_mb).toBe(64);
    } finally {
      t.ctx.hub.closeAll();
    }
  });
});

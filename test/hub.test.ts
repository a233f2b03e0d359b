/**
 * The worker protocol over a real socket: registration, login, token refresh
 * and the envelope rules. Each forgery must be refused and change nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { startTestApp, type TestApp } from "./helpers/app";
import { macKeyFromApiKey, seal, MAX_CLOCK_SKEW_MS } from "../src/protocol/hub";
import { deriveKey } from "../src/crypto";

const skip = missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable());

describe.skipIf(skip)("hub protocol", () => {
  let t: TestApp;
  let base = "";
  const apiKey = randomBytes(32).toString("hex");
  const key = macKeyFromApiKey(apiKey);
  let workerId = "";
  let token = "";

  beforeAll(async () => {
    t = await startTestApp();
    base = t.listen();
  });
  afterAll(async () => t?.close());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(base + path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

  test("a wrong cluster secret can't register; the right one can", async () => {
    const bad = await post("/v1/workers/register", { secret: "wrong", api_key: apiKey, name: "w1", capacity: 1024 });
    expect(bad.status).toBe(401);
    expect((await t.sql`SELECT count(*)::int AS n FROM workers`)[0]!.n).toBe(0);
    const ok = await post("/v1/workers/register", { secret: t.config.workerSecret, api_key: apiKey, name: "w1", capacity: 1024 });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { worker_id: string; token: string; expires_at: number };
    workerId = body.worker_id;
    token = body.token;
    expect(body.expires_at - Date.now()).toBeGreaterThan(14 * 60_000);
    const [row] = await t.sql<{ api_key_hash: string }[]>`SELECT api_key_hash FROM workers WHERE id = ${workerId}`;
    expect(row!.api_key_hash).not.toBe(apiKey);
    expect(row!.api_key_hash).toHaveLength(64);
  });

  test("login needs the right api key; refresh needs a valid token", async () => {
    expect((await post("/v1/workers/login", { worker_id: workerId, api_key: "x".repeat(64) })).status).toBe(401);
    expect((await post("/v1/workers/login", { worker_id: workerId, api_key: apiKey })).status).toBe(200);
    expect((await post("/v1/workers/refresh-token", {}, { authorization: "Bearer nope" })).status).toBe(401);
    expect((await post("/v1/workers/refresh-token", {}, { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  function connect(jwt: string): Promise<{ ws: WebSocket; opened: boolean; closed: Promise<number> }> {
    return new Promise((resolve) => {
      const ws = new WebSocket(base.replace("http", "ws") + "/v1/workers/ws", { headers: { authorization: `Bearer ${jwt}` } } as never);
      const closed = new Promise<number>((r) => ws.addEventListener("close", (e) => r(e.code)));
      ws.addEventListener("open", () => resolve({ ws, opened: true, closed }));
      ws.addEventListener("error", () => resolve({ ws, opened: false, closed }));
    });
  }

  const lastHeartbeat = async () =>
    (await t.sql<{ last_heartbeat: Date | null }[]>`SELECT last_heartbeat FROM workers WHERE id = ${workerId}`)[0]!.last_heartbeat?.getTime() ?? 0;
  const waitFor = async (cond: () => Promise<boolean>, ms = 3000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await cond()) return true;
      await Bun.sleep(25);
    }
    return false;
  };

  test("an expired or foreign JWT can't open the socket", async () => {
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(workerId)
      .setIssuer("wisehosting")
      .setAudience("wisehosting-worker")
      .setIssuedAt(Math.floor(Date.now() / 1000) - 1000)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(deriveKey(t.config.masterKey, "worker-jwt"));
    expect((await connect(expired)).opened).toBe(false);
    const foreign = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(workerId)
      .setIssuer("wisehosting")
      .setAudience("wisehosting-worker")
      .setExpirationTime("10m")
      .sign(randomBytes(32));
    expect((await connect(foreign)).opened).toBe(false);
  });

  test("a sealed hello brings the worker online; forged, replayed and stale envelopes change nothing", async () => {
    const c = await connect(token);
    expect(c.opened).toBe(true);
    c.ws.send(JSON.stringify(seal(key, "hello", { agent_version: "test", active_deployments: [], capacity_mb: 2048, address: "127.0.0.1", containers: [] })));
    expect(await waitFor(async () => (await t.sql`SELECT status FROM workers WHERE id = ${workerId}`)[0]!.status === "online")).toBe(true);
    expect((await t.sql`SELECT capacity_mb FROM workers WHERE id = ${workerId}`)[0]!.capacity_mb).toBe(2048);

    const before = await lastHeartbeat();
    await Bun.sleep(20);
    const forged = seal(macKeyFromApiKey("f".repeat(64)), "heartbeat", { running: 0 });
    c.ws.send(JSON.stringify(forged));
    const tampered = { ...seal(key, "heartbeat", { running: 0 }), body: JSON.stringify({ running: 5 }) };
    c.ws.send(JSON.stringify(tampered));
    const stale = seal(key, "heartbeat", { running: 0 }, Date.now() - MAX_CLOCK_SKEW_MS - 5000);
    c.ws.send(JSON.stringify(stale));
    c.ws.send("not json at all");
    await Bun.sleep(300);
    expect(await lastHeartbeat()).toBe(before);

    const good = seal(key, "heartbeat", { running: 0 });
    c.ws.send(JSON.stringify(good));
    expect(await waitFor(async () => (await lastHeartbeat()) > before)).toBe(true);
    const afterGood = await lastHeartbeat();
    await Bun.sleep(20);
    c.ws.send(JSON.stringify(good)); // the same envelope again: a replayed nonce
    await Bun.sleep(300);
    expect(await lastHeartbeat()).toBe(afterGood);

    // A hello through a forged envelope can't change capacity.
    c.ws.send(JSON.stringify(seal(macKeyFromApiKey("f".repeat(64)), "hello", { agent_version: "x", active_deployments: [], capacity_mb: 99999, address: "10.6.6.6", containers: [] })));
    await Bun.sleep(200);
    expect((await t.sql`SELECT capacity_mb, address FROM workers WHERE id = ${workerId}`)[0]).toEqual({ capacity_mb: 2048, address: "127.0.0.1" });

    c.ws.close();
    expect(await waitFor(async () => (await t.sql`SELECT status FROM workers WHERE id = ${workerId}`)[0]!.status === "offline")).toBe(true);
  });

  test("a deleted worker can't log in or refresh", async () => {
    const admin = await t.userWithToken("admin@example.com", "admin", "admin");
    expect((await t.call("DELETE", `/v1/workers/${workerId}`, { token: admin.token })).status).toBe(204);
    expect((await post("/v1/workers/login", { worker_id: workerId, api_key: apiKey })).status).toBe(401);
    expect((await post("/v1/workers/refresh-token", {}, { authorization: `Bearer ${token}` })).status).toBe(401);
    expect((await connect(token)).opened).toBe(false);
  });

  test("bad register bodies are 400", async () => {
    for (const body of [{}, { secret: t.config.workerSecret, api_key: "short", name: "w2", capacity: 1 }, { secret: t.config.workerSecret, api_key: apiKey, name: "-bad", capacity: 1 }, { secret: t.config.workerSecret, api_key: apiKey, name: "w2", capacity: -5 }])
      expect((await post("/v1/workers/register", body)).status).toBe(400);
    expect((await t.sql`SELECT count(*)::int AS n FROM workers`)[0]!.n).toBe(0);
  });
});

/**
 * The built-in ingress against real upstream servers on loopback: HTTP with
 * forwarded headers and streaming bodies, WebSocket upgrades both ways, 404 for
 * unknown hosts and 502 when the app is gone.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { startTestApp, type TestApp } from "./helpers/app";
import { freePort } from "./helpers/processes";
import { startIngress } from "../src/ingress/service";

const skip = missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable());

describe.skipIf(skip)("built-in ingress", () => {
  let t: TestApp;
  let ingress: ReturnType<typeof startIngress>;
  let upstream: ReturnType<typeof Bun.serve>;
  const port = freePort();

  beforeAll(async () => {
    t = await startTestApp({ WH_INGRESS_LISTEN: `127.0.0.1:${port}`, WH_APPS_DOMAIN: "apps.test" });
    upstream = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req, srv) {
        if (srv.upgrade(req, { data: undefined })) return undefined;
        const url = new URL(req.url);
        if (url.pathname === "/echo") return new Response(req.body, { headers: { "x-got-method": req.method } });
        return Response.json({
          path: url.pathname + url.search,
          xff: req.headers.get("x-forwarded-for"),
          proto: req.headers.get("x-forwarded-proto"),
          host: req.headers.get("x-forwarded-host"),
        });
      },
      websocket: {
        message(ws, msg) {
          ws.send(typeof msg === "string" ? `echo:${msg}` : msg);
        },
      },
    });
    const owner = await t.userWithToken("o@example.com");
    const [w] = await t.sql`INSERT INTO workers (name, api_key_hash, capacity_mb, address, status) VALUES ('w', 'x', 1024, '127.0.0.1', 'online') RETURNING id`;
    for (const [name, hostPort] of [["live", upstream.port!], ["gone", freePort()]] as const) {
      const [p] = await t.sql`INSERT INTO projects (owner_id, name, repo_url) VALUES (${owner.id}, ${name}, 'https://x.example/r') RETURNING id`;
      const [d] = await t.sql`INSERT INTO deployments (project_id, status, worker_id, host_port) VALUES (${p!.id}, 'running', ${w!.id}, ${hostPort}) RETURNING id`;
      await t.sql`UPDATE projects SET current_deployment_id = ${d!.id} WHERE id = ${p!.id}`;
    }
    ingress = startIngress(t.ctx);
    await ingress.reload();
  });
  afterAll(async () => {
    ingress?.stop();
    upstream?.stop(true);
    await t?.close();
  });

  const get = (host: string, path = "/", init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), host } });

  test("proxies by Host with path, query and X-Forwarded-*", async () => {
    const r = await get(`live.apps.test:${port}`, "/a/b?c=1");
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ path: "/a/b?c=1", xff: "127.0.0.1", proto: "http", host: `live.apps.test:${port}` });
  });

  test("request bodies stream through", async () => {
    const body = "x".repeat(200_000);
    const r = await get("live.apps.test", "/echo", { method: "POST", body });
    expect(r.headers.get("x-got-method")).toBe("POST");
    expect((await r.text()).length).toBe(200_000);
  });

  test("unknown hosts get 404, a dead upstream 502", async () => {
    expect((await get("nope.apps.test")).status).toBe(404);
    expect((await get("live.other.test")).status).toBe(404);
    expect((await get("gone.apps.test")).status).toBe(502);
  });

  test("WebSocket upgrades are proxied both ways", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { host: "live.apps.test" } } as never);
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => ws.send("hi");
      ws.onmessage = (e) => {
        got.push(String(e.data));
        if (got.length === 1) ws.send("again");
        else resolve();
      };
      ws.onerror = () => reject(new Error("websocket failed"));
      setTimeout(() => reject(new Error("timeout")), 5000);
    });
    ws.close();
    expect(got).toEqual(["echo:hi", "echo:again"]);
  });

  test("a stopped deployment stops routing on reload", async () => {
    await t.sql`UPDATE deployments SET status = 'stopped' WHERE host_port = ${upstream.port!}`;
    t.ctx.events.emit("routes", {});
    await Bun.sleep(100);
    expect((await get("live.apps.test")).status).toBe(404);
  });
});

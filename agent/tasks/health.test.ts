import { afterAll, expect, test } from "bun:test";
import { probe, waitHealthy } from "./health";
import { healthUrl } from "./context";

let hits = 0;
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch(req) {
    const path = new URL(req.url).pathname;
    if (path === "/warming") return new Response("", { status: ++hits < 3 ? 503 : 200 });
    if (path === "/redirect") return new Response("", { status: 302, headers: { location: "http://127.0.0.1:1/" } });
    if (path === "/always-500") return new Response("", { status: 500 });
    return new Response("", { status: 404 });
  },
});
afterAll(() => server.stop(true));
const base = `http://127.0.0.1:${server.port}`;

test("5xx means not ready; the first 2xx ends the wait", async () => {
  const r = await waitHealthy(`${base}/warming`, { timeoutMs: 5000, intervalMs: 10 });
  expect(r).toEqual({ ok: true, status: 200 });
  expect(hits).toBe(3);
});

test("3xx (not followed) and 4xx mean the app answers", async () => {
  expect(await waitHealthy(`${base}/redirect`, { timeoutMs: 1000, intervalMs: 10 })).toEqual({ ok: true, status: 302 });
  expect(await waitHealthy(`${base}/missing`, { timeoutMs: 1000, intervalMs: 10 })).toEqual({ ok: true, status: 404 });
});

test("gives up after the timeout with the last problem", async () => {
  const r = await waitHealthy(`${base}/always-500`, { timeoutMs: 300, intervalMs: 50 });
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.reason).toContain("last: HTTP 500");
  const closed = await probe("http://127.0.0.1:1/", 500);
  expect("error" in closed).toBe(true);
});

test("stops early when cancelled", async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const t0 = Date.now();
  expect(await waitHealthy(`${base}/always-500`, { timeoutMs: 10_000, intervalMs: 20, signal: ac.signal })).toEqual({
    ok: false,
    reason: "cancelled",
  });
  expect(Date.now() - t0).toBeLessThan(2000);
});

test("healthUrl brackets IPv6", () => {
  expect(healthUrl("10.0.0.5", 4000, "/h?x=1")).toBe("http://10.0.0.5:4000/h?x=1");
  expect(healthUrl("fd00::1", 4000, "/")).toBe("http://[fd00::1]:4000/");
});

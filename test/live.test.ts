/** Server-sent events over real HTTP: a status change reaches an open page within a second, and only its owner's. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { startTestApp, type TestApp } from "./helpers/app";

const skip = missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable());

describe.skipIf(skip)("live events", () => {
  let t: TestApp;
  let base = "";
  beforeAll(async () => {
    t = await startTestApp();
    base = t.listen();
  });
  afterAll(async () => t?.close());

  /** Collects SSE events from /v1/events with the given auth header. */
  async function subscribe(headers: Record<string, string>) {
    const ctl = new AbortController();
    const res = await fetch(`${base}/v1/events`, { headers, signal: ctl.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events: { event: string; data: any; at: number }[] = [];
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buf += value;
          let i;
          while ((i = buf.indexOf("\n\n")) !== -1) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const ev = /^event: (.+)$/m.exec(block)?.[1];
            const data = /^data: (.+)$/m.exec(block)?.[1];
            if (ev && data) events.push({ event: ev, data: JSON.parse(data), at: Date.now() });
          }
        }
      } catch {}
    })();
    return { events, close: () => ctl.abort() };
  }

  test("a deployment status change reaches its owner's open stream within a second, not another user's", async () => {
    const a = await t.userWithToken("a@example.com");
    const b = await t.userWithToken("b@example.com");
    const login = await fetch(`${base}/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "a@example.com", password: "correct horse battery" }),
    });
    const cookie = /wh_session=[^;]+/.exec(login.headers.get("set-cookie") ?? "")![0];
    const sa = await subscribe({ cookie });
    const sb = await subscribe({ authorization: `Bearer ${b.token}` });
    await Bun.sleep(100);
    const p = await t.call("POST", "/v1/projects", { token: a.token, body: { name: "live", repo_url: "https://x.example/r" } });
    const sent = Date.now();
    const d = await t.call("POST", `/v1/projects/${p.json.id}/deployments`, { token: a.token });
    const end = Date.now() + 1000;
    while (Date.now() < end && !sa.events.some((e) => e.event === "deployment")) await Bun.sleep(10);
    const got = sa.events.find((e) => e.event === "deployment");
    expect(got?.data).toEqual({ deployment_id: d.json.id, project_id: p.json.id, status: "queued" });
    expect(got!.at - sent).toBeLessThan(1000);
    await Bun.sleep(200);
    expect(sb.events.filter((e) => e.event === "deployment")).toEqual([]);
    expect(sb.events[0]?.event).toBe("hello");
    sa.close();
    sb.close();
  });

  test("no credentials, no stream", async () => {
    expect((await fetch(`${base}/v1/events`)).status).toBe(401);
  });
});

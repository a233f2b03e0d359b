/**
 * Alerts and notifications against real parts: rules and channels over the
 * API (who may see and change what), the SSRF guard, signed webhooks, Slack
 * messages and e-mail through a small real SMTP receiver, the alert lifecycle
 * driven by stats, deployment and worker state, and the outbox (retries,
 * backoff, claims by two senders at once, a restart in between).
 *
 * Then end to end with the compiled binaries and real podman: a crash-looping
 * app fires the crash-loop alert; a webhook receiver gets one correctly signed
 * delivery; with the receiver down the alert resolves, the control plane
 * restarts, the receiver comes back: the delivery still arrives, and every
 * alert transition arrived exactly once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import { freshDatabase, postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { startTestApp, type TestApp } from "./helpers/app";
import { ensureBaseImage, BASE_IMAGE, podmanAvailable, podmanEnv, removeWorkerContainers } from "./helpers/podman";
import { AGENT, binariesBuilt, CONTROL_PLANE, freePort, launch, until, type Proc } from "./helpers/processes";
import { startAlertJobs } from "../src/alerts";
import { checkTarget, nonPublicReason, SsrfError } from "../src/notifications/ssrf";
import { buildMessage, parseSmtpUrl, sendMail } from "../src/notifications/smtp";
import { backoffMs, startOutboxSender } from "../src/notifications/service";
import { enqueue } from "../src/notifications/queries";
import { openDatabase } from "../src/db";
import type { ContainerSample } from "../src/protocol/hub";

const skip = missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable());

// ---- test doubles that are real servers ---------------------------------------

type Received = { headers: Record<string, string>; body: string; json: any; at: number };

/** An HTTP receiver on loopback that records every request; `fail` makes it answer 500. */
function webhookReceiver(port = 0, got: Received[] = []) {
  const state = { fail: 0 };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port,
    async fetch(req) {
      const body = await req.text();
      got.push({ headers: Object.fromEntries(req.headers), body, json: body.startsWith("{") ? JSON.parse(body) : null, at: Date.now() });
      if (state.fail > 0) {
        state.fail--;
        return new Response("not now", { status: 500 });
      }
      return new Response("ok");
    },
  });
  return { got, state, url: `http://127.0.0.1:${server.port}/hook`, port: server.port!, stop: () => server.stop(true) };
}

type Mail = { from: string; to: string[]; data: string };

/** A tiny SMTP server speaking what our client sends: EHLO, MAIL, RCPT, DATA, QUIT. */
function smtpReceiver() {
  const mails: Mail[] = [];
  type S = { buf: string; data: string[] | null; from: string; to: string[] };
  const server = Bun.listen<S>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { buf: "", data: null, from: "", to: [] };
        s.write("220 test.example ESMTP ready\r\n");
      },
      data(s: Socket<S>, chunk) {
        s.data.buf += chunk.toString();
        let i: number;
        while ((i = s.data.buf.indexOf("\r\n")) >= 0) {
          const line = s.data.buf.slice(0, i);
          s.data.buf = s.data.buf.slice(i + 2);
          if (s.data.data) {
            if (line === ".") {
              mails.push({ from: s.data.from, to: s.data.to, data: s.data.data.join("\r\n") });
              s.data.data = null;
              s.data.to = [];
              s.write("250 2.0.0 queued\r\n");
            } else s.data.data.push(line.startsWith("..") ? line.slice(1) : line);
            continue;
          }
          const verb = line.split(/[ :]/)[0]!.toUpperCase();
          if (verb === "EHLO") s.write("250-test.example greets you\r\n250-8BITMIME\r\n250 SIZE 1048576\r\n");
          else if (verb === "MAIL") (s.data.from = /<(.*)>/.exec(line)![1]!), s.write("250 2.1.0 ok\r\n");
          else if (verb === "RCPT") s.data.to.push(/<(.*)>/.exec(line)![1]!), s.write("250 2.1.5 ok\r\n");
          else if (verb === "DATA") (s.data.data = []), s.write("354 end with <CRLF>.<CRLF>\r\n");
          else if (verb === "QUIT") s.write("221 bye\r\n"), s.end();
          else s.write("502 5.5.2 not implemented\r\n");
        }
      },
    },
  });
  return { mails, port: server.port, stop: () => server.stop(true) };
}

const sign = (secret: string, body: string) => "sha256=" + createHmac("sha256", secret).update(body).digest("hex");

const sample = (deployment_id: string, over: Partial<ContainerSample> = {}): ContainerSample => ({
  deployment_id,
  cpu_percent: 1,
  mem_bytes: 10 << 20,
  mem_limit_bytes: 256 << 20,
  net_rx_bytes: 0,
  net_tx_bytes: 0,
  blk_read_bytes: 0,
  blk_write_bytes: 0,
  restarts: 0,
  ...over,
});
const host = (disk_used_bytes = 10, disk_total_bytes = 100) => ({ cpu_percent: 5, mem_used_bytes: 1, mem_total_bytes: 2, disk_used_bytes, disk_total_bytes });

// ---- unit: SSRF, SMTP message, backoff -------------------------------------------

describe("SSRF guard", () => {
  test("loopback, private, link-local, unique-local and mapped addresses are not public", () => {
    for (const ip of ["127.0.0.1", "10.2.3.4", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "::", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:7f00:1::1", "ff02::1", "224.0.0.1"])
      expect(nonPublicReason(ip)).not.toBeNull();
    for (const ip of ["8.8.8.8", "1.1.1.1", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) expect(nonPublicReason(ip)).toBeNull();
  });

  test("a name is judged by every address it resolves to, and allowed when the admin says so", async () => {
    const fake = (addrs: string[]) => async () => addrs.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    await expect(checkTarget("https://hooks.example.com/x", false, fake(["93.184.216.34"]))).resolves.toMatchObject({ address: "93.184.216.34" });
    await expect(checkTarget("https://hooks.example.com/x", false, fake(["93.184.216.34", "10.0.0.5"]))).rejects.toThrow(/resolves to 10\.0\.0\.5, which is a private address/);
    await expect(checkTarget("https://rebind.example.com/x", false, fake(["fd12::3"]))).rejects.toThrow(/unique-local/);
    await expect(checkTarget("http://[::1]:8080/", false)).rejects.toThrow(SsrfError);
    await expect(checkTarget("http://localhost:8080/", false)).rejects.toThrow(/loopback/);
    await expect(checkTarget("http://169.254.169.254/latest/meta-data", false)).rejects.toThrow(/link-local/);
    await expect(checkTarget("ftp://example.com/", false)).rejects.toThrow(/http/);
    await expect(checkTarget("http://user:pw@example.com/", false)).rejects.toThrow(/user name/);
    await expect(checkTarget("http://127.0.0.1:9/", true)).resolves.toMatchObject({ address: "127.0.0.1" });
  });
});

describe("SMTP client pieces", () => {
  test("the URL gives host, port, TLS mode and sender", () => {
    expect(parseSmtpUrl("smtp://u%40x:p%3Aw@mail.example.com?from=alerts@example.com")).toMatchObject({
      host: "mail.example.com",
      port: 587,
      secure: false,
      starttls: "auto",
      user: "u@x",
      pass: "p:w",
      from: "alerts@example.com",
    });
    expect(parseSmtpUrl("smtps://mail.example.com", "paas.example.com")).toMatchObject({ port: 465, secure: true, from: "wisehosting@paas.example.com" });
    expect(() => parseSmtpUrl("smtp://h?starttls=maybe")).toThrow(/starttls/);
  });

  test("headers can't be injected; non-ASCII subjects are encoded", () => {
    const cfg = parseSmtpUrl("smtp://h?from=a@example.com");
    const m = buildMessage(cfg, { to: ["b@example.com"], subject: "hi\r\nBcc: evil@example.com", text: "x" });
    expect(m).toContain("Subject: hi Bcc: evil@example.com\r\n");
    expect(m).not.toContain("\r\nBcc:");
    expect(buildMessage(cfg, { to: ["b@example.com"], subject: "crash — ünïcode", text: "x" })).toContain("Subject: =?UTF-8?B?");
  });
});

test("retry delays grow exponentially with jitter, up to the cap", () => {
  const mid = () => 0.5;
  expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, 2000, 15 * 60_000, mid))).toEqual([2000, 4000, 8000, 16000, 32000]);
  expect(backoffMs(30, 2000, 15 * 60_000, mid)).toBe(15 * 60_000);
  expect(backoffMs(1, 2000, 60_000, () => 0)).toBe(1600);
  expect(backoffMs(1, 2000, 60_000, () => 1)).toBe(2400);
});

// ---- in-process: the API, the evaluator and the outbox ----------------------------

describe.skipIf(skip)("alerts and notifications (in-process, real PostgreSQL)", () => {
  let t: TestApp;
  let admin: { id: string; token: string };
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let hook: ReturnType<typeof webhookReceiver>;
  let smtp: ReturnType<typeof smtpReceiver>;
  let jobs: ReturnType<typeof startAlertJobs> | null = null;
  let projectId = "";
  let builtin: Record<string, string> = {};

  beforeAll(async () => {
    smtp = smtpReceiver();
    t = await startTestApp({ WH_ALLOW_PRIVATE_WEBHOOKS: "true", WH_SMTP_URL: `smtp://127.0.0.1:${smtp.port}?from=alerts@example.com` });
    admin = await t.userWithToken("root@example.com", "admin", "admin");
    alice = await t.userWithToken("alice@example.com");
    bob = await t.userWithToken("bob@example.com");
    hook = webhookReceiver();
    const p = await t.call("POST", "/v1/projects", { token: alice.token, body: { name: "shop", repo_url: "https://git.example.com/alice/shop.git", cpus: 0.5 } });
    expect(p.status).toBe(201);
    projectId = p.json.id;
  });
  afterAll(async () => {
    await jobs?.stop();
    hook?.stop();
    smtp?.stop();
    await t?.close();
  });

  const audited = async (action: string, target: string) =>
    (await t.sql`SELECT count(*)::int AS n FROM audit_events WHERE action = ${action} AND target_id = ${target}`)[0]!.n;

  async function runningDeployment(): Promise<string> {
    const [d] = await t.sql<{ id: string }[]>`
      INSERT INTO deployments (project_id, status, reserved_mb, running_at, starting_at, building_at)
      VALUES (${projectId}, 'running', 0, now(), now(), now()) RETURNING id`;
    return d!.id;
  }

  const deliveriesTo = (channelId: string) =>
    t.sql<{ event: string; status: string; attempts: number; idempotency_key: string; payload: any }[]>`
      SELECT event, status, attempts, idempotency_key, payload FROM notification_outbox WHERE channel_id = ${channelId} ORDER BY created_at`;

  test("the migration made the default rules: crash loop, failed deployment, lost domain, offline worker", async () => {
    const r = await t.call("GET", "/v1/alert-rules", { token: admin.token });
    expect(r.status).toBe(200);
    const kinds = r.json.rules.filter((x: any) => x.builtin).map((x: any) => [x.kind, x.project_id, x.enabled]);
    expect(kinds.sort()).toEqual([
      ["crash_loop", null, true],
      ["deployment_failed", null, true],
      ["domain_lost", null, true],
      ["worker_offline", null, true],
    ]);
    builtin = Object.fromEntries(r.json.rules.filter((x: any) => x.builtin).map((x: any) => [x.kind, x.id]));
    expect(r.json.rules.find((x: any) => x.kind === "crash_loop").params).toEqual({ restarts: 3, window_minutes: 5 });
    // A member sees no global rule, and can't read one by id either.
    expect((await t.call("GET", "/v1/alert-rules", { token: alice.token })).json.rules).toEqual([]);
    expect((await t.call("GET", `/v1/alert-rules/${builtin.crash_loop}`, { token: alice.token })).status).toBe(404);
    expect((await t.call("DELETE", `/v1/alert-rules/${builtin.crash_loop}`, { token: admin.token })).status).toBe(409);
  });

  test("rules: global ones are the admin's, project ones the owner's; another user's is 404", async () => {
    const global = await t.call("POST", "/v1/alert-rules", { token: alice.token, body: { kind: "cpu_high", name: "cpu", params: { threshold_percent: 80 } } });
    expect(global.status).toBe(403);
    const mine = await t.call("POST", "/v1/alert-rules", {
      token: alice.token,
      body: { kind: "memory_high", name: "shop memory", project_id: projectId, params: { threshold_percent: 90 } },
    });
    expect(mine.status).toBe(201);
    expect(mine.json).toMatchObject({ kind: "memory_high", project_id: projectId, for_minutes: 0, enabled: true, channel_ids: [], builtin: false });
    const id = mine.json.id;
    // Bob: not his project, not his rule.
    expect((await t.call("POST", "/v1/alert-rules", { token: bob.token, body: { kind: "crash_loop", name: "x", project_id: projectId } })).status).toBe(404);
    expect((await t.call("GET", `/v1/alert-rules/${id}`, { token: bob.token })).status).toBe(404);
    expect((await t.call("PATCH", `/v1/alert-rules/${id}`, { token: bob.token, body: { enabled: false } })).status).toBe(404);
    expect((await t.call("DELETE", `/v1/alert-rules/${id}`, { token: bob.token })).status).toBe(404);
    expect((await t.call("GET", "/v1/alert-rules", { token: bob.token })).json.rules).toEqual([]);
    // The admin sees it among all rules.
    expect((await t.call("GET", "/v1/alert-rules", { token: admin.token })).json.rules.map((r: any) => r.id)).toContain(id);
    // Bad input is a 400 naming the field.
    const bad = [
      { kind: "memory_high", name: "m", project_id: projectId, params: { threshold_percent: 150 } },
      { kind: "memory_high", name: "m", project_id: projectId },
      { kind: "worker_offline", name: "w", project_id: projectId },
      { kind: "crash_loop", name: "c", project_id: projectId, params: { restarts: 0 } },
      { kind: "nope", name: "n" },
      { kind: "crash_loop", name: "c", project_id: projectId, silenced_until: "2001-01-01T00:00:00Z" },
    ];
    for (const body of bad) {
      const r = await t.call("POST", "/v1/alert-rules", { token: alice.token, body });
      expect({ body, status: r.status }).toEqual({ body, status: 400 });
    }
    const patched = await t.call("PATCH", `/v1/alert-rules/${id}`, { token: alice.token, body: { params: { threshold_percent: 95 }, for_minutes: 2 } });
    expect(patched).toMatchObject({ status: 200, json: { params: { threshold_percent: 95 }, for_minutes: 2 } });
    expect((await t.call("PATCH", `/v1/alert-rules/${id}`, { token: alice.token, body: { params: { restarts: 3 } } })).status).toBe(400);
    expect((await t.call("DELETE", `/v1/alert-rules/${id}`, { token: alice.token })).status).toBe(204);
    expect(await audited("alert_rule.create", id)).toBe(1);
    expect(await audited("alert_rule.update", id)).toBe(1);
    expect(await audited("alert_rule.delete", id)).toBe(1);
  });

  test("channels: the webhook secret is shown once and stored encrypted; another user's is 404", async () => {
    const c = await t.call("POST", "/v1/notification-channels", { token: alice.token, body: { kind: "webhook", name: "ops hook", url: hook.url } });
    expect(c.status).toBe(201);
    expect(c.json.secret).toMatch(/^whsec_/);
    const secret = c.json.secret as string;
    const [row] = await t.sql<{ secret_enc: string }[]>`SELECT secret_enc FROM notification_channels WHERE id = ${c.json.id}`;
    expect(row!.secret_enc).toStartWith("v1.");
    expect(row!.secret_enc).not.toContain(secret);
    const read = await t.call("GET", `/v1/notification-channels/${c.json.id}`, { token: alice.token });
    expect(read.json.secret).toBeUndefined();
    expect(read.json.url).toBe(hook.url);
    expect((await t.call("GET", `/v1/notification-channels/${c.json.id}`, { token: bob.token })).status).toBe(404);
    expect((await t.call("POST", `/v1/notification-channels/${c.json.id}/test`, { token: bob.token })).status).toBe(404);
    expect((await t.call("DELETE", `/v1/notification-channels/${c.json.id}`, { token: bob.token })).status).toBe(404);
    expect((await t.call("GET", "/v1/notification-channels", { token: bob.token })).json.channels).toEqual([]);
    // Bob can't attach Alice's channel to a rule of his.
    const bobs = await t.call("POST", "/v1/projects", { token: bob.token, body: { name: "bobs", repo_url: "https://git.example.com/bob/x.git" } });
    const r = await t.call("POST", "/v1/alert-rules", { token: bob.token, body: { kind: "crash_loop", name: "c", project_id: bobs.json.id, channel_ids: [c.json.id] } });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toStartWith("channel_ids:");
    // Slack: the URL is a credential; only its origin is shown.
    const s = await t.call("POST", "/v1/notification-channels", { token: alice.token, body: { kind: "slack", name: "chat", url: `${hook.url}/T000/B000/XXXXSECRET` } });
    expect(s.status).toBe(201);
    expect(s.json.url).toBe(`http://127.0.0.1:${hook.port}/…`);
    expect(JSON.stringify(await t.sql`SELECT * FROM notification_channels WHERE id = ${s.json.id}`)).not.toContain("XXXXSECRET");
    // Fields of another kind are refused; a rotated secret is shown once.
    expect((await t.call("PATCH", `/v1/notification-channels/${s.json.id}`, { token: alice.token, body: { secret: "x".repeat(20) } })).status).toBe(400);
    const rotated = await t.call("PATCH", `/v1/notification-channels/${c.json.id}`, { token: alice.token, body: { rotate_secret: true } });
    expect(rotated.json.secret).toMatch(/^whsec_/);
    expect(rotated.json.secret).not.toBe(secret);
    expect(await audited("notification_channel.create", c.json.id)).toBe(1);
    expect(await audited("notification_channel.update", c.json.id)).toBe(1);
    const audit = await t.sql`SELECT detail::text AS d FROM audit_events WHERE target_id = ${c.json.id}`;
    expect(audit.map((a) => a.d).join(" ")).not.toContain("whsec_");
    for (const id of [c.json.id, s.json.id]) expect((await t.call("DELETE", `/v1/notification-channels/${id}`, { token: alice.token })).status).toBe(204);
    expect(await audited("notification_channel.delete", c.json.id)).toBe(1);
  });

  test("send test: a signed webhook, a Slack message and an e-mail all arrive", async () => {
    const secret = "s3cret-for-the-test-" + randomBytes(4).toString("hex");
    const w = await t.call("POST", "/v1/notification-channels", { token: alice.token, body: { kind: "webhook", name: "w", url: hook.url, secret } });
    expect(w.json.secret).toBe(secret);
    const before = hook.got.length;
    const r = await t.call("POST", `/v1/notification-channels/${w.json.id}/test`, { token: alice.token });
    expect(r).toMatchObject({ status: 200, json: { ok: true, status: 200, error: null } });
    const got = hook.got[before]!;
    expect(got.headers["x-wisehosting-signature-256"]).toBe(sign(secret, got.body));
    expect(got.headers["x-wisehosting-event"]).toBe("test");
    expect(got.headers["content-type"]).toBe("application/json");
    expect(got.json).toMatchObject({ event: "test", alert: null });
    expect(got.headers["x-wisehosting-delivery"]).toBe(got.json.delivery_id);

    const s = await t.call("POST", "/v1/notification-channels", { token: alice.token, body: { kind: "slack", name: "s", url: `${hook.url}/slack` } });
    expect((await t.call("POST", `/v1/notification-channels/${s.json.id}/test`, { token: alice.token })).json.ok).toBe(true);
    expect(hook.got.at(-1)!.json).toEqual({ text: expect.stringContaining("Test notification") });
    expect(hook.got.at(-1)!.headers["x-wisehosting-signature-256"]).toBeUndefined();

    const e = await t.call("POST", "/v1/notification-channels", { token: alice.token, body: { kind: "email", name: "e", to: ["oncall@example.com", "boss@example.com"] } });
    expect(e.status).toBe(201);
    expect(e.json.to).toEqual(["oncall@example.com", "boss@example.com"]);
    expect((await t.call("POST", `/v1/notification-channels/${e.json.id}/test`, { token: alice.token })).json).toMatchObject({ ok: true });
    const mail = smtp.mails.at(-1)!;
    expect(mail.from).toBe("alerts@example.com");
    expect(mail.to).toEqual(["oncall@example.com", "boss@example.com"]);
    expect(mail.data).toContain("Subject: [WiseHosting] Test notification");
    const body = Buffer.from(mail.data.split("\r\n\r\n")[1]!.replace(/\r\n/g, ""), "base64").toString();
    expect(body).toContain('Test notification from WiseHosting for channel "e"');

    // A receiver that fails is reported, not hidden.
    hook.state.fail = 1;
    expect((await t.call("POST", `/v1/notification-channels/${w.json.id}/test`, { token: alice.token })).json).toMatchObject({ ok: false, status: 500, error: "answered 500" });
    for (const id of [w.json.id, s.json.id, e.json.id]) await t.call("DELETE", `/v1/notification-channels/${id}`, { token: alice.token });
  });

  test("SMTP: dot-stuffing survives; STARTTLS required but not offered, or no server at all, is an error", async () => {
    const cfg = parseSmtpUrl(`smtp://127.0.0.1:${smtp.port}?from=a@example.com`);
    await sendMail(cfg, { to: ["x@example.com"], subject: "dots", text: ".leading dot\n..two\nend" });
    const body = Buffer.from(smtp.mails.at(-1)!.data.split("\r\n\r\n")[1]!.replace(/\r\n/g, ""), "base64").toString();
    expect(body).toBe(".leading dot\r\n..two\r\nend");
    await expect(sendMail({ ...cfg, starttls: "required" }, { to: ["x@example.com"], subject: "s", text: "t" })).rejects.toThrow(/STARTTLS/);
    await expect(sendMail({ ...cfg, port: freePort() }, { to: ["x@example.com"], subject: "s", text: "t" })).rejects.toThrow();
  });

  test("crash loop: firing and resolved, each announced exactly once, signed, deduplicated per rule and target", async () => {
    jobs = startAlertJobs(t.ctx, { evalIntervalMs: 3_600_000, pollMs: 50, backoffBaseMs: 100 });
    const secret = "crash-loop-secret-" + randomBytes(4).toString("hex");
    const ch = await t.call("POST", "/v1/notification-channels", { token: admin.token, body: { kind: "webhook", name: "admin hook", url: hook.url, secret } });
    expect((await t.call("PATCH", `/v1/alert-rules/${builtin.crash_loop}`, { token: admin.token, body: { channel_ids: [ch.json.id] } })).json.channel_ids).toEqual([ch.json.id]);
    const dep = await runningDeployment();
    const worker_id = randomUUID();
    const stats = (restarts: number) =>
      t.ctx.events.emit("stats", { worker_id, samples: [{ at: Date.now(), host: host(), containers: [sample(dep, { restarts })] }] });
    stats(0);
    stats(1);
    stats(2);
    await jobs.evaluateNow();
    expect((await t.call("GET", "/v1/alerts", { token: admin.token })).json.alerts).toEqual([]);
    stats(3);
    await jobs.evaluateNow();
    const firing = (await t.call("GET", "/v1/alerts?status=firing", { token: admin.token })).json.alerts;
    expect(firing).toHaveLength(1);
    expect(firing[0]).toMatchObject({ kind: "crash_loop", rule_id: builtin.crash_loop, target_type: "deployment", target_id: dep, project_id: projectId, value: 3 });
    expect(firing[0].target_name).toBe(`shop (deployment ${dep.slice(0, 8)})`);
    expect(firing[0].summary).toContain("restarted 3 times in the last 5 min");
    const alertId = firing[0].id;
    // More restarts, more evaluations: the same alert, last_seen moving, nothing new announced.
    await Bun.sleep(20);
    stats(7);
    await jobs.evaluateNow();
    await jobs.evaluateNow();
    const again = (await t.call("GET", "/v1/alerts", { token: admin.token })).json.alerts;
    expect(again.map((a: any) => a.id)).toEqual([alertId]);
    expect(again[0].value).toBe(7);
    expect(Date.parse(again[0].last_seen)).toBeGreaterThan(Date.parse(again[0].first_seen));
    await until("the firing delivery", async () => hook.got.find((g) => g.json?.transition_id === `${alertId}:firing`), 5000, 20);
    // The project's owner sees it; someone else doesn't.
    expect((await t.call("GET", "/v1/alerts", { token: alice.token })).json.alerts.map((a: any) => a.id)).toEqual([alertId]);
    expect((await t.call("GET", `/v1/alerts/${alertId}`, { token: bob.token })).status).toBe(404);
    expect((await t.call("POST", `/v1/alerts/${alertId}/ack`, { token: bob.token })).status).toBe(404);
    // The owner acknowledges it; the first acknowledgement stands.
    const acked = await t.call("POST", `/v1/alerts/${alertId}/ack`, { token: alice.token });
    expect(acked.json).toMatchObject({ status: "firing", acked_by: alice.id });
    expect((await t.call("POST", `/v1/alerts/${alertId}/ack`, { token: admin.token })).json.acked_by).toBe(alice.id);
    // The deployment stops: resolved.
    await t.sql`UPDATE deployments SET status = 'stopped', stopped_at = now() WHERE id = ${dep}`;
    t.ctx.events.emit("deployment", { deployment_id: dep, project_id: projectId, status: "stopped" });
    await until("resolved", async () => (await t.call("GET", `/v1/alerts/${alertId}`, { token: admin.token })).json.status === "resolved", 5000, 20);
    await until("the resolved delivery", async () => hook.got.find((g) => g.json?.transition_id === `${alertId}:resolved`), 5000, 20);
    await jobs.evaluateNow();
    await Bun.sleep(200);
    const mine = hook.got.filter((g) => g.json?.alert?.id === alertId);
    expect(mine.map((g) => g.json.event)).toEqual(["alert.firing", "alert.resolved"]);
    for (const g of mine) expect(g.headers["x-wisehosting-signature-256"]).toBe(sign(secret, g.body));
    expect(mine[1]!.json.message).toBe("resolved: the deployment is stopped");
    expect(mine[1]!.json.alert).toMatchObject({ status: "resolved", target_id: dep });
    const rows = await deliveriesTo(ch.json.id);
    expect(rows.map((r) => [r.event, r.status, r.attempts])).toEqual([
      ["alert.firing", "delivered", 1],
      ["alert.resolved", "delivered", 1],
    ]);
    expect(rows.map((r) => r.idempotency_key)).toEqual([`alert:${alertId}:firing:${ch.json.id}`, `alert:${alertId}:resolved:${ch.json.id}`]);
    const log = await t.call("GET", `/v1/notification-channels/${ch.json.id}/deliveries`, { token: admin.token });
    expect(log.json.deliveries.map((d: any) => d.status)).toEqual(["delivered", "delivered"]);
  });

  test("CPU above X% for N minutes: pending first, firing after N minutes, resolved when it drops (silenced: nothing sent)", async () => {
    const ch = await t.call("POST", "/v1/notification-channels", { token: alice.token, body: { kind: "webhook", name: "cpu hook", url: hook.url } });
    const rule = await t.call("POST", "/v1/alert-rules", {
      token: alice.token,
      body: { kind: "cpu_high", name: "busy", project_id: projectId, params: { threshold_percent: 80 }, for_minutes: 2, channel_ids: [ch.json.id] },
    });
    expect(rule.status).toBe(201);
    const dep = await runningDeployment();
    const emit = (cpu: number) =>
      t.ctx.events.emit("stats", { worker_id: randomUUID(), samples: [{ at: Date.now(), host: host(), containers: [sample(dep, { cpu_percent: cpu })] }] });
    emit(45); // 90 % of 0.5 CPUs
    await jobs!.evaluateNow();
    const pending = (await t.call("GET", `/v1/alerts?rule=${rule.json.id}`, { token: alice.token })).json.alerts;
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ status: "pending", fired_at: null, value: 90 });
    await jobs!.evaluator.idle();
    await jobs!.evaluator.evaluate(Date.now() + 60_000); // one minute on: still pending
    expect((await t.call("GET", `/v1/alerts/${pending[0].id}`, { token: alice.token })).json.status).toBe("pending");
    // Silence it, then let two minutes pass: it fires, but nothing is sent.
    const until_ = new Date(Date.now() + 3600_000).toISOString();
    expect((await t.call("POST", `/v1/alerts/${pending[0].id}/silence`, { token: alice.token, body: { until: "2000-01-01T00:00:00Z" } })).status).toBe(400);
    expect((await t.call("POST", `/v1/alerts/${pending[0].id}/silence`, { token: alice.token, body: { until: until_ } })).json.silenced_until).toBe(until_);
    await jobs!.evaluator.evaluate(Date.now() + 121_000);
    expect((await t.call("GET", `/v1/alerts/${pending[0].id}`, { token: alice.token })).json).toMatchObject({ status: "firing", fired_at: expect.any(String) });
    emit(10);
    await jobs!.evaluator.evaluate();
    expect((await t.call("GET", `/v1/alerts/${pending[0].id}`, { token: alice.token })).json.status).toBe("resolved");
    expect((await deliveriesTo(ch.json.id)).length).toBe(0);
    expect(await audited("alert.silence", pending[0].id)).toBe(1);
    // A pending alert whose condition ends before it fires announced nothing and leaves nothing behind.
    emit(45);
    await jobs!.evaluator.evaluate();
    expect((await t.call("GET", `/v1/alerts?rule=${rule.json.id}&status=pending`, { token: alice.token })).json.alerts).toHaveLength(1);
    emit(5);
    await jobs!.evaluator.evaluate();
    const all = (await t.call("GET", `/v1/alerts?rule=${rule.json.id}`, { token: alice.token })).json.alerts;
    expect(all.map((a: any) => [a.id, a.status])).toEqual([[pending[0].id, "resolved"]]);
    await t.sql`UPDATE deployments SET status = 'stopped' WHERE id = ${dep}`;
  });

  test("memory above X% of its limit; worker disk above X%", async () => {
    const mem = await t.call("POST", "/v1/alert-rules", {
      token: alice.token,
      body: { kind: "memory_high", name: "mem", project_id: projectId, params: { threshold_percent: 90 } },
    });
    const disk = await t.call("POST", "/v1/alert-rules", { token: admin.token, body: { kind: "worker_disk_high", name: "disk", params: { threshold_percent: 85 } } });
    expect(disk.status).toBe(201);
    const dep = await runningDeployment();
    const [w] = await t.sql<{ id: string }[]>`INSERT INTO workers (name, api_key_hash, capacity_mb, status, last_heartbeat)
      VALUES ('disky', ${"0".repeat(64)}, 1024, 'online', now()) RETURNING id`;
    t.ctx.events.emit("stats", { worker_id: w!.id, samples: [{ at: Date.now(), host: host(95, 100), containers: [sample(dep, { mem_bytes: 250 << 20 })] }] });
    await jobs!.evaluateNow();
    const memAlert = (await t.call("GET", `/v1/alerts?rule=${mem.json.id}`, { token: alice.token })).json.alerts[0];
    expect(memAlert).toMatchObject({ status: "firing", value: 97.7, target_id: dep });
    const diskAlert = (await t.call("GET", `/v1/alerts?rule=${disk.json.id}`, { token: admin.token })).json.alerts[0];
    expect(diskAlert).toMatchObject({ status: "firing", target_type: "worker", target_id: w!.id, target_name: "disky", project_id: null, value: 95 });
    // Worker alerts are for admins.
    expect((await t.call("GET", `/v1/alerts/${diskAlert.id}`, { token: alice.token })).status).toBe(404);
    t.ctx.events.emit("stats", { worker_id: w!.id, samples: [{ at: Date.now(), host: host(50, 100), containers: [sample(dep, { mem_bytes: 20 << 20 })] }] });
    await jobs!.evaluateNow();
    expect((await t.call("GET", `/v1/alerts/${memAlert.id}`, { token: alice.token })).json.status).toBe("resolved");
    expect((await t.call("GET", `/v1/alerts/${diskAlert.id}`, { token: admin.token })).json.status).toBe("resolved");
    // A disabled rule's open alerts resolve.
    t.ctx.events.emit("stats", { worker_id: w!.id, samples: [{ at: Date.now(), host: host(99, 100), containers: [] }] });
    await jobs!.evaluateNow();
    const again = (await t.call("GET", `/v1/alerts?rule=${disk.json.id}&status=open`, { token: admin.token })).json.alerts;
    expect(again).toHaveLength(1);
    await t.call("PATCH", `/v1/alert-rules/${disk.json.id}`, { token: admin.token, body: { enabled: false } });
    await jobs!.evaluateNow();
    expect((await t.call("GET", `/v1/alerts/${again[0].id}`, { token: admin.token })).json).toMatchObject({ status: "resolved", detail: { resolved_reason: "the rule was disabled" } });
    await t.sql`UPDATE deployments SET status = 'stopped' WHERE id = ${dep}`;
    await t.sql`DELETE FROM workers WHERE id = ${w!.id}`;
  });

  test("deployment failed fires for the project; a later running deployment resolves it", async () => {
    const ch = await t.call("POST", "/v1/notification-channels", { token: admin.token, body: { kind: "webhook", name: "failures", url: hook.url } });
    await t.call("PATCH", `/v1/alert-rules/${builtin.deployment_failed}`, { token: admin.token, body: { channel_ids: [ch.json.id] } });
    const [d] = await t.sql<{ id: string }[]>`INSERT INTO deployments (project_id, status, failed_at, error)
      VALUES (${projectId}, 'failed', now(), 'build failed: exit 1') RETURNING id`;
    t.ctx.events.emit("deployment", { deployment_id: d!.id, project_id: projectId, status: "failed" });
    const a = await until("the failure alert", async () => (await t.call("GET", `/v1/alerts?rule=${builtin.deployment_failed}`, { token: alice.token })).json.alerts[0], 5000, 20);
    expect(a).toMatchObject({ status: "firing", target_type: "project", target_id: projectId, target_name: "shop" });
    expect(a.summary).toBe(`deployment ${d!.id.slice(0, 8)} failed: build failed: exit 1`);
    // A second failure: the same alert, updated.
    await Bun.sleep(20);
    const [d2] = await t.sql<{ id: string }[]>`INSERT INTO deployments (project_id, status, failed_at, error)
      VALUES (${projectId}, 'failed', now(), 'again') RETURNING id`;
    await jobs!.evaluateNow();
    const same = (await t.call("GET", `/v1/alerts?rule=${builtin.deployment_failed}`, { token: alice.token })).json.alerts;
    expect(same.map((x: any) => [x.id, x.detail.deployment_id])).toEqual([[a.id, d2!.id]]);
    const ok = await runningDeployment();
    t.ctx.events.emit("deployment", { deployment_id: ok, project_id: projectId, status: "running" });
    await until("resolved", async () => (await t.call("GET", `/v1/alerts/${a.id}`, { token: alice.token })).json.status === "resolved", 5000, 20);
    await until("two deliveries", async () => (await deliveriesTo(ch.json.id)).filter((r) => r.status === "delivered").length === 2, 5000, 20);
    expect((await deliveriesTo(ch.json.id)).map((r) => r.event)).toEqual(["alert.firing", "alert.resolved"]);
    await t.sql`UPDATE deployments SET status = 'stopped' WHERE id = ${ok}`;
  });

  test("domain verification lost fires for the domain; verified again resolves it", async () => {
    const [dom] = await t.sql<{ id: string }[]>`INSERT INTO domains (project_id, hostname, verification_token, status, verified_at, failing_since, last_error)
      VALUES (${projectId}, 'lost.example.com', 'tok', 'verified', now() - interval '2 days', now(), 'no TXT record') RETURNING id`;
    await jobs!.evaluateNow();
    const a = await until("the domain alert", async () => (await t.call("GET", `/v1/alerts?rule=${builtin.domain_lost}`, { token: alice.token })).json.alerts[0], 5000, 20);
    expect(a).toMatchObject({ status: "firing", target_type: "domain", target_id: dom!.id, target_name: "lost.example.com" });
    expect(a.summary).toBe("lost.example.com: verification record missing (no TXT record)");
    await t.sql`UPDATE domains SET failing_since = NULL, last_error = NULL WHERE id = ${dom!.id}`;
    await jobs!.evaluateNow();
    await until("resolved", async () => (await t.call("GET", `/v1/alerts/${a.id}`, { token: alice.token })).json.status === "resolved", 5000, 20);
    await t.sql`DELETE FROM domains WHERE id = ${dom!.id}`;
  });

  test("worker offline: pending for the rule's minutes, then firing; back online resolves", async () => {
    const [w] = await t.sql<{ id: string }[]>`INSERT INTO workers (name, api_key_hash, capacity_mb, status, last_heartbeat)
      VALUES ('w-off', ${"0".repeat(64)}, 1024, 'offline', now() - interval '40 seconds') RETURNING id`;
    t.ctx.events.emit("worker", { worker_id: w!.id, status: "offline" });
    const a = await until("pending", async () => (await t.call("GET", `/v1/alerts?rule=${builtin.worker_offline}`, { token: admin.token })).json.alerts[0], 5000, 20);
    expect(a).toMatchObject({ status: "pending", target_type: "worker", target_name: "w-off" });
    await jobs!.evaluator.idle();
    await jobs!.evaluator.evaluate(Date.now() + 61_000);
    expect((await t.call("GET", `/v1/alerts/${a.id}`, { token: admin.token })).json.status).toBe("firing");
    // A worker that registered but never connected is not "offline" news.
    await t.sql`INSERT INTO workers (name, api_key_hash, capacity_mb, status) VALUES ('never', ${"0".repeat(64)}, 1024, 'offline')`;
    await t.sql`UPDATE workers SET status = 'online', last_heartbeat = now() WHERE id = ${w!.id}`;
    t.ctx.events.emit("worker", { worker_id: w!.id, status: "online" });
    await until("resolved", async () => (await t.call("GET", `/v1/alerts/${a.id}`, { token: admin.token })).json.status === "resolved", 5000, 20);
    expect((await t.call("GET", `/v1/alerts?rule=${builtin.worker_offline}&status=open`, { token: admin.token })).json.alerts).toEqual([]);
    await t.sql`DELETE FROM workers WHERE name IN ('w-off', 'never')`;
  });

  test("the outbox retries with backoff until the receiver takes it, and gives up after 24 hours", async () => {
    await jobs!.stop();
    jobs = null;
    const sender = startOutboxSender(t.ctx, { pollMs: 10, backoffBaseMs: 300 });
    const ch = await t.call("POST", "/v1/notification-channels", { token: admin.token, body: { kind: "webhook", name: "flaky", url: hook.url } });
    const payload = (id: string) => ({ event: "test" as const, delivery_id: id, transition_id: null, at: new Date().toISOString(), alert: null, message: "m" });
    const id = randomUUID();
    hook.state.fail = 2;
    await enqueue(t.sql, { id, idempotency_key: `test:${id}`, channel_id: ch.json.id, alert_id: null, event: "test", payload: payload(id) });
    // The same key again is a no-op.
    expect(await enqueue(t.sql, { id: randomUUID(), idempotency_key: `test:${id}`, channel_id: ch.json.id, alert_id: null, event: "test", payload: payload(id) })).toBe(false);
    await until("delivered", async () => (await t.sql`SELECT status FROM notification_outbox WHERE id = ${id}`)[0]!.status === "delivered", 10_000, 20);
    const got = hook.got.filter((g) => g.json?.delivery_id === id);
    expect(got).toHaveLength(3);
    // Each retry waited longer than the one before (300 ms base, doubled, ±20 %).
    const gaps = [got[1]!.at - got[0]!.at, got[2]!.at - got[1]!.at];
    expect(gaps[0]!).toBeGreaterThanOrEqual(230);
    expect(gaps[1]!).toBeGreaterThanOrEqual(470);
    expect(gaps[1]!).toBeGreaterThan(gaps[0]!);
    expect((await t.sql`SELECT attempts FROM notification_outbox WHERE id = ${id}`)[0]!.attempts).toBe(3);
    // Past give_up_at, one more failure ends it.
    const late = randomUUID();
    await enqueue(t.sql, { id: late, idempotency_key: `test:${late}`, channel_id: ch.json.id, alert_id: null, event: "test", payload: payload(late) });
    await t.sql`UPDATE notification_outbox SET give_up_at = now() - interval '1 second', next_attempt_at = now() + interval '1 hour' WHERE id = ${late}`;
    hook.state.fail = 1;
    await t.sql`UPDATE notification_outbox SET next_attempt_at = now() WHERE id = ${late}`;
    await until("given up", async () => (await t.sql`SELECT status FROM notification_outbox WHERE id = ${late}`)[0]!.status === "failed", 5000, 20);
    expect((await t.sql`SELECT last_error FROM notification_outbox WHERE id = ${late}`)[0]!.last_error).toBe("answered 500");
    await sender.stop();
  });

  test("a sender restart loses nothing; two senders claiming side by side send each delivery once", async () => {
    const down = webhookReceiver();
    const port = down.port;
    down.stop();
    const ch = await t.call("POST", "/v1/notification-channels", { token: admin.token, body: { kind: "webhook", name: "late", url: `http://127.0.0.1:${port}/hook` } });
    const ids = Array.from({ length: 30 }, () => randomUUID());
    for (const id of ids)
      await enqueue(t.sql, {
        id,
        idempotency_key: `test:${id}`,
        channel_id: ch.json.id,
        alert_id: null,
        event: "test",
        payload: { event: "test", delivery_id: id, transition_id: null, at: new Date().toISOString(), alert: null, message: "m" },
      });
    // First sender: the receiver is down, every attempt fails and is rescheduled.
    const first = startOutboxSender(t.ctx, { pollMs: 50, backoffBaseMs: 300, batch: 7 });
    await until("failed attempts", async () => (await t.sql`SELECT count(*)::int AS n FROM notification_outbox WHERE channel_id = ${ch.json.id} AND attempts > 0 AND status = 'pending'`)[0]!.n === 30, 10_000, 20);
    await first.stop();
    // The receiver comes back; two senders (as two control planes would) share the work over two connections.
    const back = webhookReceiver(port);
    const other = await openDatabase({ url: t.config.WH_DATABASE_URL, dataDir: t.config.WH_DATA_DIR });
    const a = startOutboxSender(t.ctx, { pollMs: 20, batch: 3 });
    const b = startOutboxSender({ ...t.ctx, sql: other.sql }, { pollMs: 20, batch: 3 });
    try {
      await until("all delivered", async () => (await t.sql`SELECT count(*)::int AS n FROM notification_outbox WHERE channel_id = ${ch.json.id} AND status = 'delivered'`)[0]!.n === 30, 20_000, 50);
      await Bun.sleep(300);
      const seen = back.got.map((g) => g.json.delivery_id).sort();
      expect(seen).toEqual([...ids].sort());
    } finally {
      await a.stop();
      await b.stop();
      await other.close();
      back.stop();
    }
  });

  test("webhook targets on private addresses are refused when not allowed: at save time and at send time", async () => {
    const strict = await startTestApp();
    try {
      const u = await strict.userWithToken("carol@example.com");
      for (const url of ["http://127.0.0.1:9/x", "http://localhost/x", "http://[::1]/x", "http://169.254.169.254/latest", "http://10.0.0.1/", "http://[fd00::1]/"]) {
        const r = await strict.call("POST", "/v1/notification-channels", { token: u.token, body: { kind: "webhook", name: "x", url } });
        expect({ url, status: r.status, code: r.json.error.code }).toEqual({ url, status: 400, code: "url_refused" });
      }
      expect((await strict.call("POST", "/v1/notification-channels", { token: u.token, body: { kind: "slack", name: "x", url: "http://192.168.1.1/hook" } })).status).toBe(400);
      expect((await strict.sql`SELECT count(*)::int AS n FROM notification_channels`)[0]!.n).toBe(0);
      // E-mail needs WH_SMTP_URL.
      expect((await strict.call("POST", "/v1/notification-channels", { token: u.token, body: { kind: "email", name: "x", to: ["a@example.com"] } })).json.error.code).toBe("smtp_not_configured");
      // A channel whose name later resolves to a private address (here: written straight to the table) is refused at send time.
      const id = randomUUID();
      await strict.sql`INSERT INTO notification_channels (id, owner_id, name, kind, config, secret_enc)
        VALUES (${id}, ${u.id}, 'rebound', 'webhook', ${strict.sql.json({ url: hook.url })}, ${(await import("../src/crypto")).encrypt(strict.config.masterKey, "webhook", "k".repeat(20), id)})`;
      const before = hook.got.length;
      const r = await strict.call("POST", `/v1/notification-channels/${id}/test`, { token: u.token });
      expect(r.json).toMatchObject({ ok: false, status: null });
      expect(r.json.error).toMatch(/^refused: 127\.0\.0\.1 is a loopback address/);
      expect(hook.got.length).toBe(before);
    } finally {
      await strict.close();
    }
  });
});

// ---- end to end: compiled binaries, real podman --------------------------------

const skipE2E =
  skip ||
  missingPart("podman with /bin/busybox", podmanAvailable()) ||
  missingPart("the compiled binaries in dist/ (bun run build)", binariesBuilt());

describe.skipIf(skipE2E)("end to end: a crash-looping app alerts a webhook, exactly once per transition, across a restart", () => {
  const apiPort = freePort();
  const ingressPort = freePort();
  const hookPort = freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const workerName = `alerts-${randomBytes(3).toString("hex")}`;
  const dataDir = mkdtempSync(join(tmpdir(), "wh-alerts-cp-"));
  const agentDir = mkdtempSync(join(tmpdir(), "wh-alerts-agent-"));
  const repoDir = mkdtempSync(join(tmpdir(), "wh-alerts-repo-"));
  const secret = "e2e-webhook-secret-" + randomBytes(6).toString("hex");
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let server: Proc;
  let agent: Proc;
  let env: Record<string, string>;
  let token = "";
  let receiver: ReturnType<typeof webhookReceiver> | null = null;
  const received: Received[] = [];

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(api + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, json: text.startsWith("{") ? JSON.parse(text) : undefined, text };
  };
  const startReceiver = () => {
    receiver = webhookReceiver(hookPort, received); // one record across receiver restarts
  };
  const startServer = async () => {
    server = launch([CONTROL_PLANE, "serve"], env);
    await server.waitFor(/ready in \d+ ms/);
  };
  const diagnostics = () => `\n--- control plane:\n${server?.output().slice(-6000)}\n--- agent:\n${agent?.output().slice(-4000)}`;

  beforeAll(async () => {
    ensureBaseImage();
    db = await freshDatabase();
    env = {
      WH_DATABASE_URL: db.url,
      WH_DATA_DIR: dataDir,
      WH_LISTEN: `127.0.0.1:${apiPort}`,
      WH_INGRESS_LISTEN: `127.0.0.1:${ingressPort}`,
      WH_ALLOW_LOCAL_REPOS: "true",
      WH_ALLOW_PRIVATE_WEBHOOKS: "true",
    };
    await startServer();
    const workerSecret = /WH_WORKER_SECRET=(\S+)/.exec(await server.waitFor(/WH_WORKER_SECRET=\S+/))![1]!;
    Bun.spawnSync([CONTROL_PLANE, "admin", "create", "--email", "ops@example.com"], { env: { ...process.env, ...env } });
    token = Bun.spawnSync([CONTROL_PLANE, "token", "create", "--email", "ops@example.com", "--name", "e2e"], { env: { ...process.env, ...env } }).stdout.toString().trim();
    agent = launch([AGENT], { ...podmanEnv, WH_HUB_URL: api, WH_WORKER_SECRET: workerSecret, WH_WORKER_NAME: workerName, WH_WORKER_STATE_DIR: agentDir, WH_WORKER_MEMORY_MB: "1024" });
    await until("the worker to come online", async () => (await call("GET", "/v1/workers")).json?.workers?.some((w: { status: string }) => w.status === "online"), 30_000).catch((e) => {
      throw new Error(e.message + diagnostics());
    });
    // The app answers HTTP for a few seconds (long enough for the health check), then exits; podman restarts it.
    Bun.spawnSync(["git", "init", "-q", "-b", "main", repoDir]);
    writeFileSync(join(repoDir, "index.html"), "crashy\n");
    writeFileSync(
      join(repoDir, "Containerfile"),
      `FROM ${BASE_IMAGE}\nCOPY index.html /www/index.html\nCMD ["/bin/busybox", "sh", "-c", "/bin/busybox httpd -p 8080 -h /www; /bin/busybox sleep 3; exit 1"]\n`,
    );
    const g = (args: string[]) => Bun.spawnSync(["git", "-C", repoDir, "-c", "user.name=t", "-c", "user.email=t@example.com", ...args]);
    g(["add", "-A"]);
    g(["commit", "-q", "-m", "crashy"]);
  });

  afterAll(async () => {
    receiver?.stop();
    await agent?.stop();
    await server?.stop();
    removeWorkerContainers(workerName);
    await db?.drop();
    for (const d of [dataDir, agentDir, repoDir]) rmSync(d, { recursive: true, force: true });
  });

  test(
    "the crash-loop alert fires and is delivered signed; with the receiver down, a control-plane restart loses nothing",
    async () => {
      startReceiver();
      const ch = await call("POST", "/v1/notification-channels", { kind: "webhook", name: "oncall", url: `http://127.0.0.1:${hookPort}/hook`, secret });
      expect(ch.status).toBe(201);
      const crashRule = (await call("GET", "/v1/alert-rules")).json.rules.find((r: { kind: string; builtin: boolean }) => r.kind === "crash_loop" && r.builtin);
      expect((await call("PATCH", `/v1/alert-rules/${crashRule.id}`, { channel_ids: [ch.json.id] })).status).toBe(200);

      const project = await call("POST", "/v1/projects", { name: `crashy-${randomBytes(2).toString("hex")}`, repo_url: `file://${repoDir}`, memory_mb: 64, cpus: 0.25 });
      expect(project.status).toBe(201);
      const dep = await call("POST", `/v1/projects/${project.json.id}/deployments`);
      const d = await until("the deployment to settle", async () => {
        const x = (await call("GET", `/v1/deployments/${dep.json.id}`)).json;
        return ["running", "failed"].includes(x.status) ? x : null;
      }, 90_000).catch((e) => {
        throw new Error(e.message + diagnostics());
      });
      expect({ status: d.status, error: d.error }).toEqual({ status: "running", error: null });

      // Firing: the alert, then its delivery, signed with the channel's secret.
      const alert = await until("the crash-loop alert to fire", async () => {
        const list = (await call("GET", `/v1/alerts?status=firing&rule=${crashRule.id}`)).json.alerts;
        return list.find((a: { target_id: string }) => a.target_id === dep.json.id);
      }, 60_000).catch((e) => {
        throw new Error(e.message + diagnostics());
      });
      expect(alert.summary).toMatch(/restarted \d+ times in the last 5 min/);
      const firing = await until("the firing delivery", async () => received.find((g) => g.json?.transition_id === `${alert.id}:firing`), 15_000);
      expect(firing.headers["x-wisehosting-signature-256"]).toBe(sign(secret, firing.body));
      expect(firing.headers["x-wisehosting-event"]).toBe("alert.firing");
      expect(firing.json.alert).toMatchObject({ id: alert.id, kind: "crash_loop", target_id: dep.json.id, status: "firing" });

      // The receiver goes away; the app is stopped, so the alert resolves while nobody listens.
      receiver!.stop();
      expect((await call("POST", `/v1/projects/${project.json.id}/stop`)).status).toBe(200);
      await until("the alert to resolve", async () => (await call("GET", `/v1/alerts/${alert.id}`)).json.status === "resolved", 30_000);
      await until("a failed attempt at the resolved delivery", async () => {
        const ds = (await call("GET", `/v1/notification-channels/${ch.json.id}/deliveries`)).json.deliveries;
        return ds.find((x: { event: string; attempts: number; status: string }) => x.event === "alert.resolved" && x.attempts >= 1 && x.status === "pending");
      }, 20_000);

      // Restart the control plane, then bring the receiver back.
      await server.stop();
      await startServer();
      startReceiver();
      const resolved = await until("the resolved delivery after the restart", async () => received.find((g) => g.json?.transition_id === `${alert.id}:resolved`), 60_000).catch((e) => {
        throw new Error(e.message + diagnostics());
      });
      expect(resolved.headers["x-wisehosting-signature-256"]).toBe(sign(secret, resolved.body));
      expect(resolved.json.alert).toMatchObject({ id: alert.id, status: "resolved" });
      await Bun.sleep(3000); // time for any duplicate to show up
      const perTransition = new Map<string, number>();
      for (const g of received) if (g.json?.alert?.id === alert.id) perTransition.set(g.json.transition_id, (perTransition.get(g.json.transition_id) ?? 0) + 1);
      expect(Object.fromEntries(perTransition)).toEqual({ [`${alert.id}:firing`]: 1, [`${alert.id}:resolved`]: 1 });
      const ds = (await call("GET", `/v1/notification-channels/${ch.json.id}/deliveries`)).json.deliveries;
      expect(ds.filter((x: { alert_id: string }) => x.alert_id === alert.id).map((x: { status: string }) => x.status)).toEqual(["delivered", "delivered"]);
    },
    150_000,
  );
});

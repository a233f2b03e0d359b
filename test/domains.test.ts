/**
 * Custom domains against a real DNS server (dnsmasq on loopback, records
 * written by the test): adding with validation, ownership, verification by
 * TXT record (right token, wrong token, none), the background retries with
 * backoff and their end, the daily re-check, unverifying after the grace
 * period, the ask endpoint, routing through the built-in ingress, and the
 * audit trail of every step.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { startTestApp, type TestApp } from "./helpers/app";
import { freePort, until } from "./helpers/processes";
import { dnsmasqAvailable, startDns, type TestDns } from "./helpers/dns";
import { startIngress } from "../src/ingress/service";
import { startDomainJobs } from "../src/domains";

const skip =
  missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable()) ||
  missingPart("dnsmasq (apt-get install dnsmasq)", dnsmasqAvailable());

const HOUR = 3_600_000;

describe.skipIf(skip)("custom domains", () => {
  let t: TestApp;
  let dns: TestDns;
  let ingress: ReturnType<typeof startIngress>;
  let jobs: ReturnType<typeof startDomainJobs>;
  let upstream: ReturnType<typeof Bun.serve>;
  const port = freePort();
  let alice = { id: "", token: "" };
  let bob = { id: "", token: "" };
  let reader = { id: "", token: "" };
  let shopId = "";
  let bobProjectId = "";

  beforeAll(async () => {
    dns = await startDns();
    t = await startTestApp({ WH_DNS_SERVERS: dns.server, WH_APPS_DOMAIN: "apps.test", WH_INGRESS_LISTEN: `127.0.0.1:${port}` });
    upstream = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) =>
        Response.json({ host: req.headers.get("host"), xfh: req.headers.get("x-forwarded-host"), xfp: req.headers.get("x-forwarded-proto"), xff: req.headers.get("x-forwarded-for") }),
    });
    alice = await t.userWithToken("alice@example.com");
    bob = await t.userWithToken("bob@example.com");
    reader = await t.userWithToken("reader@example.com", "member", "read");
    const [w] = await t.sql`INSERT INTO workers (name, api_key_hash, capacity_mb, address, status) VALUES ('w', 'x', 1024, '127.0.0.1', 'online') RETURNING id`;
    for (const [owner, name] of [[alice.id, "shop"], [bob.id, "other"]] as const) {
      const [p] = await t.sql`INSERT INTO projects (owner_id, name, repo_url) VALUES (${owner}, ${name}, 'https://x.example/r') RETURNING id`;
      const [d] = await t.sql`INSERT INTO deployments (project_id, status, worker_id, host_port) VALUES (${p!.id}, 'running', ${w!.id}, ${upstream.port!}) RETURNING id`;
      await t.sql`UPDATE projects SET current_deployment_id = ${d!.id} WHERE id = ${p!.id}`;
      if (name === "shop") shopId = p!.id;
      else bobProjectId = p!.id;
    }
    ingress = startIngress(t.ctx);
    await ingress.reload();
  });
  afterAll(async () => {
    jobs?.stop();
    ingress?.stop();
    upstream?.stop(true);
    await t?.close();
    await dns?.stop();
  });

  const as = (who: { token: string }) => ({
    post: (path: string, body?: unknown) => t.call("POST", path, { token: who.token, body }),
    get: (path: string) => t.call("GET", path, { token: who.token }),
    del: (path: string) => t.call("DELETE", path, { token: who.token }),
  });
  const viaIngress = (host: string) => fetch(`http://127.0.0.1:${port}/`, { headers: { host } });
  const ask = (domain: string) => t.call("GET", `/v1/edge/ask?domain=${encodeURIComponent(domain)}`);
  const row = async (id: string) => (await t.sql`SELECT * FROM domains WHERE id = ${id}`)[0]!;
  const auditOf = async (id: string) =>
    (await t.sql<{ action: string; outcome: string; actor_email: string | null }[]>`SELECT action, outcome, actor_email FROM audit_events WHERE target_id = ${id} ORDER BY at, id`).map((r) => r.action);
  /** Makes a domain's background check due now and waits until the job has run it. */
  const runCheckNow = async (id: string) => {
    const before = (await row(id)).last_checked_at?.getTime() ?? 0;
    await t.sql`UPDATE domains SET next_check_at = now() WHERE id = ${id}`;
    await jobs.tick();
    await until("the background check", async () => ((await row(id)).last_checked_at?.getTime() ?? 0) > before, 10_000, 20).catch(async (e) => {
      throw new Error(`${e.message}; the domain is now ${JSON.stringify(await row(id))}`);
    });
    return row(id);
  };

  test("the routes are in the OpenAPI document", async () => {
    const spec = await t.call("GET", "/v1/openapi.json");
    expect(Object.keys(spec.json.paths)).toEqual(expect.arrayContaining(["/v1/projects/{id}/domains", "/v1/domains/{id}/verify", "/v1/domains/{id}/", "/v1/edge/ask"]));
  });

  test("hostnames are validated and stored as punycode", async () => {
    const api = as(alice);
    for (const [hostname, why] of [
      ["", /hostname/],
      ["https://shop.example.test", /bare host name/],
      ["shop.example.test:443", /bare host name/],
      ["*.example.test", /wildcard domains are not allowed/],
      ["shop.apps.test", /under apps.test/],
      ["apps.test", /under apps.test/],
      ["192.168.1.1", /IP address/],
      ["nodots", /two labels/],
      ["-bad.example.test", /label/],
    ] as const) {
      const r = await api.post(`/v1/projects/${shopId}/domains`, { hostname });
      expect({ hostname, status: r.status }).toEqual({ hostname, status: 400 });
      expect(r.json.error.message).toMatch(why);
    }
    const idn = await api.post(`/v1/projects/${shopId}/domains`, { hostname: "Bücher.Example.test." });
    expect(idn.status).toBe(201);
    expect(idn.json).toMatchObject({ hostname: "xn--bcher-kva.example.test", display_hostname: "bücher.example.test", status: "pending", wildcard: false });
    expect((await api.post(`/v1/projects/${shopId}/domains`, { hostname: "xn--bcher-kva.example.test" })).status).toBe(409);
    expect((await api.del(`/v1/domains/${idn.json.id}`)).status).toBe(204);
    expect((await api.post(`/v1/projects/${shopId}/domains`, { hostname: "x.example.test", extra: 1 })).status).toBe(400);
  });

  let shopDomain = "";
  test("a new domain is pending, with its token, the records to create and a first check scheduled", async () => {
    const r = await as(alice).post(`/v1/projects/${shopId}/domains`, { hostname: "shop.example.test" });
    expect(r.status).toBe(201);
    const d = r.json;
    shopDomain = d.id;
    expect(d.status).toBe("pending");
    expect(d.verification_token).toMatch(/^wh-verify-[0-9a-f]{32}$/);
    expect(d.records).toEqual([
      { type: "TXT", name: "_wisehosting.shop.example.test", value: d.verification_token, purpose: "verification" },
      { type: "CNAME", name: "shop.example.test", value: "shop.apps.test", purpose: "routing" },
    ]);
    expect(d.last_error).toBeNull();
    expect(new Date(d.next_check_at).getTime() - Date.now()).toBeGreaterThan(20_000);
    expect(new Date(d.retry_until).getTime() - Date.now()).toBeGreaterThan(71.9 * HOUR);
    const list = await as(alice).get(`/v1/projects/${shopId}/domains`);
    expect(list.json.domains.map((x: { id: string }) => x.id)).toEqual([d.id]);
    expect((await as(alice).get(`/v1/domains/${d.id}`)).json.id).toBe(d.id);
    // Not routed, and Caddy would be told no.
    expect((await viaIngress("shop.example.test")).status).toBe(404);
    expect((await ask("shop.example.test")).status).toBe(404);
  });

  test("another user's domain and project look like they don't exist; a read token can't change anything", async () => {
    const api = as(bob);
    expect((await api.get(`/v1/domains/${shopDomain}`)).status).toBe(404);
    expect((await api.post(`/v1/domains/${shopDomain}/verify`)).status).toBe(404);
    expect((await api.del(`/v1/domains/${shopDomain}`)).status).toBe(404);
    expect((await api.get(`/v1/projects/${shopId}/domains`)).status).toBe(404);
    expect((await api.post(`/v1/projects/${shopId}/domains`, { hostname: "bob.example.test" })).status).toBe(404);
    expect((await as(reader).post(`/v1/projects/${shopId}/domains`, { hostname: "r.example.test" })).status).toBe(403);
    expect((await t.call("GET", `/v1/domains/${shopDomain}`)).status).toBe(401);
    expect((await as(alice).get(`/v1/domains/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
  });

  test("no record: stays pending with the error; a wrong token doesn't verify", async () => {
    const none = await as(alice).post(`/v1/domains/${shopDomain}/verify`);
    expect(none.status).toBe(200);
    expect(none.json.status).toBe("pending");
    expect(none.json.last_error).toBe("no TXT record found at _wisehosting.shop.example.test");
    expect(none.json.last_checked_at).toBeString();

    await dns.setTxt("_wisehosting.shop.example.test", ["wh-verify-0123456789abcdef0123456789abcdef"]);
    const wrong = await as(alice).post(`/v1/domains/${shopDomain}/verify`);
    expect(wrong.json.status).toBe("pending");
    expect(wrong.json.last_error).toBe("the TXT record at _wisehosting.shop.example.test does not hold this domain's token");
    expect((await viaIngress("shop.example.test")).status).toBe(404);
  });

  test("the right token verifies: it routes through the ingress and the ask endpoint says yes", async () => {
    const d = (await as(alice).get(`/v1/domains/${shopDomain}`)).json;
    await dns.setTxt("_wisehosting.shop.example.test", ["some-other-verification=1", d.verification_token]);
    await dns.setCname("shop.example.test", "shop.apps.test");
    const r = await as(alice).post(`/v1/domains/${shopDomain}/verify`);
    expect(r.json).toMatchObject({ status: "verified", last_error: null, cname_target: "shop.apps.test", failing_since: null });
    // Re-checked daily from now on.
    const next = new Date(r.json.next_check_at).getTime() - Date.now();
    expect(next).toBeGreaterThan(23.9 * HOUR);
    expect(next).toBeLessThanOrEqual(24 * HOUR);
    const res = await viaIngress("shop.example.test");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ xfh: "shop.example.test", xfp: "http", xff: "127.0.0.1" });
    expect((await viaIngress("SHOP.example.test.:80")).status).toBe(200);
    expect((await ask("shop.example.test")).status).toBe(200);
    expect((await ask("SHOP.EXAMPLE.TEST.")).status).toBe(200);
    expect((await ask("shop.apps.test")).status).toBe(200); // the app's own name
    expect((await ask("nope.apps.test")).status).toBe(404);
    expect((await ask("example.test")).status).toBe(404);
    expect((await ask("x.shop.example.test")).status).toBe(404);
    expect((await ask("not a name")).status).toBe(404);
  });

  test("a hostname verified by one user can't be claimed by another; an earlier pending claim can't verify", async () => {
    expect((await as(bob).post(`/v1/projects/${bobProjectId}/domains`, { hostname: "shop.example.test" })).status).toBe(409);
    // Both claim dup.example.test while it is unverified (so nobody can block a name by claiming it first).
    const b = await as(bob).post(`/v1/projects/${bobProjectId}/domains`, { hostname: "dup.example.test" });
    const a = await as(alice).post(`/v1/projects/${shopId}/domains`, { hostname: "dup.example.test" });
    expect([a.status, b.status]).toEqual([201, 201]);
    await dns.setTxt("_wisehosting.dup.example.test", [a.json.verification_token, b.json.verification_token]);
    expect((await as(alice).post(`/v1/domains/${a.json.id}/verify`)).json.status).toBe("verified");
    const late = await as(bob).post(`/v1/domains/${b.json.id}/verify`);
    expect(late.json.status).toBe("pending");
    expect(late.json.last_error).toBe("dup.example.test is already verified by another project");
    expect(await auditOf(b.json.id)).toEqual(["domain.create", "domain.verify_failed"]);
    const res = await (await viaIngress("dup.example.test")).json();
    expect(res.xfh).toBe("dup.example.test");
  });

  test("background retries with backoff, and their end after the retry window", async () => {
    jobs = startDomainJobs(t.ctx, { pollMs: 100 });
    const created = (await as(alice).post(`/v1/projects/${shopId}/domains`, { hostname: "later.example.test" })).json;
    let r = await runCheckNow(created.id);
    expect({ status: r.status, attempts: r.attempts, error: r.last_error }).toEqual({ status: "pending", attempts: 1, error: "no TXT record found at _wisehosting.later.example.test" });
    const delay1 = r.next_check_at.getTime() - r.last_checked_at.getTime();
    expect(delay1).toBeGreaterThan(29_000);
    expect(delay1).toBeLessThan(31_000);
    r = await runCheckNow(created.id);
    const delay2 = r.next_check_at.getTime() - r.last_checked_at.getTime();
    expect(r.attempts).toBe(2);
    expect(delay2).toBeGreaterThan(59_000);
    expect(delay2).toBeLessThan(61_000);
    // Many failures later the delay is capped at an hour.
    await t.sql`UPDATE domains SET attempts = 20 WHERE id = ${created.id}`;
    r = await runCheckNow(created.id);
    expect(Math.round((r.next_check_at.getTime() - r.last_checked_at.getTime()) / 1000)).toBe(3600);
    // 72 h after adding, retries end and the domain has failed.
    await t.sql`UPDATE domains SET retry_until = now() - interval '1 second' WHERE id = ${created.id}`;
    r = await runCheckNow(created.id);
    expect({ status: r.status, next: r.next_check_at }).toEqual({ status: "failed", next: null });
    // "Verify now" starts a new window of retries.
    const again = await as(alice).post(`/v1/domains/${created.id}/verify`);
    expect(again.json.status).toBe("pending");
    expect(again.json.next_check_at).toBeString();
    expect(new Date(again.json.retry_until).getTime() - Date.now()).toBeGreaterThan(71.9 * HOUR);
    // The record appears: the next background check verifies it and it routes.
    await dns.setTxt("_wisehosting.later.example.test", [created.verification_token]);
    r = await runCheckNow(created.id);
    expect(r.status).toBe("verified");
    expect((await viaIngress("later.example.test")).status).toBe(200);
    expect(await auditOf(created.id)).toEqual([
      "domain.create",
      "domain.verify_failed",
      "domain.verify_failed",
      "domain.verify_failed",
      "domain.verify_failed",
      "domain.verify_expired",
      "domain.verify_failed",
      "domain.verified",
    ]);
  });

  test("a verified domain that loses its record keeps routing through the grace period, then is unverified and stops", async () => {
    await dns.setTxt("_wisehosting.shop.example.test", []);
    let r = await runCheckNow(shopDomain);
    expect(r.status).toBe("verified");
    expect(r.failing_since).toBeInstanceOf(Date);
    expect(r.last_error).toBe("no TXT record found at _wisehosting.shop.example.test");
    const api = (await as(alice).get(`/v1/domains/${shopDomain}`)).json;
    expect(new Date(api.unverify_at).getTime() - new Date(api.failing_since).getTime()).toBe(48 * HOUR); // WH_DOMAIN_GRACE_HOURS default
    // Checked hourly meanwhile.
    expect(Math.round((r.next_check_at.getTime() - r.last_checked_at.getTime()) / 60_000)).toBe(60);
    expect((await viaIngress("shop.example.test")).status).toBe(200);
    r = await runCheckNow(shopDomain);
    expect(r.status).toBe("verified");

    // The grace period is over (moved back in time rather than waited for).
    await t.sql`UPDATE domains SET failing_since = failing_since - interval '48 hours 1 minute' WHERE id = ${shopDomain}`;
    r = await runCheckNow(shopDomain);
    expect(r.status).toBe("failed");
    expect(r.failing_since).toBeNull();
    expect(r.last_error).toMatch(/^no TXT record found at _wisehosting.shop.example.test — unverified after the grace period/);
    expect((await viaIngress("shop.example.test")).status).toBe(404);
    expect((await ask("shop.example.test")).status).toBe(404);
    // Still retried in the background: when the record comes back, it verifies and routes again.
    expect(r.next_check_at).toBeInstanceOf(Date);
    await dns.setTxt("_wisehosting.shop.example.test", [r.verification_token]);
    r = await runCheckNow(shopDomain);
    expect(r.status).toBe("verified");
    expect((await viaIngress("shop.example.test")).status).toBe(200);
    const audit = await t.sql<{ action: string; outcome: string; actor_email: string | null }[]>`
      SELECT action, outcome, actor_email FROM audit_events WHERE target_id = ${shopDomain} ORDER BY at, id`;
    expect(audit.map((a) => `${a.action}:${a.outcome}:${a.actor_email}`)).toEqual([
      "domain.create:success:alice@example.com",
      "domain.verify_failed:failure:alice@example.com",
      "domain.verify_failed:failure:alice@example.com",
      "domain.verified:success:alice@example.com",
      "domain.record_missing:failure:system",
      "domain.recheck_failed:failure:system",
      "domain.unverified:failure:system",
      "domain.verified:success:system",
    ]);
  });

  test("a record that comes back within the grace period: recovered, the daily re-check continues", async () => {
    const token = (await row(shopDomain)).verification_token;
    await dns.setTxt("_wisehosting.shop.example.test", []);
    let r = await runCheckNow(shopDomain);
    expect(r.failing_since).toBeInstanceOf(Date);
    await dns.setTxt("_wisehosting.shop.example.test", [token]);
    r = await runCheckNow(shopDomain);
    expect({ status: r.status, failing_since: r.failing_since, error: r.last_error }).toEqual({ status: "verified", failing_since: null, error: null });
    expect(Math.round((r.next_check_at.getTime() - r.last_checked_at.getTime()) / HOUR)).toBe(24);
    r = await runCheckNow(shopDomain);
    const actions = await auditOf(shopDomain);
    expect(actions.slice(-3)).toEqual(["domain.record_missing", "domain.recovered", "domain.rechecked"]);
  });

  test("in real time: with a 2 s grace period the background job unverifies a domain 2 s after its record went", async () => {
    const cfg = t.config as { WH_DOMAIN_GRACE_HOURS: number };
    const grace = cfg.WH_DOMAIN_GRACE_HOURS;
    cfg.WH_DOMAIN_GRACE_HOURS = 2 / 3600;
    try {
      const d = (await t.sql`SELECT id FROM domains WHERE hostname = 'later.example.test'`)[0]!;
      expect((await viaIngress("later.example.test")).status).toBe(200);
      await dns.setTxt("_wisehosting.later.example.test", []);
      const failing = await runCheckNow(d.id);
      expect(failing.status).toBe("verified");
      const lost = failing.failing_since.getTime();
      expect(failing.next_check_at.getTime() - lost).toBeLessThanOrEqual(2000); // re-checked when the grace period ends
      expect((await viaIngress("later.example.test")).status).toBe(200);
      // Nothing moved in the database this time: the job's own schedule does it.
      const gone = await until("the domain to be unverified", async () => ((await row(d.id)).status === "failed" ? row(d.id) : null), 10_000, 50);
      expect(gone.last_checked_at.getTime() - lost).toBeGreaterThanOrEqual(2000);
      expect((await viaIngress("later.example.test")).status).toBe(404);
      expect((await auditOf(d.id)).slice(-2)).toEqual(["domain.record_missing", "domain.unverified"]);
    } finally {
      cfg.WH_DOMAIN_GRACE_HOURS = grace;
    }
  });

  test("wildcards, when the admin allows them: one label deep, exact names first", async () => {
    (t.config as { WH_ALLOW_WILDCARD_DOMAINS: boolean }).WH_ALLOW_WILDCARD_DOMAINS = true;
    try {
      const w = await as(bob).post(`/v1/projects/${bobProjectId}/domains`, { hostname: "*.example.test" });
      expect(w.status).toBe(201);
      expect(w.json.records[0]).toMatchObject({ type: "TXT", name: "_wisehosting.example.test" });
      expect(w.json.records[1]).toMatchObject({ type: "CNAME", name: "*.example.test", value: "other.apps.test" });
      await dns.setTxt("_wisehosting.example.test", [w.json.verification_token]);
      expect((await as(bob).post(`/v1/domains/${w.json.id}/verify`)).json.status).toBe("verified");
      expect((await ask("blog.example.test")).status).toBe(200);
      expect((await ask("a.blog.example.test")).status).toBe(404);
      expect((await viaIngress("blog.example.test")).status).toBe(200);
      expect((await viaIngress("a.blog.example.test")).status).toBe(404);
      // shop.example.test is alice's, exactly: it still goes to her project (same upstream here, so compare the table).
      const routes = ingress.routes();
      expect(routes.find((r) => r.hostname === "shop.example.test")?.project).toBe("shop");
      expect(routes.find((r) => r.hostname === "*.example.test")?.project).toBe("other");
      expect((await as(bob).del(`/v1/domains/${w.json.id}`)).status).toBe(204);
    } finally {
      (t.config as { WH_ALLOW_WILDCARD_DOMAINS: boolean }).WH_ALLOW_WILDCARD_DOMAINS = false;
    }
  });

  test("deleting a verified domain stops its routing at once; deleting the project removes its domains", async () => {
    const id = (await t.sql`SELECT id FROM domains WHERE hostname = 'dup.example.test' AND status = 'verified'`)[0]!.id;
    expect((await as(alice).del(`/v1/domains/${id}`)).status).toBe(204);
    expect((await viaIngress("dup.example.test")).status).toBe(404);
    expect(await auditOf(id)).toEqual(["domain.create", "domain.verified", "domain.delete"]);
    expect((await as(alice).get(`/v1/domains/${id}`)).status).toBe(404);
    // Now bob's pending claim can verify.
    const bobs = (await t.sql`SELECT id FROM domains WHERE hostname = 'dup.example.test'`)[0]!.id;
    expect((await as(bob).post(`/v1/domains/${bobs}/verify`)).json.status).toBe("verified");
    expect((await as(bob).del(`/v1/projects/${bobProjectId}`)).status).toBe(204);
    expect((await t.sql`SELECT count(*)::int AS n FROM domains WHERE project_id = ${bobProjectId}`)[0]!.n).toBe(0);
    expect((await viaIngress("dup.example.test")).status).toBe(404);
  });
});

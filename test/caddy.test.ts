/**
 * The Caddy edge against a real Caddy (Debian's package; admin API, HTTP and
 * HTTPS on loopback, its internal CA standing in for a public one) and a real
 * DNS server (dnsmasq) for domain verification: reconciliation at start
 * (stray and stale routes of ours fixed, others untouched), routes following
 * deployments and domains, on-demand TLS gated by the ask endpoint, HTTPS to
 * a verified domain with X-Forwarded-*, HTTP → HTTPS, a restarted Caddy put
 * right again; then zero downtime across a real redeploy (agent, podman)
 * through the built-in ingress and through Caddy at once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { startTestApp, type TestApp } from "./helpers/app";
import { AGENT, binariesBuilt, freePort, launch, until, type Proc } from "./helpers/processes";
import { dnsmasqAvailable, startDns, type TestDns } from "./helpers/dns";
import { caddyAvailable, startCaddy, type TestCaddy } from "./helpers/caddy";
import { containersOf, ensureBaseImage, podmanAvailable, podmanEnv, removeWorkerContainers } from "./helpers/podman";
import { makeAppRepo } from "./helpers/gitrepo";
import { startEdge, type Edge } from "../src/edge";
import { startIngress } from "../src/ingress/service";
import { onJobStatus } from "../src/deployments/lifecycle";
import { createScheduler } from "../src/scheduler/service";

const pg = await postgresAvailable();
const skip =
  missingPart("PostgreSQL on 127.0.0.1:5432", pg) ||
  missingPart("caddy (apt-get install caddy)", caddyAvailable()) ||
  missingPart("dnsmasq (apt-get install dnsmasq)", dnsmasqAvailable());

/** An upstream app on loopback answering with `name` and the headers the edge sent. */
function app(name: string) {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req) =>
      Response.json({
        app: name,
        host: req.headers.get("host"),
        xfh: req.headers.get("x-forwarded-host"),
        xfp: req.headers.get("x-forwarded-proto"),
        xff: req.headers.get("x-forwarded-for"),
      }),
  });
}

const FOREIGN = { "@id": "operator-status", match: [{ host: ["status.example.test"] }], handle: [{ handler: "static_response", body: "operator" }], terminal: true };
const CATCH_ALL = { handle: [{ handler: "static_response", status_code: 418, body: "catch-all" }] };
const OPERATOR_POLICY = { "@id": "operator-policy", subjects: ["status.example.test"], issuers: [{ module: "internal" }] };

describe.skipIf(skip)("Caddy edge", () => {
  let t: TestApp;
  let dns: TestDns;
  let caddy: TestCaddy;
  let edge: Edge;
  let base = "";
  let ca = "";
  let shop: ReturnType<typeof app>;
  let blog: ReturnType<typeof app>;
  let alice = { id: "", token: "" };
  let workerId = "";
  let shopId = "";

  beforeAll(async () => {
    shop = app("shop");
    blog = app("blog");
    dns = await startDns();
    caddy = await startCaddy({
      http: {
        servers: {
          wisehosting: {
            listen: ["127.0.0.1:HTTPS_PORT"],
            routes: [
              // Left by an earlier run: a stale route of ours (wrong upstream) and a stray one (nothing serves it now).
              { "@id": "wh-route-shop.apps.test", match: [{ host: ["shop.apps.test"] }], handle: [{ handler: "reverse_proxy", upstreams: [{ dial: "127.0.0.1:1" }] }], terminal: true },
              FOREIGN,
              { "@id": "wh-route-ghost.example.test", match: [{ host: ["ghost.example.test"] }], handle: [{ handler: "static_response", body: "ghost" }], terminal: true },
              CATCH_ALL,
            ],
          },
        },
      },
      tls: { automation: { policies: [OPERATOR_POLICY] } },
    });
    t = await startTestApp({
      WH_DNS_SERVERS: dns.server,
      WH_APPS_DOMAIN: "apps.test",
      WH_CADDY_ADMIN_URL: caddy.adminUrl,
      WH_CADDY_TLS: "internal",
    });
    base = t.listen();
    (t.config as { WH_CADDY_ASK_URL?: string }).WH_CADDY_ASK_URL = `${base}/v1/edge/ask`; // the port is known only now
    alice = await t.userWithToken("alice@example.com");
    const [w] = await t.sql`INSERT INTO workers (name, api_key_hash, capacity_mb, address, status) VALUES ('w', 'x', 1024, '127.0.0.1', 'online') RETURNING id`;
    workerId = w!.id;
    const [p] = await t.sql`INSERT INTO projects (owner_id, name, repo_url) VALUES (${alice.id}, 'shop', 'https://x.example/r') RETURNING id`;
    shopId = p!.id;
    const [d] = await t.sql`INSERT INTO deployments (project_id, status, worker_id, host_port) VALUES (${shopId}, 'running', ${workerId}, ${shop.port!}) RETURNING id`;
    await t.sql`UPDATE projects SET current_deployment_id = ${d!.id} WHERE id = ${shopId}`;
  });
  afterAll(async () => {
    edge?.stop();
    shop?.stop(true);
    blog?.stop(true);
    await t?.close();
    await caddy?.stop();
    await dns?.stop();
  });

  const call = (method: string, path: string, body?: unknown) => t.call(method, path, { token: alice.token, body });
  const ourIds = async () => (await caddy.routes()).map((r) => r["@id"] ?? "(no id)");
  const https = (host: string, path = "/") =>
    fetch(`https://127.0.0.1:${caddy.httpsPort}${path}`, { headers: { host }, tls: { ca, serverName: host } } as RequestInit);

  test("on start, reconciliation fixes stale and stray routes of ours and leaves everything else untouched", async () => {
    const before = await caddy.config();
    edge = startEdge(t.ctx, { intervalMs: 300 });
    const r = await edge.reconcile();
    expect(edge.lastError()).toBeNull();
    expect(r!.routes).toBe(1);
    const routes = await caddy.routes();
    expect(routes.map((x) => x["@id"] ?? "(no id)")).toEqual(["wh-route-shop.apps.test", "operator-status", "(no id)"]);
    expect(routes[0].handle[0].upstreams).toEqual([{ dial: `127.0.0.1:${shop.port}` }]);
    expect(routes[1]).toEqual(FOREIGN);
    expect(routes[2]).toEqual(CATCH_ALL);
    const after = await caddy.config();
    const policies = after.apps.tls.automation.policies;
    expect(policies).toContainEqual(OPERATOR_POLICY);
    expect(policies.find((p: { "@id"?: string }) => p["@id"] === "wh-tls-policy")).toEqual({
      "@id": "wh-tls-policy",
      subjects: ["shop.apps.test"],
      issuers: [{ module: "internal" }],
      on_demand: true,
    });
    expect(after.apps.tls.automation.on_demand.ask).toBe(`${base}/v1/edge/ask`);
    // Nothing outside what we own changed.
    for (const key of ["admin", "storage", "logging"]) expect(after[key]).toEqual(before[key]);
    expect(after.apps.http.http_port).toBe(before.apps.http.http_port);
    expect(after.apps.http.servers.wisehosting.listen).toEqual(before.apps.http.servers.wisehosting.listen);
    // A second pass has nothing to do.
    expect((await edge.reconcile())!.applied).toEqual([]);

    ca = await caddy.rootCa();
    const res = await https("shop.apps.test");
    expect(res.status).toBe(200);
    expect((await res.json()).app).toBe("shop");
    expect(await (await https("status.example.test")).text()).toBe("operator");
  });

  test("a route appears when a deployment turns healthy and goes when its project is deleted", async () => {
    const [p] = await t.sql`INSERT INTO projects (owner_id, name, repo_url) VALUES (${alice.id}, 'blog', 'https://x.example/r') RETURNING id`;
    const [d] = await t.sql`INSERT INTO deployments (project_id, status, worker_id, starting_at) VALUES (${p!.id}, 'starting', ${workerId}, now()) RETURNING id`;
    expect(await ourIds()).not.toContain("wh-route-blog.apps.test");
    // What the hub does when the agent reports the health check passed; it returns once every edge switched.
    await onJobStatus(t.ctx, workerId, { deployment_id: d!.id, status: "running", host_port: blog.port!, container_id: "c1" });
    const route = (await caddy.routes()).find((r) => r["@id"] === "wh-route-blog.apps.test");
    expect(route?.handle[0].upstreams).toEqual([{ dial: `127.0.0.1:${blog.port}` }]);
    expect((await (await https("blog.apps.test")).json()).app).toBe("blog");
    expect((await call("DELETE", `/v1/projects/${p!.id}`)).status).toBe(204);
    expect(await ourIds()).not.toContain("wh-route-blog.apps.test");
    expect((await caddy.config()).apps.tls.automation.policies.find((x: { "@id"?: string }) => x["@id"] === "wh-tls-policy").subjects).toEqual(["shop.apps.test"]);
  });

  let domainId = "";
  test("a verified domain is served over HTTPS with X-Forwarded-*; plain HTTP redirects to HTTPS", async () => {
    const d = (await call("POST", `/v1/projects/${shopId}/domains`, { hostname: "shop.example.test" })).json;
    domainId = d.id;
    expect(await ourIds()).not.toContain("wh-route-shop.example.test");
    await dns.setTxt(d.records[0].name, [d.verification_token]);
    expect((await call("POST", `/v1/domains/${d.id}/verify`)).json.status).toBe("verified");
    expect(await ourIds()).toContain("wh-route-shop.example.test"); // live when verify answers
    const res = await https("shop.example.test", "/path?q=1");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ app: "shop", host: "shop.example.test", xfh: "shop.example.test", xfp: "https", xff: "127.0.0.1" });
    const plain = await fetch(`http://127.0.0.1:${caddy.httpPort}/path?q=1`, { headers: { host: "shop.example.test" }, redirect: "manual" });
    expect([301, 302, 307, 308]).toContain(plain.status);
    expect(plain.headers.get("location")).toMatch(/^https:\/\/shop\.example\.test(:\d+)?\/path\?q=1$/);
  });

  test("certificates only for names the ask endpoint approves: verified domains and app names", async () => {
    const pending = (await call("POST", `/v1/projects/${shopId}/domains`, { hostname: "pending.example.test" })).json;
    const ask = async (domain: string) => (await fetch(`${base}/v1/edge/ask?domain=${encodeURIComponent(domain)}`)).status;
    expect(await ask("shop.example.test")).toBe(200);
    expect(await ask("shop.apps.test")).toBe(200);
    expect(await ask("pending.example.test")).toBe(404);
    expect(await ask("anything.example.org")).toBe(404);
    expect(await ask("nope.apps.test")).toBe(404);
    // Caddy asks before the handshake: no certificate for a pending or unknown name.
    for (const host of ["pending.example.test", "random.example.org"]) {
      const err = await https(host).then(
        () => null,
        (e) => e,
      );
      expect(err).not.toBeNull();
    }
    expect((await call("DELETE", `/v1/domains/${pending.id}`)).status).toBe(204);
  });

  test("a restarted Caddy (its runtime config lost) is put right by the periodic reconcile", async () => {
    await caddy.restart();
    expect(await ourIds()).toContain("wh-route-ghost.example.test");
    await until("the periodic reconcile", async () => {
      const ids = await ourIds();
      return ids.join(",") === "wh-route-shop.example.test,wh-route-shop.apps.test,operator-status,(no id)";
    }, 10_000, 100);
    expect((await (await https("shop.example.test")).json()).app).toBe("shop");
  });

  test("deleting the domain removes its route; Caddy down means retries, not failures of the API", async () => {
    expect((await call("DELETE", `/v1/domains/${domainId}`)).status).toBe(204);
    expect(await ourIds()).not.toContain("wh-route-shop.example.test");
    await caddy.proc().stop();
    expect((await edge.reconcile())).toBeNull();
    expect(edge.lastError()).toMatch(/unreachable/);
    await caddy.restart();
    await until("the edge to recover", async () => edge.lastError() === null && (await ourIds()).join(",") === "wh-route-shop.apps.test,operator-status,(no id)", 10_000, 100);
  });
});

describe.skipIf(
  skip ||
    missingPart("podman with /bin/busybox", podmanAvailable()) ||
    missingPart("the compiled binaries in dist/ (bun run build)", binariesBuilt()),
)("zero downtime through each edge", () => {
  let t: TestApp;
  let caddy: TestCaddy;
  let edge: Edge;
  let ingress: ReturnType<typeof startIngress>;
  let scheduler: ReturnType<typeof createScheduler>;
  let agent: Proc;
  const ingressPort = freePort();
  const workerName = `edge-${randomBytes(3).toString("hex")}`;
  const project = `zd-${randomBytes(3).toString("hex")}`;
  const agentDir = mkdtempSync(join(tmpdir(), "wh-edge-agent-"));
  const repo = makeAppRepo("hello v1\n");
  let token = "";
  let projectId = "";
  let ca = "";

  beforeAll(async () => {
    ensureBaseImage();
    caddy = await startCaddy({ http: { servers: {} } });
    t = await startTestApp({
      WH_INGRESS_LISTEN: `127.0.0.1:${ingressPort}`,
      WH_ALLOW_LOCAL_REPOS: "true",
      WH_CADDY_ADMIN_URL: caddy.adminUrl,
      WH_CADDY_TLS: "internal",
      WH_CADDY_LISTEN: `127.0.0.1:${caddy.httpsPort}`,
    });
    const base = t.listen();
    (t.config as { WH_CADDY_ASK_URL?: string }).WH_CADDY_ASK_URL = `${base}/v1/edge/ask`;
    token = (await t.userWithToken("ops@example.com", "admin", "admin")).token;
    ingress = startIngress(t.ctx);
    await ingress.reload();
    edge = startEdge(t.ctx);
    scheduler = createScheduler(t.ctx);
    agent = launch([AGENT], {
      ...podmanEnv,
      WH_HUB_URL: base,
      WH_WORKER_SECRET: t.config.workerSecret,
      WH_WORKER_NAME: workerName,
      WH_WORKER_STATE_DIR: agentDir,
      WH_WORKER_MEMORY_MB: "2048",
    });
    await until("the worker to come online", async () => (await t.sql`SELECT 1 FROM workers WHERE name = ${workerName} AND status = 'online'`).length === 1, 30_000).catch((e) => {
      throw new Error(`${e.message}\n--- agent:\n${agent.output()}`);
    });
  });
  afterAll(async () => {
    await agent?.stop();
    scheduler?.stop();
    edge?.stop();
    ingress?.stop();
    removeWorkerContainers(workerName);
    await t?.close();
    await caddy?.stop();
    rmSync(agentDir, { recursive: true, force: true });
    rmSync(repo.dir, { recursive: true, force: true });
  });

  const call = (method: string, path: string, body?: unknown) => t.call(method, path, { token, body });
  const deployAndSettle = async () => {
    const dep = await call("POST", `/v1/projects/${projectId}/deployments`);
    expect(dep.status).toBe(202);
    return until("the deployment to settle", async () => {
      const d = (await call("GET", `/v1/deployments/${dep.json.id}`)).json;
      return ["running", "failed"].includes(d.status) ? d : null;
    }, 120_000, 100);
  };
  const domain = "www.zero-downtime.test";
  const edges = {
    ingress: () => fetch(`http://127.0.0.1:${ingressPort}/`, { headers: { host: `${project}.localhost` } }),
    caddy: () => fetch(`https://127.0.0.1:${caddy.httpsPort}/`, { headers: { host: domain }, tls: { ca, serverName: domain } } as RequestInit),
  };

  test("a client at ≥ 200 requests/s per edge sees no failure and no old version after the switch", async () => {
    const created = await call("POST", "/v1/projects", { name: project, repo_url: `file://${repo.dir}`, memory_mb: 64, cpus: 0.5 });
    expect(created.status).toBe(201);
    projectId = created.json.id;
    // A verified custom domain (verification itself is tested elsewhere), served through Caddy.
    await t.sql`INSERT INTO domains (project_id, hostname, verification_token, status, verified_at) VALUES (${projectId}, ${domain}, 'x', 'verified', now())`;
    const first = await deployAndSettle();
    expect({ status: first.status, error: first.error }).toEqual({ status: "running", error: null });
    ca = await caddy.rootCa();
    // "running" is committed a moment before the edges have switched (route propagation is benchmarked separately).
    for (const get of Object.values(edges))
      await until("the edge serving v1", async () => (await (await get()).text()) === "hello v1\n", 10_000);

    type Sample = { start: number; end: number; ok: boolean; body: string };
    const samples: Record<keyof typeof edges, Sample[]> = { ingress: [], caddy: [] };
    let stop = false;
    const started = performance.now();
    const LOOPS = 3;
    const clients = (Object.keys(edges) as (keyof typeof edges)[]).flatMap((name) =>
      Array.from({ length: LOOPS }, async () => {
        while (!stop && samples[name].length < 60_000 && performance.now() - started < 150_000) {
          const start = performance.now();
          try {
            const r = await edges[name]();
            samples[name].push({ start, end: performance.now(), ok: r.status === 200, body: await r.text() });
          } catch (e) {
            samples[name].push({ start, end: performance.now(), ok: false, body: String(e) });
          }
        }
      }),
    );
    await Bun.sleep(500);
    const sha = repo.commitPage("hello v2\n");
    const second = await deployAndSettle();
    expect({ status: second.status, commit: second.commit_sha }).toEqual({ status: "running", commit: sha });
    await Bun.sleep(4000); // past the old container's drain and removal
    stop = true;
    await Promise.all(clients);
    const seconds = (performance.now() - started) / 1000;

    for (const [name, list] of Object.entries(samples)) {
      const rate = list.length / seconds;
      const failures = list.filter((s) => !s.ok || !/^hello v[12]\n$/.test(s.body));
      const firstNew = Math.min(...list.filter((s) => s.body === "hello v2\n").map((s) => s.end));
      const oldAfter = list.filter((s) => s.start > firstNew && s.body !== "hello v2\n");
      console.log(`  ${name}: ${list.length} requests in ${seconds.toFixed(1)} s (${rate.toFixed(0)}/s), ${failures.length} failed, ${oldAfter.length} old after the switch`);
      expect({ name, failures: failures.slice(0, 5) }).toEqual({ name, failures: [] });
      expect(rate).toBeGreaterThanOrEqual(200);
      expect(Number.isFinite(firstNew)).toBe(true);
      expect({ name, oldAfter: oldAfter.length }).toEqual({ name, oldAfter: 0 });
    }
    await until("the old container to go", async () => containersOf(workerName).length === 1, 15_000);
  });
});

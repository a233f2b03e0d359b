/**
 * The fleet-operations pages in a real browser against the compiled control
 * plane, a real agent, podman and PostgreSQL: a worker's live charts after a
 * stats batch, drain and undrain by button; a project's Metrics tab; alerts
 * with a webhook channel (tested against a receiver in this test) and a rule;
 * usage with its table and CSV download. Every page gets an axe-core check and
 * a screenshot; every scenario fails on a console error or failed request.
 */
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { freshDatabase, postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { ensureBaseImage, podmanAvailable, podmanEnv, removeWorkerContainers } from "./helpers/podman";
import { makeAppRepo } from "./helpers/gitrepo";
import { AGENT, binariesBuilt, CONTROL_PLANE, freePort, launch, until, type Proc } from "./helpers/processes";
import { axeViolations, chromiumAvailable, launchBrowser, screenshot, watch } from "./helpers/browser";

const skip =
  missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable()) ||
  missingPart("podman with /bin/busybox", podmanAvailable()) ||
  missingPart("the compiled binaries in dist/ (bun run build)", binariesBuilt()) ||
  missingPart("Chromium at /usr/bin/chromium", chromiumAvailable());

setDefaultTimeout(180_000);

const PASSWORD = "correct horse battery staple";
const failed = (status: number, path: string) => new RegExp(`${status}.*${path.replace(/[/?]/g, (c) => `\\${c}`)}`);
const SIGNED_OUT = failed(401, "/v1/auth/me");

describe.skipIf(skip)("fleet pages in a real browser", () => {
  const apiPort = freePort();
  const ingressPort = freePort();
  const base = `http://localhost:${apiPort}`;
  const api = `http://127.0.0.1:${apiPort}`;
  const workerName = `fleet-${randomBytes(3).toString("hex")}`;
  const projectName = `fl-${randomBytes(3).toString("hex")}`;
  const dataDir = mkdtempSync(join(tmpdir(), "wh-fleet-cp-"));
  const agentDir = mkdtempSync(join(tmpdir(), "wh-fleet-agent-"));
  const downloads = mkdtempSync(join(tmpdir(), "wh-fleet-dl-"));
  const repo = makeAppRepo("fleet v1\n");
  const admin = { email: "ops@example.com", password: PASSWORD, token: "" };
  /** What the webhook receiver got: body and signature header. */
  const hooks: { body: string; headers: Record<string, string> }[] = [];
  const receiver = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      hooks.push({ body: await req.text(), headers: Object.fromEntries(req.headers) });
      return new Response("ok");
    },
  });
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let server: Proc;
  let agent: Proc;
  let env: Record<string, string>;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let w: ReturnType<typeof watch>;
  let projectId = "";
  let workerId = "";

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(api + path, {
      method,
      headers: { authorization: `Bearer ${admin.token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, json: text.startsWith("{") ? JSON.parse(text) : undefined, text };
  };
  const cli = (args: string[]) => Bun.spawnSync([CONTROL_PLANE, ...args], { env: { ...process.env, ...env } }).stdout.toString().trim();

  async function check(name: string) {
    await page.waitForLoadState("networkidle").catch(() => {});
    const v = await axeViolations(page);
    await screenshot(page, name);
    expect({ page: name, violations: v }).toEqual({ page: name, violations: [] });
  }

  beforeAll(async () => {
    ensureBaseImage();
    db = await freshDatabase();
    env = {
      WH_DATABASE_URL: db.url,
      WH_DATA_DIR: dataDir,
      WH_LISTEN: `127.0.0.1:${apiPort}`,
      WH_PUBLIC_URL: base,
      WH_INGRESS_LISTEN: `127.0.0.1:${ingressPort}`,
      WH_ALLOW_LOCAL_REPOS: "true",
      WH_ALLOW_PRIVATE_WEBHOOKS: "true",
      WH_SIGNIN_RATE_PER_MIN: "1000",
    };
    server = launch([CONTROL_PLANE, "serve"], env);
    await server.waitFor(/ready in \d+ ms/);
    const secret = /WH_WORKER_SECRET=(\S+)/.exec(await server.waitFor(/WH_WORKER_SECRET=\S+/))![1]!;
    agent = launch([AGENT], { ...podmanEnv, WH_HUB_URL: api, WH_WORKER_SECRET: secret, WH_WORKER_NAME: workerName, WH_WORKER_STATE_DIR: agentDir, WH_WORKER_MEMORY_MB: "2048" });
    expect(cli(["admin", "create", "--email", admin.email, "--password", admin.password])).toMatch(/created/);
    admin.token = cli(["token", "create", "--email", admin.email, "--name", "fleet-test"]);
    const worker = await until(
      "the worker to come online",
      async () => (await call("GET", "/v1/workers")).json?.workers?.find((x: { name: string; status: string }) => x.name === workerName && x.status === "online"),
      30_000,
    ).catch((e) => {
      throw new Error(`${e.message}\n--- control plane:\n${server.output()}\n--- agent:\n${agent.output()}`);
    });
    workerId = worker.id;
    const p = await call("POST", "/v1/projects", { name: projectName, repo_url: `file://${repo.dir}`, memory_mb: 64, cpus: 0.25 });
    expect(p.status).toBe(201);
    projectId = p.json.id;
    const d = await call("POST", `/v1/projects/${projectId}/deployments`);
    expect(d.status).toBeLessThan(300);
    const deploymentId = d.json.deployment_id ?? d.json.id;
    await until("the deployment to run", async () => (await call("GET", `/v1/deployments/${deploymentId}`)).json?.status === "running", 150_000, 500).catch((e) => {
      throw new Error(`${e.message}\n--- control plane:\n${server.output()}\n--- agent:\n${agent.output()}`);
    });

    browser = await launchBrowser();
    ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
    w = watch(ctx);
    page = await ctx.newPage();
    w.expect(SIGNED_OUT);
    await page.goto(base + "/projects");
    await page.waitForSelector("#email");
    await page.fill("#email", admin.email);
    await page.fill("#password", admin.password);
    await page.click("form button[type=submit]");
    await page.waitForSelector(`text=${projectName}`);
    w.reset();
  }, 240_000);

  afterEach(() => {
    const problems = w?.take() ?? [];
    w?.reset();
    expect(problems).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await server?.stop();
    await receiver.stop(true);
    removeWorkerContainers(workerName);
    await db?.drop();
    for (const d of [dataDir, agentDir, downloads, repo.dir]) rmSync(d, { recursive: true, force: true });
  });

  test("deep links for the new pages answer with the app", async () => {
    for (const path of ["/alerts", "/usage", `/workers/${workerId}`, `/projects/${projectId}/metrics`]) {
      const r = await fetch(api + path);
      expect({ path, status: r.status }).toEqual({ path, status: 200 });
    }
  });

  test("worker page: live charts after a stats batch, the container on it, drain and undrain by button", async () => {
    // The agent samples every 10 s: wait for a host sample and the project's container.
    await until(
      "a stats batch",
      async () => {
        const m = (await call("GET", `/v1/workers/${workerId}/metrics`)).json;
        return m?.latest && m.containers.some((c: { project_id: string }) => c.project_id === projectId);
      },
      60_000,
      1000,
    );
    await page.click("nav a:text-is('Workers')");
    await page.click(`a:text-is('${workerName}')`);
    await page.waitForURL(new RegExp(`/workers/${workerId}$`));
    await page.waitForSelector(`h1:has-text('${workerName}')`);
    // Three charts, each a canvas, with the latest figures in their captions.
    await page.waitForFunction(() => document.querySelectorAll(".chart canvas").length === 3);
    await page.waitForSelector(".chart figcaption >> text=/CPU: \\d/");
    await page.waitForSelector(`table[aria-label='Containers on this worker'] >> text=${projectName}`);
    await check("worker-detail");

    await page.click("button:text-is('Drain')");
    await page.waitForSelector("button:text-is('Undrain')");
    await page.waitForSelector(".page-head .s-draining");
    expect((await call("GET", "/v1/workers")).json.workers.find((x: { id: string }) => x.id === workerId).draining).toBe(true);
    await page.click("button:text-is('Undrain')");
    await page.waitForSelector("button:text-is('Drain')");
    expect((await call("GET", "/v1/workers")).json.workers.find((x: { id: string }) => x.id === workerId).draining).toBe(false);
    // A few refreshes happen without errors (every 10 s).
    await page.waitForTimeout(11_000);
  });

  test("project Metrics tab: CPU, memory and network charts for each range", async () => {
    await page.goto(`${base}/projects/${projectId}`);
    await page.click("nav.tabs a:text-is('Metrics')");
    await page.waitForURL(/\/metrics$/);
    await page.waitForFunction(() => document.querySelectorAll(".chart canvas").length === 3);
    expect(await page.textContent(".chart figcaption")).toContain("limit 0.25 CPU");
    for (const r of ["24 hours", "7 days", "30 days", "1 hour"]) {
      await page.click(`button:text-is('${r}')`);
      await page.waitForSelector(`button[aria-pressed=true]:text-is('${r}')`);
      await page.waitForFunction(() => !document.querySelector(".charts[aria-busy=true]"));
    }
    await check("project-metrics");
  });

  test("alerts: a webhook channel (secret shown once, test delivered to a receiver), then a rule using it", async () => {
    await page.click("nav a:text-is('Alerts')");
    await page.waitForSelector("h1:text-is('Alerts')");
    await page.waitForSelector("table[aria-label='Alert rules']");
    await page.fill("#channel-name", "Ops hook");
    await page.selectOption("#channel-kind", "webhook");
    await page.fill("#channel-url", `http://127.0.0.1:${receiver.port}/hook`);
    await page.click("button:text-is('Create channel')");
    await page.waitForSelector("text=is shown only now");
    const secret = (await page.textContent("code.secret"))!.trim();
    expect(secret.length).toBeGreaterThanOrEqual(16);
    const row = page.locator("table[aria-label='Notification channels'] tr", { hasText: "Ops hook" });
    await row.locator("button:text-is('Send test')").click();
    await row.locator("text=Test delivered (HTTP 200").waitFor();
    expect(hooks.length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(hooks[hooks.length - 1]!.body).event).toBe("test");

    await page.fill("#rule-name", "Fleet CPU");
    await page.selectOption("#rule-kind", "cpu_high");
    await page.selectOption("#rule-project", projectId);
    await page.fill("#rule-threshold_percent", "95");
    await page.check(`fieldset.checks label:has-text('Ops hook') input`);
    await page.click("button:text-is('Create rule')");
    await page.waitForSelector("text=Rule \"Fleet CPU\" created.");
    const rules = (await call("GET", "/v1/alert-rules")).json.rules as { id: string; name: string; kind: string; project_id: string; params: Record<string, number>; channel_ids: string[] }[];
    const made = rules.find((r) => r.name === "Fleet CPU")!;
    expect(made).toMatchObject({ kind: "cpu_high", project_id: projectId, params: { threshold_percent: 95 } });
    expect(made.channel_ids.length).toBe(1);
    await page.waitForSelector("table[aria-label='Alert rules'] >> text=Fleet CPU");
    // Edit the rule in place: a new threshold and duration.
    await page.click("button[aria-label='Edit rule Fleet CPU']");
    await page.fill(`#edit-${made.id}-threshold_percent`, "80");
    await page.fill(`#edit-${made.id}-for`, "3");
    await page.click("button:text-is('Save rule')");
    await page.waitForSelector("form[aria-label='Edit rule Fleet CPU']", { state: "detached" });
    const edited = (await call("GET", `/v1/alert-rules/${made.id}`)).json;
    expect(edited).toMatchObject({ params: { threshold_percent: 80 }, for_minutes: 3 });
    await check("alerts");
  });

  test("usage: a table row for the project and a CSV download", async () => {
    await page.click("nav a:text-is('Usage')");
    await page.waitForSelector("h1:text-is('Usage')");
    await page.waitForSelector(`table[aria-label='Usage per project'] >> text=${projectName}`);
    await page.waitForFunction(() => document.querySelectorAll(".chart canvas").length === 2);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("a:text-is('Download CSV')")]);
    const file = join(downloads, "usage.csv");
    await download.saveAs(file);
    const csv = readFileSync(file, "utf8");
    expect(csv.split("\n")[0]).toContain("project_name");
    expect(csv).toContain(projectName);
    await check("usage");
  });
});

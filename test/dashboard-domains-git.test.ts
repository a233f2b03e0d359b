/**
 * The dashboard's custom domains panel and git-provider pages in a real
 * browser (Debian's Chromium through playwright-core) against the compiled
 * control plane and PostgreSQL (no worker: nothing here deploys):
 * add a domain (the API's message at the field for a bad one), its DNS
 * records, Verify now against a DNS server that isn't there (the last error
 * shows), remove it; link a GitHub account through a local fake provider,
 * create a project from one of its repositories, the project's git settings;
 * a project without a link shows its webhook URL and secret. Every page gets
 * an axe-core check and a screenshot under .test-artifacts/; every scenario
 * fails on a console error or failed request it didn't expect.
 */
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { freshDatabase, postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { makeAppRepo } from "./helpers/gitrepo";
import { binariesBuilt, CONTROL_PLANE, freePort, launch, type Proc } from "./helpers/processes";
import { axeViolations, chromiumAvailable, launchBrowser, screenshot, watch } from "./helpers/browser";
import { startFakeProvider, type FakeProvider } from "./helpers/git-providers";

const skip =
  missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable()) ||
  missingPart("the compiled binaries in dist/ (bun run build)", binariesBuilt()) ||
  missingPart("Chromium at /usr/bin/chromium", chromiumAvailable());

setDefaultTimeout(120_000);

const PASSWORD = "correct horse battery staple";
const failed = (status: number, path: string) => new RegExp(`${status}.*${path.replace(/[/?]/g, (c) => `\\${c}`)}`);

describe.skipIf(skip)("dashboard: custom domains and git providers", () => {
  const apiPort = freePort();
  /** Nothing listens here: every DNS query of the domain checks fails. */
  const dnsPort = freePort();
  const base = `http://localhost:${apiPort}`;
  const api = `http://127.0.0.1:${apiPort}`;
  const dataDir = mkdtempSync(join(tmpdir(), "wh-dash-dom-"));
  const repo = makeAppRepo("hello\n");
  const admin = { email: "ops@example.com", password: PASSWORD, token: "" };
  const projectName = `dom-${randomBytes(3).toString("hex")}`;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let server: Proc;
  let env: Record<string, string>;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let projectId = "";
  let gh: FakeProvider;
  let w: ReturnType<typeof watch>;

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
    gh = startFakeProvider("github", { id: "gh-client", secret: "gh-secret" });
    db = await freshDatabase();
    env = {
      WH_DATABASE_URL: db.url,
      WH_DATA_DIR: dataDir,
      WH_LISTEN: `127.0.0.1:${apiPort}`,
      WH_PUBLIC_URL: base,
      WH_INGRESS_LISTEN: `127.0.0.1:${freePort()}`,
      WH_ALLOW_LOCAL_REPOS: "true",
      WH_SIGNIN_RATE_PER_MIN: "1000",
      WH_DNS_SERVERS: `127.0.0.1:${dnsPort}`,
      WH_GITHUB_CLIENT_ID: "gh-client",
      WH_GITHUB_CLIENT_SECRET: "gh-secret",
      WH_GITHUB_URL: gh.base,
      WH_GITHUB_API_URL: gh.apiBase,
    };
    server = launch([CONTROL_PLANE, "serve"], env);
    await server.waitFor(/ready in \d+ ms/);
    expect(cli(["admin", "create", "--email", admin.email, "--password", admin.password])).toMatch(/created/);
    admin.token = cli(["token", "create", "--email", admin.email, "--name", "domains-git-test"]);
    const p = await call("POST", "/v1/projects", { name: projectName, repo_url: `file://${repo.dir}` });
    expect(p.status).toBe(201);
    projectId = p.json.id;
    browser = await launchBrowser();
    ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    w = watch(ctx);
    page = await ctx.newPage();
    w.expect(failed(401, "/v1/auth/me"));
    await page.goto(base + "/projects");
    await page.waitForSelector("#email");
    await page.fill("#email", admin.email);
    await page.fill("#password", admin.password);
    await page.click("form button[type=submit]");
    await page.waitForSelector(`a:text-is('${projectName}')`);
    await page.waitForLoadState("networkidle").catch(() => {});
    w.take();
    w.reset();
  });

  afterEach(() => {
    const problems = w.take();
    w.reset();
    expect(problems).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    gh?.stop();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(repo.dir, { recursive: true, force: true });
  });

  test("domains: a bad name gets the API's message at the field; a good one shows its DNS records", async () => {
    w.expect(failed(400, `/v1/projects/${projectId}/domains`));
    await page.goto(`${base}/projects/${projectId}/domains`);
    await page.waitForSelector("h2:text-is('Custom domains')");
    await page.waitForSelector("text=No custom domains.");
    await page.fill("#domain-hostname", "not a host");
    await page.click("button:text-is('Add domain')");
    await page.waitForSelector("#domain-hostname-error");
    expect(await page.textContent("#domain-hostname-error")).toContain("bare host name");
    expect(await page.getAttribute("#domain-hostname", "aria-invalid")).toBe("true");

    await page.fill("#domain-hostname", "App.Example.com");
    await page.click("button:text-is('Add domain')");
    const item = page.locator("li.domain[data-domain='app.example.com']");
    await item.waitFor();
    expect(await page.inputValue("#domain-hostname")).toBe("");
    const text = (await item.textContent()) ?? "";
    expect(text).toContain("_wisehosting.app.example.com");
    const d = (await call("GET", `/v1/projects/${projectId}/domains`)).json.domains[0];
    expect(text).toContain(d.verification_token);
    expect(await item.locator("table[aria-label='DNS records for app.example.com'] tbody tr").count()).toBe(d.records.length);
    expect(await item.locator("button:text-is('Copy TXT value')").count()).toBe(1);
    expect(await page.textContent("[role=status]:has-text('Checking again every 15 seconds')")).toBeTruthy();
    await check("domains-pending");
  });

  test("domains: Verify now with no DNS answering shows the check's error; Remove asks, then removes", async () => {
    const item = page.locator("li.domain[data-domain='app.example.com']");
    await item.locator("button:text-is('Verify now')").click();
    await item.locator("[data-testid=domain-error]").waitFor({ timeout: 30_000 });
    expect(await item.locator("[data-testid=domain-error]").textContent()).toMatch(/^Last check: .+/);
    expect(await item.locator(".status").textContent()).toMatch(/pending|failed/);
    await check("domains-verify-failed");

    await item.locator("button:text-is('Remove')").click();
    await item.locator("button:text-is('Yes, remove it')").click();
    await page.waitForSelector("text=No custom domains.");
    expect((await call("GET", `/v1/projects/${projectId}/domains`)).json.domains).toEqual([]);
  });

  test("a project with no linked account shows its webhook URLs, and the secret on request", async () => {
    await page.click("nav.tabs a:text-is('Settings')");
    await page.waitForSelector("h2:text-is('Git and builds')");
    const manual = page.locator("[data-testid=manual-webhook]");
    await manual.waitFor();
    const git = (await call("GET", `/v1/projects/${projectId}/git`)).json;
    for (const url of Object.values(git.webhook_urls) as string[]) expect(await manual.textContent()).toContain(url);
    await manual.locator("button:text-is('Show webhook secret')").click();
    await page.waitForSelector("[data-testid=webhook-secret]");
    const secret = (await call("GET", `/v1/projects/${projectId}/git/webhook-secret`)).json.secret;
    expect(await page.textContent("[data-testid=webhook-secret]")).toBe(secret);
    await check("git-manual-webhook");
  });

  test("account: link GitHub through the provider's consent page (faked), see it listed", async () => {
    // The fake provider has no consent page: take our server's 302 to it and answer as GitHub would after
    // "Authorize", sending the browser to our callback with a code and the state.
    await page.route(`${base}/v1/git-providers/github/link`, async (route) => {
      const r = await route.fetch({ maxRedirects: 0 });
      const to = new URL(r.headers()["location"]!);
      expect(to.origin + to.pathname).toBe(`${gh.base}/login/oauth/authorize`);
      const q = new URLSearchParams({ code: gh.newCode(), state: to.searchParams.get("state")! });
      await route.fulfill({ status: 302, headers: { location: `${to.searchParams.get("redirect_uri")}?${q}` } });
    });
    await page.goto(`${base}/account?git_link_error=flow_expired`);
    await page.waitForSelector("[role=alert]:has-text('linking took more than 10 minutes')");
    await page.waitForSelector("text=No linked git accounts.");
    await page.click("a:text-is('Link GitHub')");
    await page.waitForURL(/\/account\?git_linked=github$/);
    await page.waitForSelector("[role=status]:has-text('Your github account is linked.')");
    const row = page.locator("table[aria-label='Linked git accounts'] tbody tr");
    await row.first().waitFor();
    expect(await row.count()).toBe(1);
    expect(await row.textContent()).toContain("alice-github");
    expect(await row.locator(".status").textContent()).toBe("active");
    await check("account-git-linked");
  });

  test("new project from a linked account's repository and branch; its settings show the link", async () => {
    await page.goto(`${base}/projects`);
    await page.click("button:text-is('New project')");
    await page.waitForSelector("#git-source");
    const links = (await call("GET", "/v1/git-links")).json.links;
    await page.selectOption("#git-source", links[0].id);
    expect(await page.$("#repo_url")).toBeNull();
    await page.fill("#git-repo-search", "shop");
    await page.waitForSelector("#git-repo option[value='acme/shop']", { state: "attached" });
    await page.selectOption("#git-repo", "acme/shop");
    // (Preact sets an option's value as a property, so match the text, not the attribute.)
    await page.waitForSelector("#git-branch option:text-is('dev')", { state: "attached" });
    await page.selectOption("#git-branch", "dev");
    await check("project-new-from-git");
    const name = `gh-${randomBytes(3).toString("hex")}`;
    await page.fill("#name", name);
    await page.click("button:text-is('Create project')");
    await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
    const id = page.url().split("/").pop()!;
    const p = (await call("GET", `/v1/projects/${id}`)).json;
    expect({ repo_url: p.repo_url, branch: p.branch }).toEqual({ repo_url: gh.cloneUrl, branch: "dev" });
    const g = (await call("GET", `/v1/projects/${id}/git`)).json;
    expect(g.link?.repo).toBe("acme/shop");
    expect(g.auto_deploy).toBe(true);

    await page.waitForSelector(`h1:text-is('${name}')`);
    await page.click("nav.tabs a:text-is('Settings')");
    await page.waitForSelector("text=Linked to");
    expect(await page.isChecked("#git-auto-deploy")).toBe(true);
    await page.click("#git-auto-deploy");
    await page.waitForFunction(() => !(document.getElementById("git-auto-deploy") as HTMLInputElement).disabled);
    expect(await page.isChecked("#git-auto-deploy")).toBe(false);
    expect((await call("GET", `/v1/projects/${id}/git`)).json.auto_deploy).toBe(false);
    expect(await page.$("[data-testid=manual-webhook]")).toBeNull();
    await check("project-git-linked");
  });
});

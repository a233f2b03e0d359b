/**
 * Push-to-deploy end to end: the control plane in-process (API, scheduler,
 * ingress, git-provider jobs) on real PostgreSQL, a real agent process from
 * source with real podman and git, and a local repository. A signed GitHub
 * push delivery names a commit that is not the branch head; the deployment
 * builds exactly that commit and the app serves its content. A pull request
 * event makes a preview at <project>-pr-<n> serving the request's commit;
 * closing it removes the container and the route.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { startTestApp, type TestApp } from "./helpers/app";
import { containersOf, ensureBaseImage, podmanAvailable, podmanEnv, removeWorkerContainers } from "./helpers/podman";
import { makeAppRepo } from "./helpers/gitrepo";
import { freePort, launch, until, type Proc } from "./helpers/processes";
import { createScheduler } from "../src/scheduler/service";
import { startIngress } from "../src/ingress/service";
import { startGitProviderJobs } from "../src/gitproviders";

const skip = missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable()) || missingPart("podman with /bin/busybox", podmanAvailable());

describe.skipIf(skip)("push-to-deploy: a webhook deploys exactly the pushed commit", () => {
  const ingressPort = freePort();
  const workerName = `push-${randomBytes(3).toString("hex")}`;
  const project = `push-${randomBytes(3).toString("hex")}`;
  const agentDir = mkdtempSync(join(tmpdir(), "wh-push-agent-"));
  const repo = makeAppRepo("page v1\n");
  let t: TestApp;
  let agent: Proc;
  let token = "";
  let stops: (() => unknown)[] = [];

  const app = (name = project) => fetch(`http://127.0.0.1:${ingressPort}/`, { headers: { host: `${name}.localhost:${ingressPort}` } });
  let projectId = "";
  let secret = "";
  let hookPath = "";
  const deliver = (event: string, payload: unknown) => {
    const body = JSON.stringify(payload);
    return t.call("POST", hookPath, {
      body,
      headers: {
        "content-type": "application/json",
        "x-github-event": event,
        "x-github-delivery": crypto.randomUUID(),
        "x-hub-signature-256": "sha256=" + createHmac("sha256", secret).update(body).digest("hex"),
      },
    });
  };
  const settle = (id: string) =>
    until(
      `deployment ${id} to settle`,
      async () => {
        const d = (await t.call("GET", `/v1/deployments/${id}`, { token })).json;
        return ["running", "failed"].includes(d.status) ? d : null;
      },
      120_000,
    );

  beforeAll(async () => {
    ensureBaseImage();
    t = await startTestApp({ WH_ALLOW_LOCAL_REPOS: "true", WH_INGRESS_LISTEN: `127.0.0.1:${ingressPort}` });
    const api = t.listen();
    const scheduler = createScheduler(t.ctx);
    const ingress = startIngress(t.ctx);
    await ingress.reload();
    const jobs = startGitProviderJobs(t.ctx);
    stops = [() => jobs.stop(), () => scheduler.stop(), () => ingress.stop()];
    token = (await t.userWithToken("pusher@example.com")).token;
    agent = launch(["bun", join(import.meta.dir, "../agent/main.ts")], {
      ...podmanEnv,
      WH_HUB_URL: api,
      WH_WORKER_SECRET: t.config.workerSecret,
      WH_WORKER_NAME: workerName,
      WH_WORKER_STATE_DIR: agentDir,
      WH_WORKER_MEMORY_MB: "1024",
    });
    await until("the worker to come online", async () => (await t.sql`SELECT 1 FROM workers WHERE status = 'online'`).length === 1, 30_000).catch((e) => {
      throw new Error(`${e.message}\n--- agent:\n${agent.output()}`);
    });
  });

  afterAll(async () => {
    await agent?.stop();
    for (const s of stops) await s();
    removeWorkerContainers(workerName);
    await t?.close();
    rmSync(agentDir, { recursive: true, force: true });
    rmSync(repo.dir, { recursive: true, force: true });
  });

  test("a signed push to the tracked branch deploys the pushed SHA and the app serves it", async () => {
    const created = await t.call("POST", "/v1/projects", { token, body: { name: project, repo_url: `file://${repo.dir}`, memory_mb: 64, cpus: 0.25 } });
    expect(created.status).toBe(201);
    projectId = created.json.id;
    const s = (await t.call("GET", `/v1/projects/${projectId}/git/webhook-secret`, { token })).json;
    secret = s.secret;
    hookPath = new URL(s.webhook_urls.github).pathname;

    // Two commits land; the delivery is for the first of them, so the branch head is not what must deploy.
    const pushed = repo.commitPage("page v2\n");
    const head = repo.commitPage("page v3\n");
    expect(pushed).not.toBe(head);
    const r = await deliver("push", { ref: "refs/heads/main", before: "0".repeat(40), after: pushed, repository: { full_name: "me/app" } });
    expect(r.status).toBe(202);
    expect(r.json.commit_sha).toBe(pushed);

    const d = await settle(r.json.deployment_id).catch((e) => {
      throw new Error(`${e.message}\n--- agent:\n${agent.output()}`);
    });
    expect({ status: d.status, error: d.error }).toEqual({ status: "running", error: null });
    expect(d.commit_sha).toBe(pushed);
    await until("the ingress to route the app", async () => (await app()).status === 200, 15_000);
    expect(await (await app()).text()).toBe("page v2\n");
    const logs = (await t.call("GET", `/v1/deployments/${d.id}/logs`, { token })).text;
    expect(logs).toContain(`Checking out commit ${pushed}`);
  }, 150_000);

  test("a pull request gets a preview serving its commit; closing it removes the container and route", async () => {
    expect((await t.call("PATCH", `/v1/projects/${projectId}/git`, { token, body: { previews: true } })).status).toBe(200);
    const prSha = repo.commitOnBranch("feature", "page from the pull request\n");
    const pr = (action: string) => ({
      action,
      number: 7,
      pull_request: { number: 7, head: { sha: prSha, ref: "feature", repo: { full_name: "me/app" } }, base: { ref: "main", repo: { full_name: "me/app" } } },
      repository: { full_name: "me/app" },
    });
    const opened = await deliver("pull_request", pr("opened"));
    expect(opened.status).toBe(202);
    const preview = `${project}-pr-7`;
    expect(opened.json.url).toBe(`http://${preview}.localhost:${ingressPort}`);
    const d = await settle(opened.json.deployment_id).catch((e) => {
      throw new Error(`${e.message}\n--- agent:\n${agent.output()}`);
    });
    expect({ status: d.status, error: d.error, commit_sha: d.commit_sha }).toEqual({ status: "running", error: null, commit_sha: prSha });
    await until("the preview to be routed", async () => (await app(preview)).status === 200, 15_000);
    expect(await (await app(preview)).text()).toBe("page from the pull request\n");
    expect(await (await app()).text()).toBe("page v2\n"); // the project itself is untouched
    const previewContainers = () => containersOf(workerName).filter((c) => c.Labels["wh.project"] === opened.json.preview_project_id);
    expect(previewContainers().length).toBe(1);

    const closed = await deliver("pull_request", pr("closed"));
    expect(closed.json).toEqual({ result: "preview_removed", pr_number: 7 });
    expect((await app(preview)).status).toBe(404);
    await until("the preview's container to go", async () => previewContainers().length === 0, 30_000);
    expect(await (await app()).text()).toBe("page v2\n");
  }, 150_000);
});

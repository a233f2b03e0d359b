/**
 * The REST API in-process against a real PostgreSQL database: happy paths,
 * and for each route the bad inputs that must get a clear 4xx and change nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { startTestApp, type TestApp } from "./helpers/app";

const skip = missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable());

describe.skipIf(skip)("REST API", () => {
  let t: TestApp;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let reader: { id: string; token: string };
  let admin: { id: string; token: string };

  beforeAll(async () => {
    t = await startTestApp({ WH_ALLOW_LOCAL_REPOS: "false" });
    alice = await t.userWithToken("alice@example.com");
    bob = await t.userWithToken("bob@example.com");
    reader = await t.userWithToken("reader@example.com", "member", "read");
    admin = await t.userWithToken("root@example.com", "admin", "admin");
  });
  afterAll(async () => t?.close());

  /** Everything a bad request could have touched, to compare before and after. */
  async function snapshot() {
    const [p, e, d] = await Promise.all([
      t.sql`SELECT id, name, repo_url, branch, dockerfile, port, memory_mb, cpus, health_path, updated_at FROM projects ORDER BY id`,
      t.sql`SELECT project_id, key, value_enc FROM env_vars ORDER BY project_id, key`,
      t.sql`SELECT id, status FROM deployments ORDER BY id`,
    ]);
    return JSON.stringify([p, e, d]);
  }

  test("health and OpenAPI answer without a token", async () => {
    expect(await t.call("GET", "/healthz")).toMatchObject({ status: 200, json: { status: "ok" } });
    const spec = await t.call("GET", "/v1/openapi.json");
    expect(spec.status).toBe(200);
    expect(Object.keys(spec.json.paths)).toEqual(
      expect.arrayContaining(["/v1/projects/", "/v1/projects/{id}", "/v1/projects/{id}/env/", "/v1/deployments/{id}/logs"]),
    );
  });

  test("no token, a malformed header or an unknown token is 401", async () => {
    expect((await t.call("GET", "/v1/projects")).status).toBe(401);
    expect((await t.call("GET", "/v1/projects", { headers: { authorization: "Basic abc" } })).status).toBe(401);
    const r = await t.call("GET", "/v1/projects", { token: "wh_pat_nope" });
    expect(r.status).toBe(401);
    expect(r.json).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
  });

  let projectId = "";
  test("create, read, list and patch a project with defaults filled in", async () => {
    const r = await t.call("POST", "/v1/projects", { token: alice.token, body: { name: "shop", repo_url: "https://git.example.com/a/shop.git" } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({
      name: "shop",
      branch: "main",
      dockerfile: null,
      port: 8080,
      memory_mb: 256,
      cpus: 0.5,
      health_path: "/",
      status: "new",
      url: "http://shop.localhost:8000",
    });
    projectId = r.json.id;
    expect((await t.call("GET", `/v1/projects/${projectId}`, { token: alice.token })).json.name).toBe("shop");
    expect((await t.call("GET", "/v1/projects", { token: alice.token })).json.projects).toHaveLength(1);
    const p = await t.call("PATCH", `/v1/projects/${projectId}`, { token: alice.token, body: { memory_mb: 128, branch: "release/1" } });
    expect(p).toMatchObject({ status: 200, json: { memory_mb: 128, branch: "release/1", name: "shop" } });
  });

  test("the same name twice is 409", async () => {
    const before = await snapshot();
    const r = await t.call("POST", "/v1/projects", { token: bob.token, body: { name: "shop", repo_url: "https://x.example/r" } });
    expect(r.status).toBe(409);
    expect(r.json.error.message).toContain("name");
    expect(await snapshot()).toBe(before);
  });

  test("bad project input: clear 400 naming the field, nothing changed", async () => {
    const before = await snapshot();
    const cases: [unknown, string][] = [
      ['{"name": "x", ', "malformed"],
      [{ name: "Bad_Name", repo_url: "https://x.example/r" }, "name"],
      [{ name: "ok", repo_url: 42 }, "repo_url"],
      [{ name: "ok", repo_url: "https://x.example/r", port: "80" }, "port"],
      [{ name: "ok", repo_url: "https://x.example/r", port: 70000 }, "port"],
      [{ name: "ok", repo_url: "https://x.example/r", memory_mb: -1 }, "memory_mb"],
      [{ name: "ok", repo_url: "https://x.example/r", extra: 1 }, "extra"],
      [{ name: "ok", repo_url: "-uupload-pack=touch /tmp/pwned" }, "repo_url"],
      [{ name: "ok", repo_url: "--upload-pack=touch /tmp/pwned" }, "repo_url"],
      [{ name: "ok", repo_url: "ext::sh -c touch% /tmp/pwned" }, "repo_url"],
      [{ name: "ok", repo_url: "file:///etc" }, "repo_url"],
      [{ name: "ok", repo_url: "/srv/repo" }, "repo_url"],
      [{ name: "ok", repo_url: "https://u:p@x.example/r" }, "repo_url"],
      [{ name: "ok", repo_url: "https://x.example/r\nx" }, "repo_url"],
      [{ name: "ok", repo_url: "https://x.example/r", branch: "--upload-pack=x" }, "branch"],
      [{ name: "ok", repo_url: "https://x.example/r", branch: "a..b" }, "branch"],
      [{ name: "ok", repo_url: "https://x.example/r", dockerfile: "../../etc/passwd" }, "dockerfile"],
      [{ name: "ok", repo_url: "https://x.example/r", health_path: "nohash" }, "health_path"],
      [[1, 2], "body"],
    ];
    for (const [body, field] of cases) {
      const r = await t.call("POST", "/v1/projects", { token: alice.token, body });
      expect({ body, status: r.status }).toEqual({ body, status: 400 });
      expect(r.json.error.code).toMatch(/invalid_input|malformed_body|bad_request/);
      if (field !== "malformed") expect({ body, message: r.json.error.message }).toEqual({ body, message: expect.stringContaining(field) });
    }
    const patch = await t.call("PATCH", `/v1/projects/${projectId}`, { token: alice.token, body: { repo_url: "ext::sh" } });
    expect(patch.status).toBe(400);
    expect(await snapshot()).toBe(before);
  });

  test("a body over 1 MiB is 413 and changes nothing", async () => {
    const before = await snapshot();
    const big = JSON.stringify({ vars: { BIG: "x".repeat(1024 * 1024 + 10) } });
    const r = await t.call("PUT", `/v1/projects/${projectId}/env`, { token: alice.token, body: big });
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe("body_too_large");
    expect(await snapshot()).toBe(before);
  });

  test("unknown and malformed ids are 404 / 400", async () => {
    const missing = "00000000-0000-4000-8000-000000000000";
    for (const path of [`/v1/projects/${missing}`, `/v1/deployments/${missing}`, `/v1/projects/${missing}/env`, `/v1/projects/${missing}/deployments`])
      expect((await t.call("GET", path, { token: alice.token })).status).toBe(404);
    expect((await t.call("GET", "/v1/projects/not-a-uuid", { token: alice.token })).status).toBe(400);
  });

  test("env vars: encrypted at rest, masked, revealed on request; bad keys refused", async () => {
    const put = await t.call("PUT", `/v1/projects/${projectId}/env`, { token: alice.token, body: { vars: { DATABASE_URL: "postgres://s3cret", MODE: "prod" } } });
    expect(put).toMatchObject({ status: 200, json: { vars: { DATABASE_URL: "********", MODE: "********" }, revealed: false } });
    const rows = await t.sql<{ value_enc: string }[]>`SELECT value_enc FROM env_vars WHERE project_id = ${projectId}`;
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.value_enc).not.toContain("s3cret");
      expect(r.value_enc).not.toContain("prod");
      expect(r.value_enc.startsWith("v1.")).toBe(true);
    }
    const revealed = await t.call("GET", `/v1/projects/${projectId}/env?reveal=true`, { token: alice.token });
    expect(revealed.json).toEqual({ vars: { DATABASE_URL: "postgres://s3cret", MODE: "prod" }, build: [], revealed: true });
    const before = await snapshot();
    for (const key of ["lower", "1ABC", "A-B", "A B", ""]) {
      const r = await t.call("PUT", `/v1/projects/${projectId}/env`, { token: alice.token, body: { vars: { OK: "1", [key]: "v" } } });
      expect({ key, status: r.status }).toEqual({ key, status: 400 });
    }
    expect((await t.call("PUT", `/v1/projects/${projectId}/env`, { token: alice.token, body: { vars: { A: 1 } } })).status).toBe(400);
    expect((await t.call("PUT", `/v1/projects/${projectId}/env`, { token: alice.token, body: { vars: { A: "a\nB=c" } } })).status).toBe(400);
    expect(await snapshot()).toBe(before);
  });

  test("env vars marked build-time: kept by a PUT without `build`, refused unless in vars or reserved", async () => {
    const put = (body: unknown) => t.call("PUT", `/v1/projects/${projectId}/env`, { token: alice.token, body });
    const vars = { DATABASE_URL: "postgres://s3cret", MODE: "prod" };
    expect((await put({ vars, build: ["MODE"] })).json).toMatchObject({ build: ["MODE"] });
    expect((await t.sql`SELECT key FROM env_vars WHERE project_id = ${projectId} AND build`).map((r) => r.key)).toEqual(["MODE"]);
    expect((await put({ vars: { ...vars, NEW: "1" } })).json).toMatchObject({ build: ["MODE"] });
    expect((await put({ vars: { DATABASE_URL: "x" } })).json).toMatchObject({ build: [] });
    const before = await snapshot();
    for (const build of [["NOPE"], ["PATH"], ["LD_PRELOAD"], "MODE"]) {
      const r = await put({ vars: { ...vars, PATH: "/x", LD_PRELOAD: "/x" }, build });
      expect({ build, status: r.status }).toEqual({ build, status: 400 });
    }
    expect(await snapshot()).toBe(before);
    expect((await put({ vars, build: [] })).json).toMatchObject({ build: [] });
  });

  test("another user's project is 404 on every route, and nothing changes", async () => {
    const before = await snapshot();
    const dep = await t.call("POST", `/v1/projects/${projectId}/deployments`, { token: alice.token });
    expect(dep).toMatchObject({ status: 202, json: { status: "queued" } });
    const snap = await snapshot();
    const routes: [string, string, unknown?][] = [
      ["GET", `/v1/projects/${projectId}`],
      ["PATCH", `/v1/projects/${projectId}`, { memory_mb: 64 }],
      ["DELETE", `/v1/projects/${projectId}`],
      ["GET", `/v1/projects/${projectId}/env?reveal=true`],
      ["PUT", `/v1/projects/${projectId}/env`, { vars: { X: "1" } }],
      ["POST", `/v1/projects/${projectId}/deployments`],
      ["GET", `/v1/projects/${projectId}/deployments`],
      ["POST", `/v1/projects/${projectId}/stop`],
      ["POST", `/v1/projects/${projectId}/start`],
      ["POST", `/v1/projects/${projectId}/restart`],
      ["GET", `/v1/deployments/${dep.json.id}`],
      ["GET", `/v1/deployments/${dep.json.id}/logs`],
    ];
    for (const [method, path, body] of routes) {
      const r = await t.call(method, path, { token: bob.token, body });
      expect({ method, path, status: r.status, code: r.json?.error?.code }).toEqual({ method, path, status: 404, code: "not_found" });
    }
    expect((await t.call("GET", "/v1/projects", { token: bob.token })).json.projects).toEqual([]);
    expect(await snapshot()).toBe(snap);
    expect(before).not.toBe(snap);
  });

  test("a read token reads but can't write; workers are admin-only", async () => {
    expect((await t.call("GET", "/v1/projects", { token: reader.token })).status).toBe(200);
    const r = await t.call("POST", "/v1/projects", { token: reader.token, body: { name: "nope", repo_url: "https://x.example/r" } });
    expect(r.status).toBe(403);
    expect((await t.call("GET", "/v1/workers", { token: alice.token })).status).toBe(403);
    expect((await t.call("GET", "/v1/workers", { token: admin.token })).json).toEqual({ workers: [] });
  });

  test("with no worker a deployment waits queued with a reason", async () => {
    const list = await t.call("GET", `/v1/projects/${projectId}/deployments`, { token: alice.token });
    expect(list.json.deployments).toHaveLength(1);
    await Bun.sleep(50);
    const d = await t.call("GET", `/v1/deployments/${list.json.deployments[0].id}`, { token: alice.token });
    expect(d.json).toMatchObject({ status: "queued", worker_id: null });
    expect(d.json.queued_at).toBeString();
    // Stop/start/restart with nothing running are conflicts, not crashes.
    for (const action of ["stop", "start", "restart"])
      expect((await t.call("POST", `/v1/projects/${projectId}/${action}`, { token: alice.token })).status).toBe(409);
  });

  test("delete removes the project and its deployments", async () => {
    expect((await t.call("DELETE", `/v1/projects/${projectId}`, { token: alice.token })).status).toBe(204);
    expect((await t.call("GET", `/v1/projects/${projectId}`, { token: alice.token })).status).toBe(404);
    expect((await t.sql`SELECT count(*)::int AS n FROM deployments`)[0]!.n).toBe(0);
  });
});

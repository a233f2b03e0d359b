/**
 * Identity promises, each tested by trying to break it: cookie flags, session
 * revocation and disabled users on the very next request, CSRF, read-only
 * tokens, token lifecycle, rate limits, the audit trail, and other users'
 * resources being 404 on every project-scoped route of the route table.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { startTestApp, type TestApp } from "./helpers/app";
import { rotateMasterKey } from "../src/crypto/rotate";
import { randomBytes } from "node:crypto";
import { decrypt } from "../src/crypto";

const skip = missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable());
const PASSWORD = "correct horse battery";
const ORIGIN = "http://127.0.0.1:8080"; // the test app's public URL (WH_LISTEN default)

describe.skipIf(skip)("identity", () => {
  let t: TestApp;
  let admin: { id: string; token: string };
  beforeAll(async () => {
    // Many sign-ins from one (in-process) client: the limit itself is tested below.
    t = await startTestApp({ WH_SIGNIN_RATE_PER_MIN: "1000" });
    admin = await t.userWithToken("root@example.com", "admin", "admin");
  });
  afterAll(async () => t?.close());

  async function login(email: string, password = PASSWORD) {
    const r = await t.call("POST", "/v1/auth/login", { body: { email, password } });
    const raw = r.headers.get("set-cookie") ?? "";
    const cookie = /wh_session=([^;]+)/.exec(raw)?.[1];
    return { ...r, raw, cookie: cookie ? `wh_session=${cookie}` : "" };
  }
  const asCookie = (cookie: string, extra: Record<string, string> = {}) => ({ headers: { cookie, ...extra } });

  test("sign-in sets a strict session cookie; each sign-in gets a new id", async () => {
    await t.userWithToken("c@example.com");
    const a = await login("c@example.com");
    expect(a.status).toBe(200);
    expect(a.raw).toMatch(/^wh_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=2592000; HttpOnly; SameSite=Lax$/);
    expect(a.raw).not.toContain("Secure"); // the test's public URL is http
    const b = await login("c@example.com");
    expect(b.cookie).not.toBe(a.cookie);
    const me = await t.call("GET", "/v1/auth/me", asCookie(a.cookie));
    expect(me.json).toMatchObject({ email: "c@example.com", via: "session" });
    const rows = await t.sql`SELECT token_hash FROM sessions`;
    for (const r of rows) expect(a.cookie).not.toContain(r.token_hash);
  });

  test("a malformed cookie is a 401, not a crash", async () => {
    expect((await t.call("GET", "/v1/auth/me", asCookie("wh_session=%zz"))).status).toBe(401);
    expect((await t.call("GET", "/v1/auth/me", asCookie("wh_session=" + "a".repeat(5000)))).status).toBe(401);
  });

  test("unknown email and wrong password get the same answer", async () => {
    const unknown = await login("nobody@example.com");
    const wrong = await login("c@example.com", "not the password");
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.json).toEqual(wrong.json);
    expect(unknown.raw + wrong.raw).toBe("");
  });

  test("a revoked session is refused on its very next request; revoke-all keeps only this one", async () => {
    const one = await login("c@example.com");
    const two = await login("c@example.com");
    const list = await t.call("GET", "/v1/sessions", asCookie(one.cookie));
    const mine = list.json.sessions.find((s: { current: boolean }) => s.current);
    const other = list.json.sessions.find((s: { current: boolean }) => !s.current);
    expect(mine).toBeDefined();
    expect((await t.call("DELETE", `/v1/sessions/${other.id}`, asCookie(one.cookie, { origin: ORIGIN }))).status).toBe(204);
    const revokedId = other.id;
    const stillTwo = await t.call("GET", "/v1/auth/me", asCookie(two.cookie));
    if (stillTwo.status === 200) expect(stillTwo.json.session_id).not.toBe(revokedId);
    const three = await login("c@example.com");
    expect((await t.call("DELETE", "/v1/sessions", asCookie(one.cookie, { origin: ORIGIN }))).status).toBe(200);
    expect((await t.call("GET", "/v1/auth/me", asCookie(three.cookie))).status).toBe(401);
    expect((await t.call("GET", "/v1/auth/me", asCookie(one.cookie))).status).toBe(200);
    expect((await t.call("POST", "/v1/auth/logout", asCookie(one.cookie))).status).toBe(200);
    expect((await t.call("GET", "/v1/auth/me", asCookie(one.cookie))).status).toBe(401);
  });

  test("a disabled user is refused on the next request, by cookie and by token", async () => {
    const d = await t.userWithToken("d@example.com");
    const s = await login("d@example.com");
    expect((await t.call("GET", "/v1/auth/me", asCookie(s.cookie))).status).toBe(200);
    const r = await t.call("PATCH", `/v1/users/${d.id}`, { token: admin.token, body: { disabled: true } });
    expect(r).toMatchObject({ status: 200, json: { disabled: true } });
    expect((await t.call("GET", "/v1/auth/me", asCookie(s.cookie))).status).toBe(401);
    expect((await t.call("GET", "/v1/projects", { token: d.token })).status).toBe(401);
    expect((await login("d@example.com")).status).toBe(401);
  });

  test("a cross-origin POST with a cookie is refused; same origin passes; bearer is exempt", async () => {
    const s = await login("c@example.com");
    const body = { name: "csrf-app", repo_url: "https://x.example/r" };
    for (const headers of [{ origin: "https://evil.example" }, { "sec-fetch-site": "cross-site" }, {}] as Record<string, string>[]) {
      const r = await t.call("POST", "/v1/projects", { body, headers: { cookie: s.cookie, ...headers } });
      expect({ headers, status: r.status }).toEqual({ headers, status: 403 });
    }
    expect((await t.sql`SELECT count(*)::int AS n FROM projects`)[0]!.n).toBe(0);
    expect((await t.call("POST", "/v1/projects", { body, headers: { cookie: s.cookie, origin: ORIGIN } })).status).toBe(201);
    expect((await t.call("POST", "/v1/auth/login", { body: { email: "c@example.com", password: PASSWORD }, headers: { origin: "https://evil.example" } })).status).toBe(403);
  });

  test("tokens: shown once, listed without values, a read token can't write, revoked ones stop at once", async () => {
    const s = await login("c@example.com");
    const made = await t.call("POST", "/v1/tokens", { body: { name: "ci", scope: "read" }, headers: { cookie: s.cookie, origin: ORIGIN } });
    expect(made.status).toBe(201);
    expect(made.json.token).toMatch(/^wh_pat_/);
    const listed = await t.call("GET", "/v1/tokens", { token: made.json.token });
    expect(JSON.stringify(listed.json)).not.toContain(made.json.token);
    expect(listed.json.tokens.find((x: { id: string }) => x.id === made.json.id)).toMatchObject({ name: "ci", scope: "read" });
    expect((await t.call("POST", "/v1/projects", { token: made.json.token, body: { name: "ro", repo_url: "https://x.example/r" } })).status).toBe(403);
    expect((await t.call("POST", "/v1/tokens", { token: made.json.token, body: { name: "escalate", scope: "admin" } })).status).toBe(403);
    const [row] = await t.sql`SELECT token_hash, last_used_at FROM api_tokens WHERE id = ${made.json.id}`;
    expect(row!.token_hash).not.toBe(made.json.token);
    expect(row!.last_used_at).not.toBeNull();
    expect((await t.call("DELETE", `/v1/tokens/${made.json.id}`, { headers: { cookie: s.cookie, origin: ORIGIN } })).status).toBe(204);
    expect((await t.call("GET", "/v1/projects", { token: made.json.token })).status).toBe(401);
    const past = await t.call("POST", "/v1/tokens", { token: admin.token, body: { name: "old", expires_at: "2001-01-01T00:00:00Z" } });
    expect(past.status).toBe(400);
  });

  test("users: admin-only, invite link sets a password once, the last admin stays", async () => {
    const member = await t.userWithToken("m@example.com");
    expect((await t.call("GET", "/v1/users", { token: member.token })).status).toBe(403);
    const inv = await t.call("POST", "/v1/users", { token: admin.token, body: { email: "New@Example.com" } });
    expect(inv.status).toBe(201);
    expect(inv.json).toMatchObject({ email: "new@example.com", role: "member" });
    const token = inv.json.invite_url.split("#")[1];
    expect((await login("new@example.com", "a brand new password")).status).toBe(401);
    expect((await t.call("POST", "/v1/invites/accept", { body: { token, password: "a brand new password" } })).status).toBe(200);
    expect((await t.call("POST", "/v1/invites/accept", { body: { token, password: "another password!!" } })).status).toBe(404);
    expect((await login("new@example.com", "a brand new password")).status).toBe(200);
    expect((await t.call("POST", "/v1/users", { token: admin.token, body: { email: "new@example.com" } })).status).toBe(409);
    const last = await t.call("PATCH", `/v1/users/${admin.id}`, { token: admin.token, body: { role: "member" } });
    expect(last.status).toBe(422);
    expect((await t.call("PATCH", `/v1/users/${member.id}`, { token: admin.token, body: { role: "root" } })).status).toBe(400);
  });

  test("user B gets 404 on every project-scoped route of A's, and nothing changes", async () => {
    const a = await t.userWithToken("owner@example.com");
    const b = await t.userWithToken("intruder@example.com");
    const p = await t.call("POST", "/v1/projects", { token: a.token, body: { name: "owned", repo_url: "https://x.example/r" } });
    const dep = await t.call("POST", `/v1/projects/${p.json.id}/deployments`, { token: a.token });
    const snapshot = async () => JSON.stringify(await t.sql`SELECT p.*, (SELECT json_agg(d ORDER BY d.id) FROM deployments d WHERE d.project_id = p.id) AS d FROM projects p ORDER BY p.id`);
    const before = await snapshot();
    // Walk the route table: every route with an :id under projects or deployments.
    const routes = (t.app.routes as { method: string; path: string }[]).filter(
      (r) => /^\/v1\/(projects|deployments)\/:id/.test(r.path) && r.method !== "WS",
    );
    expect(routes.length).toBeGreaterThanOrEqual(12);
    for (const r of routes) {
      const id = r.path.startsWith("/v1/deployments") ? dep.json.id : p.json.id;
      const path = r.path.replace(":id", id).replace(/\/$/, "");
      // A body that passes validation, so the answer is about ownership, not shape.
      const validBodies: [RegExp, unknown][] = [
        [/\/env\/?$/, { vars: { X: "1" } }],
        [/\/domains\/?$/, { hostname: "intruder.example.com" }],
        [/\/git\/?$/, {}],
      ];
      const body = ["POST", "PUT", "PATCH"].includes(r.method) ? (validBodies.find(([re]) => re.test(r.path))?.[1] ?? {}) : undefined;
      const res = await t.call(r.method, path, { token: b.token, body });
      expect({ route: `${r.method} ${r.path}`, status: res.status }).toEqual({ route: `${r.method} ${r.path}`, status: 404 });
    }
    expect(await snapshot()).toBe(before);
  });

  test("audit: each action leaves exactly one row; no row holds a secret", async () => {
    const u = await t.userWithToken("audited@example.com");
    const countOf = async (action: string, target?: string) =>
      (await t.sql`SELECT count(*)::int AS n FROM audit_events WHERE action = ${action} AND (${target ?? null}::text IS NULL OR target_id = ${target ?? null})`)[0]!.n;
    const p = await t.call("POST", "/v1/projects", { token: u.token, body: { name: "aud", repo_url: "https://x.example/r" } });
    await t.call("PATCH", `/v1/projects/${p.json.id}`, { token: u.token, body: { memory_mb: 128 } });
    await t.call("PUT", `/v1/projects/${p.json.id}/env`, { token: u.token, body: { vars: { SECRET_THING: "hunter2-very-secret" } } });
    const d = await t.call("POST", `/v1/projects/${p.json.id}/deployments`, { token: u.token });
    const tok = await t.call("POST", "/v1/tokens", { token: u.token, body: { name: "x" } });
    await t.call("DELETE", `/v1/tokens/${tok.json.id}`, { token: u.token });
    await t.call("DELETE", `/v1/projects/${p.json.id}`, { token: u.token });
    expect(await countOf("project.create", p.json.id)).toBe(1);
    expect(await countOf("project.update", p.json.id)).toBe(1);
    expect(await countOf("env.write", p.json.id)).toBe(1);
    expect(await countOf("deployment.create", d.json.id)).toBe(1);
    expect(await countOf("token.create", tok.json.id)).toBe(1);
    expect(await countOf("token.revoke", tok.json.id)).toBe(1);
    expect(await countOf("project.delete", p.json.id)).toBe(1);
    const all = JSON.stringify(await t.sql`SELECT * FROM audit_events`);
    for (const secret of ["hunter2-very-secret", tok.json.token, PASSWORD, u.token]) expect(all).not.toContain(secret);
    // Members see only their own events; the admin sees everyone's, page by page.
    const mine = await t.call("GET", "/v1/audit-events?limit=500", { token: u.token });
    expect(mine.json.events.every((e: { actor_id: string }) => e.actor_id === u.id)).toBe(true);
    const page1 = await t.call("GET", "/v1/audit-events?limit=3", { token: admin.token });
    expect(page1.json.events).toHaveLength(3);
    const page2 = await t.call("GET", `/v1/audit-events?limit=3&cursor=${page1.json.next_cursor}`, { token: admin.token });
    expect(Number(page2.json.events[0].id)).toBeLessThan(Number(page1.json.events[2].id));
    const failed = await t.call("GET", "/v1/audit-events?action=auth.login_failed", { token: admin.token });
    expect(failed.json.events.length).toBeGreaterThan(0);
    expect((await t.call("GET", "/v1/audit-events?cursor=abc", { token: admin.token })).status).toBe(400);
  });

  test("keys rotate re-encrypts every secret under the new key, all or nothing", async () => {
    const u = await t.userWithToken("keys@example.com");
    const p = await t.call("POST", "/v1/projects", { token: u.token, body: { name: "keys", repo_url: "https://x.example/r" } });
    await t.call("PUT", `/v1/projects/${p.json.id}/env`, { token: u.token, body: { vars: { A: "alpha", B: "beta" } } });
    const fresh = randomBytes(32);
    const n = await rotateMasterKey(t.sql, t.config.masterKey, fresh);
    expect(n.env).toBeGreaterThanOrEqual(2);
    const rows = await t.sql<{ key: string; value_enc: string }[]>`SELECT key, value_enc FROM env_vars WHERE project_id = ${p.json.id} ORDER BY key`;
    expect(rows.map((r) => decrypt(fresh, "env", r.value_enc, `${p.json.id}:${r.key}`))).toEqual(["alpha", "beta"]);
    expect(() => decrypt(t.config.masterKey, "env", rows[0]!.value_enc, `${p.json.id}:A`)).toThrow();
    expect(await rotateMasterKey(t.sql, fresh, fresh)).toEqual({ env: 0, totp: 0, git_tokens: 0, webhook_secrets: 0, channel_secrets: 0 });
  });
});

describe.skipIf(skip)("sign-in rate limit", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  test("the 11th sign-in attempt in a minute from one IP gets 429 with Retry-After", async () => {
    const statuses: number[] = [];
    let last: Headers | undefined;
    for (let i = 0; i < 11; i++) {
      const r = await t.call("POST", "/v1/auth/login", { body: { email: `x${i}@example.com`, password: "wrong password" } });
      statuses.push(r.status);
      last = r.headers;
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses[10]).toBe(429);
    expect(Number(last!.get("retry-after"))).toBeGreaterThan(0);
  });
});

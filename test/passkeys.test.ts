/**
 * Passkeys end to end through a real browser: Chromium with CDP virtual
 * authenticators against the control plane served over HTTP on localhost.
 * The browser makes the credentials and signs the challenges; its cookie
 * jar carries the sessions and pending logins.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { cose, decodeCredentialPublicKey } from "@simplewebauthn/server/helpers";
import { postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { startTestApp, type TestApp } from "./helpers/app";
import { freePort } from "./helpers/processes";
import { addVirtualAuthenticator, chromiumAvailable, createCredential, getAssertion, launchChromium, pageFetch } from "./helpers/chromium";

const skip =
  missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable()) ||
  missingPart("Chromium at /usr/bin/chromium (apt-get install chromium)", chromiumAvailable());

const PASSWORD = "correct horse battery";

describe.skipIf(skip)("passkeys in a real browser", () => {
  let t: TestApp;
  let browser: Browser;
  let origin = "";
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  // Alice has two devices (two pages, one authenticator each) sharing one cookie jar; Bob has his own browser profile.
  let aliceCtx: BrowserContext;
  let laptop: Page;
  let phone: Page;
  let bobCtx: BrowserContext;
  let bobPage: Page;

  async function openPage(ctx: BrowserContext) {
    const page = await ctx.newPage();
    await page.goto(origin + "/");
    await addVirtualAuthenticator(page);
    return page;
  }

  beforeAll(async () => {
    const port = freePort();
    origin = `http://localhost:${port}`;
    t = await startTestApp({ WH_PUBLIC_URL: origin });
    t.app.listen({ hostname: "127.0.0.1", port });
    alice = await t.userWithToken("alice@example.com");
    bob = await t.userWithToken("bob@example.com");
    browser = await launchChromium();
    aliceCtx = await browser.newContext();
    laptop = await openPage(aliceCtx);
    phone = await openPage(aliceCtx);
    bobCtx = await browser.newContext();
    bobPage = await openPage(bobCtx);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.app.stop(true);
    await t?.close();
  });

  const cookieNames = async (ctx: BrowserContext) => (await ctx.cookies()).map((c) => c.name).sort();
  const passwordLogin = (page: Page, email: string) => pageFetch(page, "POST", "/v1/auth/login", { email, password: PASSWORD });
  const me = (page: Page) => pageFetch(page, "GET", "/v1/auth/me");

  async function register(page: Page, name: string) {
    const opts = await pageFetch(page, "POST", "/v1/auth/passkeys/register/options");
    expect(opts.status).toBe(200);
    const response = await createCredential(page, opts.json);
    return pageFetch(page, "POST", "/v1/auth/passkeys/register/verify", { name, response });
  }

  /** Options from `path`, then the page's authenticator signs them. */
  async function assertion(page: Page, path: "/v1/auth/passkeys/login/options" | "/v1/auth/passkeys/second-factor/options") {
    const opts = await pageFetch(page, "POST", path);
    expect(opts.status).toBe(200);
    return { options: opts.json, response: await getAssertion(page, opts.json) };
  }

  async function lastAudit(action: string) {
    const [row] = await t.sql<{ outcome: string; actor_id: string | null; target_id: string | null; detail: Record<string, unknown> }[]>`
      SELECT outcome, actor_id, target_id, detail FROM audit_events WHERE action = ${action} ORDER BY id DESC LIMIT 1`;
    return row;
  }

  const credentialIds = async (userId: string) =>
    (await t.sql<{ credential_id: string }[]>`SELECT credential_id FROM passkeys WHERE user_id = ${userId} ORDER BY created_at`).map((r) => r.credential_id);

  test("register two passkeys (one per device), list and rename them", async () => {
    expect(await passwordLogin(laptop, "alice@example.com")).toMatchObject({ status: 200, json: { status: "ok" } });
    expect(await cookieNames(aliceCtx)).toContain("wh_session");

    const first = await register(laptop, "laptop");
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ name: "laptop", transports: ["internal"], last_used_at: null });
    expect(first.json).not.toHaveProperty("public_key");
    expect(first.json).not.toHaveProperty("credential_id");

    // The phone's options exclude the laptop's credential, so one authenticator can't register twice.
    const opts = await pageFetch(phone, "POST", "/v1/auth/passkeys/register/options");
    expect(opts.json.excludeCredentials.map((c: { id: string }) => c.id)).toEqual(await credentialIds(alice.id));
    expect(opts.json.rp).toEqual({ name: "WiseHosting", id: "localhost" });
    const second = await pageFetch(phone, "POST", "/v1/auth/passkeys/register/verify", { name: "phone", response: await createCredential(phone, opts.json) });
    expect(second.status).toBe(201);

    const list = await pageFetch(laptop, "GET", "/v1/auth/passkeys");
    expect(list.status).toBe(200);
    expect(list.json.passkeys.map((p: { name: string }) => p.name)).toEqual(["laptop", "phone"]);

    const renamed = await pageFetch(laptop, "PATCH", `/v1/auth/passkeys/${first.json.id}`, { name: "work laptop" });
    expect(renamed).toMatchObject({ status: 200, json: { id: first.json.id, name: "work laptop" } });
    expect((await pageFetch(laptop, "PATCH", `/v1/auth/passkeys/${first.json.id}`, { name: "  " })).status).toBe(400);

    // Audited, with no credential material anywhere in the trail.
    const reg = await t.sql<{ outcome: string; target_id: string; detail: unknown }[]>`SELECT outcome, target_id, detail FROM audit_events WHERE action = 'passkey.register' ORDER BY id`;
    expect(reg.map((r) => r.outcome)).toEqual(["success", "success"]);
    expect(reg.map((r) => r.target_id)).toEqual([first.json.id, second.json.id]);
    const stored = await t.sql<{ credential_id: string; public_key: string }[]>`SELECT credential_id, public_key FROM passkeys`;
    const trail = JSON.stringify(await t.sql`SELECT * FROM audit_events`);
    for (const s of stored) {
      expect(trail).not.toContain(s.credential_id);
      expect(trail).not.toContain(s.public_key);
    }
  });

  test("registering needs a browser session: no token, no anonymous caller; a replayed registration is refused", async () => {
    expect((await t.call("POST", "/v1/auth/passkeys/register/options", { token: alice.token })).status).toBe(403);
    expect((await t.call("POST", "/v1/auth/passkeys/register/options")).status).toBe(401);
    expect((await t.call("GET", "/v1/auth/passkeys", { token: alice.token })).json.passkeys).toHaveLength(2);
    expect((await t.call("GET", "/v1/auth/passkeys", { token: bob.token })).json.passkeys).toEqual([]);

    // Bob registers his key; the same registration posted again is refused (its challenge is gone).
    // Bob's authenticator only does ES256, as most do today.
    expect((await passwordLogin(bobPage, "bob@example.com")).json.status).toBe("ok");
    const opts = await pageFetch(bobPage, "POST", "/v1/auth/passkeys/register/options");
    expect(opts.json.pubKeyCredParams.map((p: { alg: number }) => p.alg)).toContain(-7);
    const response = await createCredential(bobPage, { ...opts.json, pubKeyCredParams: [{ type: "public-key", alg: -7 }] });
    expect((await pageFetch(bobPage, "POST", "/v1/auth/passkeys/register/verify", { name: "bob key", response })).status).toBe(201);
    const again = await pageFetch(bobPage, "POST", "/v1/auth/passkeys/register/verify", { name: "bob key", response });
    expect(again).toMatchObject({ status: 400, json: { error: { code: "passkey_rejected" } } });
    expect(await lastAudit("passkey.register")).toMatchObject({ outcome: "failure", detail: { reason: "unknown_challenge" } });
    expect(await credentialIds(bob.id)).toHaveLength(1);
    const algs = await t.sql<{ email: string; public_key: string }[]>`SELECT u.email, p.public_key FROM passkeys p JOIN users u ON u.id = p.user_id ORDER BY p.created_at`;
    const alg = (k: string) => decodeCredentialPublicKey(new Uint8Array(Buffer.from(k, "base64url"))).get(cose.COSEKEYS.alg);
    // (This Chromium takes ML-DSA-44 for Alice; any algorithm the server offered will do.)
    for (const r of algs.slice(0, 2)) expect(opts.json.pubKeyCredParams.map((p: { alg: number }) => p.alg)).toContain(alg(r.public_key));
    expect(alg(algs[2]!.public_key)).toBe(cose.COSEALG.ES256);
  });

  test("passwordless sign-in with one passkey makes a session", async () => {
    await aliceCtx.clearCookies();
    expect((await me(laptop)).status).toBe(401);
    const { options, response } = await assertion(laptop, "/v1/auth/passkeys/login/options");
    expect(options.allowCredentials ?? []).toEqual([]); // discoverable: no user known yet
    expect(options.userVerification).toBe("required");

    const r = await pageFetch(laptop, "POST", "/v1/auth/passkeys/login/verify", { response });
    expect(r).toMatchObject({ status: 200, json: { status: "ok", user: { id: alice.id, email: "alice@example.com" } } });
    expect(await cookieNames(aliceCtx)).toContain("wh_session");
    const who = await me(laptop);
    expect(who).toMatchObject({ status: 200, json: { id: alice.id, via: "session" } });

    expect(await lastAudit("auth.login")).toMatchObject({ outcome: "success", actor_id: alice.id, target_id: who.json.session_id, detail: { method: "passkey" } });
    const [used] = await t.sql<{ counter: string; last_used_at: Date | null }[]>`SELECT counter, last_used_at FROM passkeys WHERE name = 'work laptop'`;
    expect(used!.last_used_at).not.toBeNull();
    expect(Number(used!.counter)).toBeGreaterThan(0);
  });

  test("as a second factor: the password alone gives no session; the passkey completes it with a new one", async () => {
    const before = (await me(laptop)).json.session_id as string;
    await aliceCtx.clearCookies();
    const first = await passwordLogin(phone, "alice@example.com");
    expect(first).toMatchObject({ status: 200, json: { status: "second_factor_required" } });
    expect(first.json.methods).toContain("passkey");
    expect(await cookieNames(aliceCtx)).toEqual(["wh_login"]);
    expect((await me(phone)).status).toBe(401);

    const { options, response } = await assertion(phone, "/v1/auth/passkeys/second-factor/options");
    expect(options.allowCredentials.map((c: { id: string }) => c.id).sort()).toEqual((await credentialIds(alice.id)).sort());
    const r = await pageFetch(phone, "POST", "/v1/auth/passkeys/second-factor/verify", { response });
    expect(r).toMatchObject({ status: 200, json: { status: "ok", user: { id: alice.id } } });
    expect(await cookieNames(aliceCtx)).toEqual(["wh_session"]);
    const who = await me(phone);
    expect(who.status).toBe(200);
    expect(who.json.session_id).not.toBe(before);
    expect(await lastAudit("auth.login")).toMatchObject({ target_id: who.json.session_id, detail: { method: "passkey_second_factor" } });

    // Without a pending login there is nothing to complete.
    await bobCtx.clearCookies();
    expect((await pageFetch(bobPage, "POST", "/v1/auth/passkeys/second-factor/options")).status).toBe(401);
  });

  test("a replayed assertion, an expired challenge and a counter that went back are refused", async () => {
    await aliceCtx.clearCookies();
    const { response } = await assertion(phone, "/v1/auth/passkeys/login/options");
    expect((await pageFetch(phone, "POST", "/v1/auth/passkeys/login/verify", { response })).status).toBe(200);
    await aliceCtx.clearCookies();
    const replay = await pageFetch(phone, "POST", "/v1/auth/passkeys/login/verify", { response });
    expect(replay).toMatchObject({ status: 401, json: { error: { code: "unauthorized" } } });
    expect(await cookieNames(aliceCtx)).toEqual([]);
    expect(await lastAudit("auth.login_failed")).toMatchObject({ outcome: "failure", detail: { method: "passkey", reason: "unknown_challenge" } });

    // Expired: the challenge is past its 5 minutes when the answer comes.
    const late = await assertion(phone, "/v1/auth/passkeys/login/options");
    await t.sql`UPDATE webauthn_challenges SET expires_at = now() - interval '1 second'`;
    expect((await pageFetch(phone, "POST", "/v1/auth/passkeys/login/verify", { response: late.response })).status).toBe(401);
    expect(await lastAudit("auth.login_failed")).toMatchObject({ detail: { reason: "expired_challenge" } });

    // Clone detection: the server has seen a higher counter than this authenticator now sends.
    const [row] = await t.sql<{ counter: string }[]>`SELECT counter FROM passkeys WHERE name = 'phone'`;
    const counter = row!.counter;
    await t.sql`UPDATE passkeys SET counter = 1000000 WHERE name = 'phone'`;
    const cloned = await assertion(phone, "/v1/auth/passkeys/login/options");
    expect((await pageFetch(phone, "POST", "/v1/auth/passkeys/login/verify", { response: cloned.response })).status).toBe(401);
    expect(await lastAudit("auth.login_failed")).toMatchObject({ actor_id: alice.id, detail: { reason: "counter_regressed" } });
    await t.sql`UPDATE passkeys SET counter = ${counter} WHERE name = 'phone'`;
    expect(await cookieNames(aliceCtx)).toEqual([]);
  });

  test("a challenge from one user's pending login can't be used for another", async () => {
    // Both have a pending login (Bob has a passkey now, so his password asks for it).
    await bobCtx.clearCookies();
    expect((await passwordLogin(bobPage, "bob@example.com")).json.status).toBe("second_factor_required");
    await aliceCtx.clearCookies();
    expect((await passwordLogin(laptop, "alice@example.com")).json.status).toBe("second_factor_required");

    // Bob's authenticator signs Alice's challenge; posted with Bob's pending login: refused.
    const alicesOptions = (await pageFetch(laptop, "POST", "/v1/auth/passkeys/second-factor/options")).json;
    const bobSigned = await getAssertion(bobPage, { ...alicesOptions, allowCredentials: [] });
    const r1 = await pageFetch(bobPage, "POST", "/v1/auth/passkeys/second-factor/verify", { response: bobSigned });
    expect(r1.status).toBe(401);
    expect(await lastAudit("auth.login_failed")).toMatchObject({ actor_id: bob.id, detail: { method: "passkey_second_factor", reason: "challenge_mismatch" } });

    // Alice's own assertion over her own challenge, posted with Bob's pending login: refused too.
    const alices = await assertion(laptop, "/v1/auth/passkeys/second-factor/options");
    const r2 = await pageFetch(bobPage, "POST", "/v1/auth/passkeys/second-factor/verify", { response: alices.response });
    expect(r2.status).toBe(401);
    // …nor does a second-factor challenge work for passwordless sign-in.
    const alices2 = await assertion(laptop, "/v1/auth/passkeys/second-factor/options");
    expect((await pageFetch(laptop, "POST", "/v1/auth/passkeys/login/verify", { response: alices2.response })).status).toBe(401);
    expect(await lastAudit("auth.login_failed")).toMatchObject({ detail: { method: "passkey", reason: "challenge_mismatch" } });
    expect(await cookieNames(bobCtx)).toEqual(["wh_login"]);

    // Each still completes their own.
    const bobs = await assertion(bobPage, "/v1/auth/passkeys/second-factor/options");
    expect((await pageFetch(bobPage, "POST", "/v1/auth/passkeys/second-factor/verify", { response: bobs.response })).json).toMatchObject({ status: "ok", user: { id: bob.id } });
    const mine = await assertion(laptop, "/v1/auth/passkeys/second-factor/options");
    expect((await pageFetch(laptop, "POST", "/v1/auth/passkeys/second-factor/verify", { response: mine.response })).json).toMatchObject({ status: "ok", user: { id: alice.id } });
    expect((await me(bobPage)).json.id).toBe(bob.id);
    expect((await me(laptop)).json.id).toBe(alice.id);
  });

  test("deleting a passkey stops it working", async () => {
    const list = (await pageFetch(laptop, "GET", "/v1/auth/passkeys")).json.passkeys as { id: string; name: string }[];
    const gone = list.find((p) => p.name === "work laptop")!;
    expect((await pageFetch(bobPage, "DELETE", `/v1/auth/passkeys/${gone.id}`)).status).toBe(404); // not Bob's
    expect((await pageFetch(laptop, "DELETE", `/v1/auth/passkeys/${gone.id}`)).status).toBe(204);
    expect((await pageFetch(laptop, "DELETE", `/v1/auth/passkeys/${gone.id}`)).status).toBe(404);
    expect(await lastAudit("passkey.delete")).toMatchObject({ outcome: "success", actor_id: alice.id, target_id: gone.id, detail: { name: "work laptop" } });
    expect((await pageFetch(laptop, "GET", "/v1/auth/passkeys")).json.passkeys.map((p: { name: string }) => p.name)).toEqual(["phone"]);

    // The laptop's authenticator still holds the credential and signs; the server no longer knows it.
    await aliceCtx.clearCookies();
    const { response } = await assertion(laptop, "/v1/auth/passkeys/login/options");
    expect((await pageFetch(laptop, "POST", "/v1/auth/passkeys/login/verify", { response })).status).toBe(401);
    expect(await lastAudit("auth.login_failed")).toMatchObject({ actor_id: null, detail: { reason: "unknown_passkey" } });
    expect(await cookieNames(aliceCtx)).toEqual([]);
  });

  test("sign-in ceremonies are rate limited and refuse cross-site posts", async () => {
    expect((await t.call("POST", "/v1/auth/passkeys/login/options", { headers: { origin: "https://evil.example" } })).status).toBe(403);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await pageFetch(laptop, "POST", "/v1/auth/passkeys/login/options")).status);
    expect(statuses).toContain(429);
  });
});

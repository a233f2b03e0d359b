/**
 * OpenID Connect sign-in against a real OpenID provider (the oidc-provider
 * package, on 127.0.0.1) with the control plane in-process on a fresh
 * database. The provider's redirect is followed by hand: the test takes the
 * code and state it sends back and calls our callback with the flow cookie,
 * as the browser would. Each refusal is checked for: the error, no new
 * session, and an auth.login_failed audit row with the reason.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { startTestApp, type TestApp } from "./helpers/app";
import { makeSigningKey, startOidcProvider, type TestProvider } from "./helpers/oidc-provider";
import { createUser } from "../src/users/service";

const skip = missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable());

const PUBLIC_URL = "http://127.0.0.1:38080";
const CALLBACK = `${PUBLIC_URL}/v1/auth/oidc/oidc/callback`;
const GOOGLE_CALLBACK = `${PUBLIC_URL}/v1/auth/oidc/google/callback`;
const WH = { client_id: "wisehosting", client_secret: "wisehosting-client-secret-0123456789" };
const OTHER = { client_id: "another-app", client_secret: "another-app-client-secret-0123456789" };
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

describe.skipIf(skip)("OpenID Connect sign-in", () => {
  let op: TestProvider; // the configured provider
  let rogue: TestProvider; // another issuer: same signing key, same clients
  let gop: TestProvider; // stands in for Google (client_secret_post only)
  let t: TestApp; // WH_SIGNUP=invite (the default)
  let open: TestApp; // WH_SIGNUP=open
  let google: TestApp; // the Google preset

  beforeAll(async () => {
    const key = await makeSigningKey();
    op = await startOidcProvider({ redirectUris: [CALLBACK], clients: [WH, OTHER], signingKey: key });
    rogue = await startOidcProvider({ redirectUris: [CALLBACK], clients: [WH, OTHER], signingKey: key });
    gop = await startOidcProvider({ redirectUris: [GOOGLE_CALLBACK], clients: [WH], clientAuth: "client_secret_post" });
    const oidcEnv = { WH_PUBLIC_URL: PUBLIC_URL, WH_OIDC_ISSUER: op.issuer, WH_OIDC_CLIENT_ID: WH.client_id, WH_OIDC_CLIENT_SECRET: WH.client_secret };
    t = await startTestApp(oidcEnv);
    open = await startTestApp({ ...oidcEnv, WH_SIGNUP: "open" });
    google = await startTestApp({
      WH_PUBLIC_URL: PUBLIC_URL,
      WH_GOOGLE_ISSUER: gop.issuer,
      WH_GOOGLE_CLIENT_ID: WH.client_id,
      WH_GOOGLE_CLIENT_SECRET: WH.client_secret,
    });
    for (const p of [op, rogue]) {
      p.accounts.set("alice-sub", { sub: "alice-sub", email: "Alice@Example.com", email_verified: true, name: "Alice" });
      p.accounts.set("stranger-sub", { sub: "stranger-sub", email: "stranger@example.com", email_verified: true, name: "Stranger" });
      p.accounts.set("unverified-sub", { sub: "unverified-sub", email: "carol@example.com", email_verified: false });
      p.accounts.set("carol-sub", { sub: "carol-sub", email: "carol@example.com", email_verified: true });
      p.accounts.set("dave-sub", { sub: "dave-sub", email: "dave@example.com", email_verified: true });
      p.accounts.set("bob-corp", { sub: "bob-corp", email: "bob@corp.example", email_verified: true });
      p.accounts.set("erin-sub", { sub: "erin-sub", email: "erin@example.com", email_verified: true });
    }
    gop.accounts.set("g-alice", { sub: "g-alice", email: "alice@example.com", email_verified: true });
    await createUser(t.sql, { email: "alice@example.com", role: "member", password: "correct horse battery" });
    await createUser(google.sql, { email: "alice@example.com", role: "member", password: "correct horse battery" });
  });
  afterAll(async () => {
    await Promise.all([t?.close(), open?.close(), google?.close()]);
    await Promise.all([op?.close(), rogue?.close(), gop?.close()]);
  });

  type Flow = { authorize: URL; state: string; cookie: string; setCookie: string };

  /** GET …/start in the app, as a browser (optionally signed in). */
  async function begin(app: TestApp, provider = "oidc", opts: { link?: boolean; cookie?: string } = {}): Promise<Flow> {
    const res = await app.app.handle(
      new Request(`http://localhost/v1/auth/oidc/${provider}/start${opts.link ? "?link=true" : ""}`, { headers: opts.cookie ? { cookie: opts.cookie } : {} }),
    );
    expect(res.status).toBe(302);
    const authorize = new URL(res.headers.get("location")!);
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith("wh_oidc="))!;
    return { authorize, state: authorize.searchParams.get("state")!, cookie: setCookie.split(";")[0]!, setCookie };
  }

  /** Our callback with what the provider sent back, and the browser's cookies. */
  async function finish(app: TestApp, back: URL, cookie: string) {
    const res = await app.app.handle(new Request(`http://localhost${back.pathname}${back.search}`, { headers: { cookie } }));
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, json, location: res.headers.get("location"), cookies: res.headers.getSetCookie() };
  }

  const sessions = async (app: TestApp) => (await app.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM sessions`)[0]!.n;
  const lastFailure = async (app: TestApp) =>
    (await app.sql<{ detail: Record<string, unknown>; outcome: string }[]>`
      SELECT detail, outcome FROM audit_events WHERE action = 'auth.login_failed' ORDER BY id DESC LIMIT 1`)[0];

  /** A callback that must be refused: status, code, no session made, audited with the reason. */
  async function expectRefused(app: TestApp, back: URL, cookie: string, status: number, reason: string, method = "oidc:oidc") {
    const before = await sessions(app);
    const r = await finish(app, back, cookie);
    expect({ status: r.status, code: r.json?.error?.code }).toEqual({ status, code: reason });
    expect(r.json.error.message).toEqual(expect.any(String));
    expect(r.cookies.some((c) => c.startsWith("wh_session="))).toBe(false);
    expect(r.cookies).toContain("wh_oidc=; Path=/v1/auth/oidc; Max-Age=0; HttpOnly; SameSite=Lax");
    expect(await sessions(app)).toBe(before);
    expect(await lastFailure(app)).toEqual({ outcome: "failure", detail: expect.objectContaining({ method, reason }) });
    return r;
  }

  const sessionCookie = (cookies: string[]) => cookies.find((c) => c.startsWith("wh_session="))!.split(";")[0]!;

  test("start: a 302 to the provider with code flow, exact redirect URI, state, nonce and S256 PKCE; the flow stored and bound to the browser", async () => {
    const f = await begin(t);
    const q = f.authorize.searchParams;
    expect(`${f.authorize.origin}${f.authorize.pathname}`).toBe(`${op.issuer}/auth`);
    expect(q.get("response_type")).toBe("code");
    expect(q.get("client_id")).toBe(WH.client_id);
    expect(q.get("redirect_uri")).toBe(CALLBACK);
    expect(q.get("scope")).toBe("openid email profile");
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(f.state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get("nonce")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [row] = await t.sql<{ provider: string; nonce: string; code_verifier: string; link_user_id: string | null; ttl: number }[]>`
      SELECT provider, nonce, code_verifier, link_user_id, extract(epoch FROM expires_at - now())::int AS ttl
      FROM oidc_flows WHERE state_hash = ${sha256(f.state)}`;
    expect(row).toMatchObject({ provider: "oidc", nonce: q.get("nonce")!, link_user_id: null });
    expect(row!.ttl).toBeGreaterThan(590);
    expect(row!.ttl).toBeLessThanOrEqual(600);
    expect(q.get("code_challenge")).toBe(createHash("sha256").update(row!.code_verifier).digest("base64url"));
    expect(f.setCookie).toBe(`wh_oidc=${f.state}; Path=/v1/auth/oidc; Max-Age=600; HttpOnly; SameSite=Lax`);
    // The state itself is not stored, only its hash.
    expect((await t.sql`SELECT 1 FROM oidc_flows WHERE state_hash = ${f.state}`).length).toBe(0);
  });

  test("the routes are in the OpenAPI document; redirects carry the security headers", async () => {
    const spec = await t.call("GET", "/v1/openapi.json");
    expect(Object.keys(spec.json.paths)).toEqual(
      expect.arrayContaining([
        "/v1/auth/oidc/{provider}/start",
        "/v1/auth/oidc/{provider}/callback",
        "/v1/auth/oidc/identities",
        "/v1/auth/oidc/identities/{provider}",
      ]),
    );
    const res = await t.app.handle(new Request("http://localhost/v1/auth/oidc/oidc/start"));
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  test("discovery: an unreachable provider, or one whose discovery names another issuer, is a 502 and no flow", async () => {
    const { start } = await import("../src/oidc/service");
    const flows = async () => (await t.sql`SELECT count(*)::int AS n FROM oidc_flows`)[0]!.n;
    const before = await flows();
    for (const issuer of ["http://127.0.0.1:9", `http://localhost:${op.port}`]) {
      const ctx = { ...t.ctx, config: { ...t.config, WH_OIDC_ISSUER: issuer } };
      const err = await start(ctx, "oidc", null).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ status: 502, code: "provider_unavailable" });
    }
    expect(await flows()).toBe(before);
  });

  test("a provider that is not configured, or unknown, is 404", async () => {
    for (const p of ["google", "github"]) {
      const r = await t.call("GET", `/v1/auth/oidc/${p}/start`);
      expect(r.status).toBe(404);
      expect((await t.call("GET", `/v1/auth/oidc/${p}/callback?code=x&state=y`)).status).toBe(404);
    }
    expect((await google.call("GET", "/v1/auth/oidc/oidc/start")).status).toBe(404);
  });

  let aliceCookie = "";
  test("full sign-in: the user with that verified email is linked and signed in; the token request is exactly what it should be", async () => {
    const f = await begin(t);
    const [flow] = await t.sql<{ code_verifier: string }[]>`SELECT code_verifier FROM oidc_flows WHERE state_hash = ${sha256(f.state)}`;
    const code_verifier = flow!.code_verifier;
    const back = await op.login(f.authorize.href, "alice-sub");
    expect(`${back.origin}${back.pathname}`).toBe(CALLBACK);
    expect(back.searchParams.get("state")).toBe(f.state);
    const code = back.searchParams.get("code")!;

    const requestsBefore = op.tokenRequests.length;
    const r = await finish(t, back, f.cookie);
    expect(r.status).toBe(302);
    expect(r.location).toBe("/");
    aliceCookie = sessionCookie(r.cookies);
    expect(r.cookies).toContain("wh_oidc=; Path=/v1/auth/oidc; Max-Age=0; HttpOnly; SameSite=Lax");

    // What we sent to the token endpoint.
    expect(op.tokenRequests.length).toBe(requestsBefore + 1);
    const sent = op.tokenRequests.at(-1)!;
    expect(Object.fromEntries(sent.body)).toEqual({ grant_type: "authorization_code", code, redirect_uri: CALLBACK, code_verifier });
    expect(sent.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(sent.headers.authorization).toBe("Basic " + Buffer.from(`${WH.client_id}:${WH.client_secret}`).toString("base64"));

    // The session works.
    const me = await t.call("GET", "/v1/auth/me", { headers: { cookie: aliceCookie } });
    expect(me).toMatchObject({ status: 200, json: { email: "alice@example.com", role: "member", via: "session" } });

    // Linked by email; the flow is gone; audited without the code or any token.
    const ids = await t.sql`SELECT provider, subject, email FROM oidc_identities`;
    expect(ids.map((i) => ({ ...i }))).toEqual([{ provider: "oidc", subject: "alice-sub", email: "alice@example.com" }]);
    expect((await t.sql`SELECT 1 FROM oidc_flows WHERE state_hash = ${sha256(f.state)}`).length).toBe(0);
    const events = await t.sql<{ action: string; detail: Record<string, unknown> }[]>`
      SELECT action, detail FROM audit_events WHERE actor_email = 'alice@example.com' ORDER BY id`;
    expect(events.map((e) => e.action)).toEqual(["oidc.link", "auth.login"]);
    expect(events[0]!.detail).toEqual({ provider: "oidc", via: "verified_email" });
    expect(events[1]!.detail).toEqual({ method: "oidc:oidc" });
    const all = JSON.stringify(await t.sql`SELECT * FROM audit_events`);
    expect(all).not.toContain(code);
    expect(all).not.toContain(f.state);
  });

  test("a second sign-in finds the account by the identity (provider, subject), whatever the email says", async () => {
    op.accounts.set("alice-sub", { sub: "alice-sub", email: "alice.new@example.com", email_verified: true, name: "Alice" });
    try {
      const f = await begin(t);
      const r = await finish(t, await op.login(f.authorize.href, "alice-sub"), f.cookie);
      expect(r.status).toBe(302);
      const me = await t.call("GET", "/v1/auth/me", { headers: { cookie: sessionCookie(r.cookies) } });
      expect(me.json.email).toBe("alice@example.com");
      expect((await t.sql`SELECT email FROM oidc_identities WHERE subject = 'alice-sub'`)[0]!.email).toBe("alice.new@example.com");
    } finally {
      op.accounts.set("alice-sub", { sub: "alice-sub", email: "Alice@Example.com", email_verified: true, name: "Alice" });
    }
  });

  test("wrong state: a changed state, a state from another browser, no flow cookie, a made-up state", async () => {
    const f = await begin(t);
    const back = await op.login(f.authorize.href, "alice-sub");

    const changed = new URL(back);
    changed.searchParams.set("state", randomBytes(32).toString("base64url"));
    await expectRefused(t, changed, f.cookie, 400, "state_mismatch");

    const other = await begin(t); // another browser, with its own flow cookie
    await expectRefused(t, back, other.cookie, 400, "state_mismatch");
    await expectRefused(t, back, "", 400, "no_flow_cookie");

    const madeUp = randomBytes(32).toString("base64url");
    const forged = new URL(back);
    forged.searchParams.set("state", madeUp);
    await expectRefused(t, forged, `wh_oidc=${madeUp}`, 400, "unknown_state");

    // None of that used the real flow up: it still signs in once.
    expect((await finish(t, back, f.cookie)).status).toBe(302);
  });

  test("a replayed callback (the same code and state twice) is refused", async () => {
    const f = await begin(t);
    const back = await op.login(f.authorize.href, "alice-sub");
    expect((await finish(t, back, f.cookie)).status).toBe(302);
    await expectRefused(t, back, f.cookie, 400, "unknown_state");
  });

  test("a replayed code under a new flow is refused by the provider (PKCE binds it to its flow)", async () => {
    const f = await begin(t);
    const back = await op.login(f.authorize.href, "alice-sub");
    expect((await finish(t, back, f.cookie)).status).toBe(302);
    const g = await begin(t);
    const replay = new URL(back);
    replay.searchParams.set("state", g.state);
    await expectRefused(t, replay, g.cookie, 400, "token_exchange_failed");
  });

  test("wrong nonce: the id_token's nonce is not the one stored for this flow", async () => {
    const f = await begin(t);
    const back = await op.login(f.authorize.href, "alice-sub");
    await t.sql`UPDATE oidc_flows SET nonce = ${randomBytes(32).toString("base64url")} WHERE state_hash = ${sha256(f.state)}`;
    await expectRefused(t, back, f.cookie, 401, "nonce_mismatch");
  });

  test("wrong issuer: an answer from another provider is refused, by its iss parameter and by its id_token", async () => {
    // The browser is sent to another issuer (same keys, same client registration) with our parameters.
    const f = await begin(t);
    const atRogue = new URL(f.authorize.href.replace(op.issuer, rogue.issuer));
    const back = await rogue.login(atRogue.href, "alice-sub");
    expect(back.searchParams.get("iss")).toBe(rogue.issuer);
    await expectRefused(t, back, f.cookie, 400, "issuer_mismatch");

    // Same again, with the iss parameter forged to ours and the token request answered by the other issuer:
    // the id_token is signed with a key we trust, for our client, with our nonce — but its iss is not ours.
    const g = await begin(t);
    const back2 = await rogue.login(g.authorize.href.replace(op.issuer, rogue.issuer), "alice-sub");
    back2.searchParams.set("iss", op.issuer);
    op.rewriteNextTokenRequest(() => ({ target: rogue }));
    await expectRefused(t, back2, g.cookie, 401, "id_token_issuer");
    expect(rogue.tokenRequests.length).toBe(0); // it reached the rogue's handler past its recording layer
  });

  test("an expired id_token (signed with the provider's own key) is refused", async () => {
    const f = await begin(t);
    const back = await op.login(f.authorize.href, "alice-sub");
    const now = Math.floor(Date.now() / 1000);
    op.resignNextIdToken((c) => ({ ...c, iat: now - 900, exp: now - 120 }));
    await expectRefused(t, back, f.cookie, 401, "id_token_expired");
  });

  test("an id_token signed by another key (same kid) is refused", async () => {
    const f = await begin(t);
    const back = await op.login(f.authorize.href, "alice-sub");
    op.resignNextIdToken((c) => c, await makeSigningKey());
    await expectRefused(t, back, f.cookie, 401, "id_token_signature");
  });

  test("wrong audience: an id_token the provider issued to another client is refused", async () => {
    const f = await begin(t);
    const asOther = new URL(f.authorize);
    asOther.searchParams.set("client_id", OTHER.client_id);
    const back = await op.login(asOther.href, "alice-sub");
    // The code belongs to the other client; its token request is answered for that client.
    op.rewriteNextTokenRequest(() => ({
      headers: { authorization: "Basic " + Buffer.from(`${OTHER.client_id}:${OTHER.client_secret}`).toString("base64") },
    }));
    await expectRefused(t, back, f.cookie, 401, "id_token_audience");
    // What we sent was our own client's request; only the provider's answer was for the other client.
    expect(op.tokenRequests.at(-1)!.headers.authorization).toBe("Basic " + Buffer.from(`${WH.client_id}:${WH.client_secret}`).toString("base64"));
  });

  test("an unknown email on an invite-only server is refused, and no account is made", async () => {
    const users = (await t.sql`SELECT count(*)::int AS n FROM users`)[0]!.n;
    const f = await begin(t);
    const r = await expectRefused(t, await op.login(f.authorize.href, "stranger-sub"), f.cookie, 403, "no_account");
    expect(r.json.error.message).toContain("invite-only");
    expect((await t.sql`SELECT count(*)::int AS n FROM users`)[0]!.n).toBe(users);
    expect((await t.sql`SELECT count(*)::int AS n FROM oidc_identities WHERE subject = 'stranger-sub'`)[0]!.n).toBe(0);
  });

  test("an email the provider has not verified does not link to the account with that email", async () => {
    await createUser(t.sql, { email: "carol@example.com", role: "member", password: "correct horse battery" });
    const f = await begin(t);
    await expectRefused(t, await op.login(f.authorize.href, "unverified-sub"), f.cookie, 403, "email_not_verified");
    expect((await t.sql`SELECT count(*)::int AS n FROM oidc_identities WHERE subject = 'unverified-sub'`)[0]!.n).toBe(0);
  });

  test("a disabled account is refused", async () => {
    const { user } = await createUser(t.sql, { email: "dave@example.com", role: "member", password: "correct horse battery" });
    await t.sql`UPDATE users SET disabled = true WHERE id = ${user.id}`;
    const f = await begin(t);
    await expectRefused(t, await op.login(f.authorize.href, "dave-sub"), f.cookie, 403, "account_disabled");
  });

  test("an account with a second factor gets a pending login, not a session", async () => {
    const { user } = await createUser(t.sql, { email: "erin@example.com", role: "member", password: "correct horse battery" });
    await t.sql`UPDATE users SET totp_enabled = true WHERE id = ${user.id}`;
    const before = await sessions(t);
    const f = await begin(t);
    const r = await finish(t, await op.login(f.authorize.href, "erin-sub"), f.cookie);
    expect(r.status).toBe(302);
    expect(r.location).toBe("/?second_factor=1");
    expect(r.cookies.some((c) => c.startsWith("wh_login="))).toBe(true);
    expect(r.cookies.some((c) => c.startsWith("wh_session="))).toBe(false);
    expect(await sessions(t)).toBe(before);
  });

  test("the provider's error answer is refused and audited", async () => {
    const f = await begin(t);
    const back = new URL(`${CALLBACK}?error=access_denied&state=${f.state}&iss=${encodeURIComponent(op.issuer)}`);
    await expectRefused(t, back, f.cookie, 400, "provider_error");
  });

  test("open sign-up: an unknown verified email makes a member account; an unverified one does not", async () => {
    const f = await begin(open);
    const r = await finish(open, await op.login(f.authorize.href, "stranger-sub"), f.cookie);
    expect(r.status).toBe(302);
    const me = await open.call("GET", "/v1/auth/me", { headers: { cookie: sessionCookie(r.cookies) } });
    expect(me).toMatchObject({ status: 200, json: { email: "stranger@example.com", role: "member" } });
    const [u] = await open.sql`SELECT role, password_hash, display_name FROM users WHERE email = 'stranger@example.com'`;
    expect({ ...u }).toEqual({ role: "member", password_hash: null, display_name: "Stranger" });
    const actions = (await open.sql`SELECT action FROM audit_events WHERE actor_email = 'stranger@example.com' ORDER BY id`).map((e) => e.action);
    expect(actions).toEqual(["user.create", "oidc.link", "auth.login"]);

    const g = await begin(open);
    await expectRefused(open, await op.login(g.authorize.href, "unverified-sub"), g.cookie, 403, "email_not_verified");
    expect((await open.sql`SELECT count(*)::int AS n FROM users WHERE email = 'carol@example.com'`)[0]!.n).toBe(0);
  });

  test("a passwordless account cannot unlink its only way in", async () => {
    const [u] = await open.sql<{ id: string }[]>`SELECT id FROM users WHERE email = 'stranger@example.com'`;
    const { createToken } = await import("../src/tokens/service");
    const { token } = await createToken(open.sql, { email: "stranger@example.com", name: "t", scope: "write" });
    const r = await open.call("DELETE", "/v1/auth/oidc/identities/oidc", { token });
    expect(r).toMatchObject({ status: 409, json: { error: { code: "last_sign_in_method" } } });
    expect((await open.sql`SELECT count(*)::int AS n FROM oidc_identities WHERE user_id = ${u!.id}`)[0]!.n).toBe(1);
  });

  test("link from a signed-in account, list, sign in with it, unlink", async () => {
    const bob = await t.userWithToken("bob@example.com");
    const login = await t.call("POST", "/v1/auth/login", { body: { email: "bob@example.com", password: "correct horse battery" } });
    expect(login.status).toBe(200);
    const bobSession = login.headers.getSetCookie().find((c) => c.startsWith("wh_session="))!.split(";")[0]!;

    // Not signed in: no linking.
    expect((await t.call("GET", "/v1/auth/oidc/oidc/start?link=true")).status).toBe(401);
    // Started from another site: refused.
    const cross = await t.call("GET", "/v1/auth/oidc/oidc/start?link=true", { headers: { cookie: bobSession, "sec-fetch-site": "cross-site" } });
    expect(cross.status).toBe(403);

    const f = await begin(t, "oidc", { link: true, cookie: bobSession });
    expect((await t.sql`SELECT link_user_id FROM oidc_flows WHERE state_hash = ${sha256(f.state)}`)[0]!.link_user_id).toBe(bob.id);
    const back = await op.login(f.authorize.href, "bob-corp");
    // The callback must come from the browser still signed in as bob.
    const g = await begin(t, "oidc", { link: true, cookie: bobSession });
    const backG = await op.login(g.authorize.href, "bob-corp");
    await expectRefused(t, backG, g.cookie, 401, "not_signed_in");

    const before = await sessions(t);
    const r = await finish(t, back, `${f.cookie}; ${bobSession}`);
    expect(r.status).toBe(302);
    expect(r.location).toBe("/?linked=oidc");
    expect(await sessions(t)).toBe(before); // linking makes no new session
    const link = await t.sql`SELECT actor_id, detail FROM audit_events WHERE action = 'oidc.link' ORDER BY id DESC LIMIT 1`;
    expect({ ...link[0] }).toEqual({ actor_id: bob.id, detail: { provider: "oidc", via: "account" } });

    const list = await t.call("GET", "/v1/auth/oidc/identities", { token: bob.token });
    expect(list.status).toBe(200);
    expect(list.json.identities).toEqual([{ provider: "oidc", name: "SSO", subject: "bob-corp", email: "bob@corp.example", created_at: expect.any(String) }]);

    // The linked identity signs bob in, though its email is not his account's.
    const s = await begin(t);
    const signIn = await finish(t, await op.login(s.authorize.href, "bob-corp"), s.cookie);
    expect(signIn.status).toBe(302);
    expect((await t.call("GET", "/v1/auth/me", { headers: { cookie: sessionCookie(signIn.cookies) } })).json.email).toBe("bob@example.com");

    // Alice's identity cannot be linked to bob.
    const h = await begin(t, "oidc", { link: true, cookie: bobSession });
    await expectRefused(t, await op.login(h.authorize.href, "alice-sub"), `${h.cookie}; ${bobSession}`, 409, "identity_taken");

    const del = await t.call("DELETE", "/v1/auth/oidc/identities/oidc", { token: bob.token });
    expect(del.status).toBe(204);
    expect((await t.call("GET", "/v1/auth/oidc/identities", { token: bob.token })).json.identities).toEqual([]);
    expect((await t.call("DELETE", "/v1/auth/oidc/identities/oidc", { token: bob.token })).status).toBe(404);
    const unlink = await t.sql`SELECT actor_id, detail FROM audit_events WHERE action = 'oidc.unlink'`;
    expect(unlink.map((e) => ({ ...e }))).toEqual([{ actor_id: bob.id, detail: { provider: "oidc" } }]);
    expect((await t.call("GET", "/v1/auth/oidc/identities")).status).toBe(401);
  });

  test("Google preset: issuer from WH_GOOGLE_ISSUER, client_secret_post when that is what the provider offers", async () => {
    const f = await begin(google, "google");
    expect(f.authorize.searchParams.get("redirect_uri")).toBe(GOOGLE_CALLBACK);
    const back = await gop.login(f.authorize.href, "g-alice");
    // Google adds parameters of its own to the answer; they are ignored, not refused.
    back.searchParams.set("authuser", "0");
    back.searchParams.set("prompt", "consent");
    const r = await finish(google, back, f.cookie);
    expect(r.status).toBe(302);
    const sent = gop.tokenRequests.at(-1)!;
    expect(sent.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(sent.body)).toEqual({
      grant_type: "authorization_code",
      code: back.searchParams.get("code")!,
      redirect_uri: GOOGLE_CALLBACK,
      code_verifier: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      client_id: WH.client_id,
      client_secret: WH.client_secret,
    });
    const me = await google.call("GET", "/v1/auth/me", { headers: { cookie: sessionCookie(r.cookies) } });
    expect(me.json.email).toBe("alice@example.com");
    const [ev] = await google.sql`SELECT detail FROM audit_events WHERE action = 'auth.login'`;
    expect(ev!.detail).toEqual({ method: "oidc:google" });
  });
});

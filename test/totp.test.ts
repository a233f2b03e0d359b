/**
 * TOTP two-factor sign-in against a real PostgreSQL: enrolment, the second
 * sign-in step, replay, lockout, recovery codes, turning it off, and what
 * ends up in the database and the audit trail. Each test tries to break one
 * promise. Codes are made with otplib from the secret in the otpauth URI.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { generate } from "otplib";
import { postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { startTestApp, type TestApp } from "./helpers/app";
import { toErrorResponse } from "../src/http/errors";
import { authRoutes } from "../src/auth/routes";
import { totpPlugin } from "../src/totp";
import { decrypt } from "../src/crypto/index";

const skip = missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable());

const PASSWORD = "correct horse battery";
const PERIOD = 30;
const currentStep = () => Math.floor(Date.now() / 1000 / PERIOD);
const codeAt = (secret: string, step: number) => generate({ secret, epoch: step * PERIOD });

/** Not within 1 s of a step boundary, so a code made now for step cur-1 is still good when the server checks it. */
async function awayFromBoundary() {
  const into = (Date.now() / 1000) % PERIOD;
  if (into > PERIOD - 1) await Bun.sleep((PERIOD - into) * 1000 + 50);
}

/** Per user: the last step a code was made for, so each new code is for a later, still acceptable step. */
class Authenticator {
  last = -1;
  constructor(readonly secret: string) {}
  async next(): Promise<{ code: string; step: number }> {
    await awayFromBoundary();
    const cur = currentStep();
    const step = Math.max(this.last + 1, cur - 1);
    if (step > cur + 1) throw new Error("test used up the ±1 step window");
    this.last = step;
    return { code: await codeAt(this.secret, step), step };
  }
  /** A code that is wrong for every step the server could accept right now. */
  async wrong(): Promise<string> {
    const cur = currentStep();
    const valid = new Set(await Promise.all([-2, -1, 0, 1, 2].map((d) => codeAt(this.secret, cur + d))));
    for (;;) {
      const c = String(Math.floor(Math.random() * 1e6)).padStart(6, "0");
      if (!valid.has(c)) return c;
    }
  }
}

const secretOf = (uri: string) => new URL(uri).searchParams.get("secret")!;

function cookieFrom(setCookies: string[], name: string): string | null {
  for (const c of setCookies) {
    const [pair] = c.split(";");
    const i = pair!.indexOf("=");
    if (pair!.slice(0, i) === name) return pair!.slice(i + 1);
  }
  return null;
}

describe.skipIf(skip)("TOTP two-factor sign-in", () => {
  let t: TestApp;
  /** The app as built in app.ts but with the sign-in rate limits off, so the many attempts here test the lockout alone. */
  let app: { handle(r: Request): Promise<Response> };
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let carol: { id: string; token: string };
  let reader: { id: string; token: string };
  /** Every code, secret and recovery code shown in these tests, to look for in the audit trail afterwards. */
  const secrets = new Set<string>();

  beforeAll(async () => {
    t = await startTestApp();
    const noLimits = { check() {} };
    app = new Elysia()
      .onError({ as: "global" }, ({ code, error }) => toErrorResponse(code, error))
      .use(authRoutes(t.ctx, noLimits))
      .use(totpPlugin(t.ctx, noLimits));
    alice = await t.userWithToken("alice@example.com");
    bob = await t.userWithToken("bob@example.com");
    carol = await t.userWithToken("carol@example.com");
    reader = await t.userWithToken("reader@example.com", "member", "read");
  });
  afterAll(async () => t?.close());

  async function call(method: string, path: string, opts: { token?: string; body?: unknown; cookie?: string; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.cookie) headers.cookie = opts.cookie;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
      headers["content-type"] = "application/json";
    }
    const res = await app.handle(new Request(`http://localhost${path}`, { method, headers, body }));
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {}
    if (opts.body && typeof opts.body === "object")
      for (const [k, v] of Object.entries(opts.body as Record<string, unknown>)) if ((k === "code" || k === "recovery_code") && typeof v === "string") secrets.add(v);
    return { status: res.status, json, text, headers: res.headers, setCookies: res.headers.getSetCookie() };
  }

  async function passwordLogin(email: string) {
    const r = await call("POST", "/v1/auth/login", { body: { email, password: PASSWORD } });
    return { ...r, login: cookieFrom(r.setCookies, "wh_login"), session: cookieFrom(r.setCookies, "wh_session") };
  }

  /** Password, then the second step with `body`. */
  async function signIn(email: string, body: Record<string, string>) {
    const first = await passwordLogin(email);
    expect(first.json.status).toBe("second_factor_required");
    return call("POST", "/v1/auth/login/totp", { cookie: `wh_login=${first.login}`, body });
  }

  const auditCount = async (action: string, userId: string) =>
    (await t.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM audit_events WHERE action = ${action} AND actor_id = ${userId}`)[0]!.n;

  /** Enrols and activates `user`; returns its authenticator and recovery codes. */
  async function turnOn(user: { id: string; token: string }) {
    const e = await call("POST", "/v1/auth/totp/enroll", { token: user.token });
    expect(e.status).toBe(200);
    const auth = new Authenticator(secretOf(e.json.otpauth_uri));
    secrets.add(auth.secret);
    const a = await call("POST", "/v1/auth/totp/activate", { token: user.token, body: { code: (await auth.next()).code } });
    expect(a.status).toBe(200);
    for (const c of a.json.recovery_codes) secrets.add(c);
    return { auth, recovery: a.json.recovery_codes as string[] };
  }

  let aliceAuth: Authenticator;
  let aliceRecovery: string[];

  test("enrol: needs a signed-in writer; the otpauth URI names WiseHosting and the email; the secret is stored encrypted", async () => {
    expect((await call("POST", "/v1/auth/totp/enroll")).status).toBe(401);
    expect((await call("POST", "/v1/auth/totp/enroll", { token: reader.token })).status).toBe(403);
    expect(await auditCount("totp.enroll", alice.id)).toBe(0);

    const r = await call("POST", "/v1/auth/totp/enroll", { token: alice.token });
    expect(r.status).toBe(200);
    expect(r.headers.get("cache-control")).toBe("no-store");
    const uri = new URL(r.json.otpauth_uri);
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.host).toBe("totp");
    expect(decodeURIComponent(uri.pathname)).toBe("/WiseHosting:alice@example.com");
    expect(uri.searchParams.get("issuer")).toBe("WiseHosting");
    const secret = secretOf(r.json.otpauth_uri);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    secrets.add(secret);

    const [row] = await t.sql<{ totp_secret_enc: string; totp_enabled: boolean }[]>`SELECT totp_secret_enc, totp_enabled FROM users WHERE id = ${alice.id}`;
    expect(row!.totp_enabled).toBe(false);
    expect(row!.totp_secret_enc).toStartWith("v1.");
    expect(row!.totp_secret_enc).not.toContain(secret);
    expect(row!.totp_secret_enc).not.toContain(secret.toLowerCase());
    expect(Buffer.from(row!.totp_secret_enc.split(".")[2]!, "base64").toString("latin1")).not.toContain(secret);
    // HKDF purpose "totp", bound to the user id
    expect(decrypt(t.config.masterKey, "totp", row!.totp_secret_enc, alice.id)).toBe(secret);
    expect(() => decrypt(t.config.masterKey, "env", row!.totp_secret_enc, alice.id)).toThrow();
    expect(() => decrypt(t.config.masterKey, "totp", row!.totp_secret_enc, bob.id)).toThrow();
    expect(await auditCount("totp.enroll", alice.id)).toBe(1);

    // Enrolling again before activation replaces the pending secret: the first one's codes no longer activate.
    const again = await call("POST", "/v1/auth/totp/enroll", { token: alice.token });
    expect(again.status).toBe(200);
    aliceAuth = new Authenticator(secretOf(again.json.otpauth_uri));
    secrets.add(aliceAuth.secret);
    expect(aliceAuth.secret).not.toBe(secret);
    const stale = await codeAt(secret, currentStep());
    if (!(await Promise.all([-1, 0, 1].map((d) => codeAt(aliceAuth.secret, currentStep() + d)))).includes(stale)) {
      const r2 = await call("POST", "/v1/auth/totp/activate", { token: alice.token, body: { code: stale } });
      expect(r2.status).toBe(422);
    }
    expect(await auditCount("totp.enroll", alice.id)).toBe(2);
  });

  test("activate: a wrong or malformed code is refused and nothing is turned on", async () => {
    const cases: [unknown, number][] = [
      [{ code: await aliceAuth.wrong() }, 422],
      [{ code: "12345" }, 400],
      [{ code: 123456 }, 400],
      [{}, 400],
      [{ code: "123456", extra: 1 }, 400],
      [{ recovery_code: "abcd-efgh-2345" }, 400],
    ];
    for (const [body, status] of cases) {
      const r = await call("POST", "/v1/auth/totp/activate", { token: alice.token, body });
      expect({ body, status: r.status }).toEqual({ body, status });
    }
    expect((await call("POST", "/v1/auth/totp/activate", { token: reader.token, body: { code: "123456" } })).status).toBe(403);
    // bob never enrolled: there is nothing to activate
    expect((await call("POST", "/v1/auth/totp/activate", { token: bob.token, body: { code: "123456" } })).status).toBe(409);
    const [u] = await t.sql<{ totp_enabled: boolean }[]>`SELECT totp_enabled FROM users WHERE id = ${alice.id}`;
    expect(u!.totp_enabled).toBe(false);
    expect((await t.sql`SELECT 1 FROM recovery_codes WHERE user_id = ${alice.id}`).length).toBe(0);
    expect(await auditCount("totp.activate", alice.id)).toBe(0);
    // and password sign-in still needs no second factor
    const login = await passwordLogin("alice@example.com");
    expect(login.json.status).toBe("ok");
  });

  test("activate with a current code: 10 one-time recovery codes, stored only hashed; enrolling again is 409", async () => {
    const { code, step } = await aliceAuth.next();
    const r = await call("POST", "/v1/auth/totp/activate", { token: alice.token, body: { code } });
    expect(r.status).toBe(200);
    expect(r.headers.get("cache-control")).toBe("no-store");
    aliceRecovery = r.json.recovery_codes;
    expect(aliceRecovery).toHaveLength(10);
    expect(new Set(aliceRecovery).size).toBe(10);
    for (const c of aliceRecovery) {
      expect(c).toMatch(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
      secrets.add(c);
    }
    const rows = await t.sql<{ code_hash: string; used_at: Date | null }[]>`SELECT code_hash, used_at FROM recovery_codes WHERE user_id = ${alice.id}`;
    expect(rows).toHaveLength(10);
    for (const row of rows) {
      expect(row.code_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.used_at).toBeNull();
      for (const c of aliceRecovery) expect(row.code_hash).not.toContain(c.replace(/-/g, ""));
    }
    const [u] = await t.sql<{ totp_enabled: boolean; totp_last_step: string }[]>`SELECT totp_enabled, totp_last_step FROM users WHERE id = ${alice.id}`;
    expect(u!.totp_enabled).toBe(true);
    expect(Number(u!.totp_last_step)).toBe(step); // the activation code is used up
    expect(await auditCount("totp.activate", alice.id)).toBe(1);

    const enrolls = await auditCount("totp.enroll", alice.id);
    expect((await call("POST", "/v1/auth/totp/enroll", { token: alice.token })).status).toBe(409);
    expect((await call("POST", "/v1/auth/totp/activate", { token: alice.token, body: { code: (await aliceAuth.next()).code } })).status).toBe(409);
    aliceAuth.last--; // that code was not consumed (409 before checking); it may be used again
    expect(await auditCount("totp.enroll", alice.id)).toBe(enrolls);
    expect(await auditCount("totp.activate", alice.id)).toBe(1);
  });

  let aliceSessionCookie = "";
  test("password sign-in now sets no session cookie, only the pending-login cookie", async () => {
    const sessionsBefore = (await t.sql`SELECT 1 FROM sessions WHERE user_id = ${alice.id}`).length;
    const r = await passwordLogin("alice@example.com");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: "second_factor_required", methods: expect.arrayContaining(["totp", "recovery_code"]) });
    expect(r.setCookies.some((c) => c.startsWith("wh_session="))).toBe(false);
    expect(r.session).toBeNull();
    expect(r.login).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await t.sql`SELECT 1 FROM sessions WHERE user_id = ${alice.id}`).length).toBe(sessionsBefore);
    // the pending-login cookie is not a session
    expect((await call("GET", "/v1/auth/me", { cookie: `wh_session=${r.login}` })).status).toBe(401);
  });

  test("second step: the activation code is refused (already used); a later code gives a new session that /me accepts", async () => {
    const first = await passwordLogin("alice@example.com");
    const [u] = await t.sql<{ totp_last_step: string }[]>`SELECT totp_last_step FROM users WHERE id = ${alice.id}`;
    const used = await codeAt(aliceAuth.secret, Number(u!.totp_last_step));
    const replay = await call("POST", "/v1/auth/login/totp", { cookie: `wh_login=${first.login}`, body: { code: used } });
    expect(replay.status).toBe(401);
    expect(replay.setCookies.some((c) => c.startsWith("wh_session="))).toBe(false);

    const sessionsBefore = await t.sql<{ id: string }[]>`SELECT id FROM sessions`;
    const logins = await auditCount("auth.login", alice.id);
    const { code } = await aliceAuth.next();
    const r = await call("POST", "/v1/auth/login/totp", {
      cookie: `wh_login=${first.login}`,
      body: { code },
      headers: { origin: t.config.publicUrl },
    });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: "ok", user: { id: alice.id, email: "alice@example.com", role: "member" } });
    const session = cookieFrom(r.setCookies, "wh_session");
    expect(session).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session).not.toBe(first.login);
    expect(r.setCookies.find((c) => c.startsWith("wh_login="))).toContain("Max-Age=0"); // challenge cleared
    aliceSessionCookie = session!;

    const me = await call("GET", "/v1/auth/me", { cookie: `wh_session=${session}` });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ id: alice.id, via: "session" });
    expect(sessionsBefore.map((s) => s.id)).not.toContain(me.json.session_id); // a new session id
    expect(await auditCount("auth.login", alice.id)).toBe(logins + 1);
    const [row] = await t.sql<{ target_id: string; detail: { method: string } }[]>`
      SELECT target_id, detail FROM audit_events WHERE action = 'auth.login' AND actor_id = ${alice.id} ORDER BY id DESC LIMIT 1`;
    expect(row).toEqual({ target_id: me.json.session_id, detail: { method: "totp" } });

    // the pending login is used up: its cookie can't make a second session, even with a fresh code
    const again = await call("POST", "/v1/auth/login/totp", { cookie: `wh_login=${first.login}`, body: { code: (await aliceAuth.next()).code } });
    aliceAuth.last--; // refused before the code was checked
    expect(again.status).toBe(401);
  });

  test("the same code again in the same step fails, even after a fresh password sign-in", async () => {
    const code = await codeAt(aliceAuth.secret, aliceAuth.last);
    const r = await signIn("alice@example.com", { code });
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe("unauthorized");
    expect(r.setCookies.some((c) => c.startsWith("wh_session="))).toBe(false);
  });

  test("without the pending-login cookie, or with a bogus, expired or session one, the second step is 401", async () => {
    const code = await aliceAuth.wrong();
    const failures = await auditCount("auth.second_factor_failed", alice.id);
    const expired = await passwordLogin("alice@example.com");
    await t.sql`UPDATE login_challenges SET expires_at = now() - interval '1 second' WHERE token_hash = encode(sha256(${expired.login!}::bytea), 'hex')`;
    for (const cookie of [undefined, "wh_login=", "wh_login=bogus", "wh_login=%zz", `wh_login=${"A".repeat(43)}`, `wh_session=${aliceSessionCookie}`, `wh_login=${aliceSessionCookie}`, `wh_login=${expired.login}`]) {
      const r = await call("POST", "/v1/auth/login/totp", { cookie, body: { code } });
      expect({ cookie, status: r.status }).toEqual({ cookie, status: 401 });
    }
    expect(await auditCount("auth.second_factor_failed", alice.id)).toBe(failures); // no user, so no attempt counted
    const [u] = await t.sql<{ second_factor_failures: number }[]>`SELECT second_factor_failures FROM users WHERE id = ${alice.id}`;
    expect(u!.second_factor_failures).toBe(1); // only the replay above
  });

  test("bad second-step bodies are 400 and count as no attempt", async () => {
    const first = await passwordLogin("alice@example.com");
    for (const body of [{}, { code: "12345" }, { code: 123456 }, { code: "123456", recovery_code: aliceRecovery[0] }, { recovery_code: "" }, "not json", [1]]) {
      const r = await call("POST", "/v1/auth/login/totp", { cookie: `wh_login=${first.login}`, body });
      expect({ body, status: r.status }).toEqual({ body, status: 400 });
    }
    const [u] = await t.sql<{ second_factor_failures: number }[]>`SELECT second_factor_failures FROM users WHERE id = ${alice.id}`;
    expect(u!.second_factor_failures).toBe(1);
  });

  test("a sign-in form posted from another site is refused", async () => {
    const first = await passwordLogin("alice@example.com");
    const r = await call("POST", "/v1/auth/login/totp", { cookie: `wh_login=${first.login}`, body: { code: "123456" }, headers: { origin: "https://evil.example" } });
    expect(r.status).toBe(403);
  });

  test("a recovery code works once, in any case or spacing, and not twice", async () => {
    const code = aliceRecovery[3]!;
    const ok = await signIn("alice@example.com", { recovery_code: ` ${code.toUpperCase().replace(/-/g, " ")} ` });
    expect(ok.status).toBe(200);
    expect(cookieFrom(ok.setCookies, "wh_session")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [row] = await t.sql<{ detail: { method: string } }[]>`
      SELECT detail FROM audit_events WHERE action = 'auth.login' AND actor_id = ${alice.id} ORDER BY id DESC LIMIT 1`;
    expect(row!.detail).toEqual({ method: "recovery_code" });
    expect((await t.sql`SELECT 1 FROM recovery_codes WHERE user_id = ${alice.id} AND used_at IS NOT NULL`).length).toBe(1);
    const [u] = await t.sql<{ second_factor_failures: number }[]>`SELECT second_factor_failures FROM users WHERE id = ${alice.id}`;
    expect(u!.second_factor_failures).toBe(0); // a success resets the count

    const twice = await signIn("alice@example.com", { recovery_code: code });
    expect(twice.status).toBe(401);
    expect(twice.setCookies.some((c) => c.startsWith("wh_session="))).toBe(false);
    const [row2] = await t.sql<{ detail: Record<string, unknown>; outcome: string }[]>`
      SELECT detail, outcome FROM audit_events WHERE action = 'auth.second_factor_failed' AND actor_id = ${alice.id} ORDER BY id DESC LIMIT 1`;
    expect(row2).toEqual({ detail: { method: "recovery_code", purpose: "login" }, outcome: "failure" });
  });

  test("the same code sent twice at once: exactly one sign-in succeeds (compare-and-swap on the step)", async () => {
    const { auth, recovery } = await turnOn(bob);
    const [a, b] = await Promise.all([passwordLogin("bob@example.com"), passwordLogin("bob@example.com")]);
    const { code } = await auth.next();
    const results = await Promise.all([a, b].map((l) => call("POST", "/v1/auth/login/totp", { cookie: `wh_login=${l.login}`, body: { code } })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);

    const [c, d] = await Promise.all([passwordLogin("bob@example.com"), passwordLogin("bob@example.com")]);
    const rec = await Promise.all([c, d].map((l) => call("POST", "/v1/auth/login/totp", { cookie: `wh_login=${l.login}`, body: { recovery_code: recovery[0] } })));
    expect(rec.map((r) => r.status).sort()).toEqual([200, 401]);
    expect(await auditCount("auth.login", bob.id)).toBe(2);
  });

  test("parallel guesses get five tries at most: the rest are refused as locked", async () => {
    const logins = await Promise.all(Array.from({ length: 12 }, () => passwordLogin("bob@example.com")));
    // the losers of the races above may or may not have been wiped by the winners' resets
    const [row] = await t.sql<{ failures: number }[]>`SELECT second_factor_failures AS failures FROM users WHERE id = ${bob.id}`;
    const failures = row!.failures;
    expect(failures).toBeLessThanOrEqual(2);
    // twelve different well-formed recovery codes that bob was never given
    const guesses = logins.map((l, i) => call("POST", "/v1/auth/login/totp", { cookie: `wh_login=${l.login}`, body: { recovery_code: `zzzz-zzzz-zz${"234567"[i % 6]}${"234567"[Math.floor(i / 6)]}` } }));
    const statuses = (await Promise.all(guesses)).map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5 - failures);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7 + failures);
    expect(await auditCount("auth.second_factor_failed", bob.id)).toBe(2 + 5 - failures); // 2 lost races above, then the guesses let through
    expect(await auditCount("auth.second_factor_locked", bob.id)).toBe(1);
  });

  test("five wrong codes lock the second factor for 15 minutes: the sixth, a right code and a recovery code are all refused; a success afterwards resets", async () => {
    const { auth, recovery } = await turnOn(carol);
    const first = await passwordLogin("carol@example.com");
    const attempt = (body: Record<string, string>) => call("POST", "/v1/auth/login/totp", { cookie: `wh_login=${first.login}`, body });
    for (let i = 1; i <= 5; i++) {
      const r = await attempt({ code: await auth.wrong() });
      expect({ i, status: r.status }).toEqual({ i, status: 401 });
      if (i === 5) expect(r.json.error.message).toContain("locked");
    }
    const sixth = await attempt({ code: await auth.wrong() });
    expect(sixth.status).toBe(429);
    expect(sixth.json.error.code).toBe("second_factor_locked");
    expect(sixth.json.error.message).toContain("locked");
    const retry = Number(sixth.headers.get("retry-after"));
    expect(retry).toBeGreaterThan(15 * 60 - 30);
    expect(retry).toBeLessThanOrEqual(15 * 60);

    const right = await auth.next();
    const r1 = await attempt({ code: right.code });
    expect(r1.status).toBe(429);
    expect(r1.setCookies.some((c) => c.startsWith("wh_session="))).toBe(false);
    expect((await attempt({ recovery_code: recovery[0]! })).status).toBe(429);
    // a fresh password sign-in doesn't lift it either
    expect((await signIn("carol@example.com", { code: right.code })).status).toBe(429);
    const [u] = await t.sql<{ locked: boolean; failures: number }[]>`
      SELECT second_factor_locked_until > now() + interval '14 minutes' AS locked, second_factor_failures AS failures FROM users WHERE id = ${carol.id}`;
    expect(u!.locked).toBe(true);
    expect((await t.sql`SELECT 1 FROM recovery_codes WHERE user_id = ${carol.id} AND used_at IS NOT NULL`).length).toBe(0); // nothing consumed while locked
    expect(await auditCount("auth.second_factor_failed", carol.id)).toBe(5);
    expect(await auditCount("auth.second_factor_locked", carol.id)).toBe(1);

    // 15 minutes later (the lock moved into the past): the right code, not used while locked, now works and clears the count
    await t.sql`UPDATE users SET second_factor_locked_until = now() - interval '1 second' WHERE id = ${carol.id}`;
    const ok = await attempt({ code: right.code });
    expect(ok.status).toBe(200);
    const [v] = await t.sql<{ failures: number; until: Date | null }[]>`
      SELECT second_factor_failures AS failures, second_factor_locked_until AS until FROM users WHERE id = ${carol.id}`;
    expect(v).toEqual({ failures: 0, until: null });

    // four wrong, one right, four wrong: never locked, since the success reset the count
    for (let i = 0; i < 4; i++) expect((await signIn("carol@example.com", { code: await auth.wrong() })).status).toBe(401);
    expect((await signIn("carol@example.com", { recovery_code: recovery[1]! })).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await signIn("carol@example.com", { code: await auth.wrong() })).status).toBe(401);
    expect(await auditCount("auth.second_factor_locked", carol.id)).toBe(1);
    expect(await auditCount("auth.second_factor_failed", carol.id)).toBe(13);
  });

  test("turning TOTP off needs a fresh valid code; then sign-in asks for no second factor and the recovery codes are gone", async () => {
    const disables = () => auditCount("totp.disable", alice.id);
    expect((await call("DELETE", "/v1/auth/totp", { body: { code: "123456" } })).status).toBe(401);
    expect((await call("DELETE", "/v1/auth/totp", { token: reader.token, body: { code: "123456" } })).status).toBe(403);
    expect((await call("DELETE", "/v1/auth/totp", { token: alice.token })).status).toBe(400);
    expect((await call("DELETE", "/v1/auth/totp", { token: alice.token, body: {} })).status).toBe(400);
    expect((await call("DELETE", "/v1/auth/totp", { token: alice.token, body: { code: await aliceAuth.wrong() } })).status).toBe(422);
    // the code last used to sign in: no longer fresh
    expect((await call("DELETE", "/v1/auth/totp", { token: alice.token, body: { code: await codeAt(aliceAuth.secret, aliceAuth.last) } })).status).toBe(422);
    // a used recovery code doesn't do either
    expect((await call("DELETE", "/v1/auth/totp", { token: alice.token, body: { recovery_code: aliceRecovery[3] } })).status).toBe(422);
    expect(await disables()).toBe(0);
    const [still] = await t.sql<{ totp_enabled: boolean }[]>`SELECT totp_enabled FROM users WHERE id = ${alice.id}`;
    expect(still!.totp_enabled).toBe(true);
    expect((await passwordLogin("alice@example.com")).json.status).toBe("second_factor_required");

    // with the session cookie from the second step, as the SPA would (same origin)
    const r = await call("DELETE", "/v1/auth/totp", {
      cookie: `wh_session=${aliceSessionCookie}`,
      headers: { origin: t.config.publicUrl },
      body: { code: (await aliceAuth.next()).code },
    });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: "disabled" });
    expect(await disables()).toBe(1);
    const [u] = await t.sql<{ totp_enabled: boolean; totp_secret_enc: string | null }[]>`SELECT totp_enabled, totp_secret_enc FROM users WHERE id = ${alice.id}`;
    expect(u).toEqual({ totp_enabled: false, totp_secret_enc: null });
    expect((await t.sql`SELECT 1 FROM recovery_codes WHERE user_id = ${alice.id}`).length).toBe(0);

    const login = await passwordLogin("alice@example.com");
    expect(login.json).toMatchObject({ status: "ok", user: { id: alice.id } });
    expect(login.session).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // off is off: another DELETE is a conflict, and a recovery code no longer signs in anywhere
    expect((await call("DELETE", "/v1/auth/totp", { token: alice.token, body: { code: "123456" } })).status).toBe(409);
    expect(await disables()).toBe(1);
  });

  test("a session cookie from another site can't enrol or turn TOTP off (CSRF)", async () => {
    const r = await call("POST", "/v1/auth/totp/enroll", { cookie: `wh_session=${aliceSessionCookie}`, headers: { origin: "https://evil.example" } });
    expect(r.status).toBe(403);
  });

  test("the audit trail: one row per event, and no code, secret or recovery code anywhere in it", async () => {
    const rows = await t.sql<{ action: string; actor_id: string | null; outcome: string; text: string }[]>`
      SELECT action, actor_id, outcome, concat_ws(' ', actor_email, target_type, target_id, user_agent, detail::text) AS text FROM audit_events`;
    const count = (action: string, id: string) => rows.filter((r) => r.action === action && r.actor_id === id).length;
    expect([count("totp.enroll", alice.id), count("totp.activate", alice.id), count("totp.disable", alice.id)]).toEqual([2, 1, 1]);
    expect([count("totp.enroll", bob.id), count("totp.activate", bob.id), count("totp.disable", bob.id)]).toEqual([1, 1, 0]);
    expect([count("auth.second_factor_locked", alice.id), count("auth.second_factor_locked", bob.id), count("auth.second_factor_locked", carol.id)]).toEqual([0, 1, 1]);
    for (const r of rows.filter((r) => r.action === "auth.second_factor_failed")) expect(r.outcome).toBe("failure");
    // alice: the activation replay, the same-step replay, a used recovery code, three bad codes to turn it off
    expect(count("auth.second_factor_failed", alice.id)).toBe(6);
    // alice signed in with TOTP once and a recovery code once after turning it on (and password-only before/after)
    const aliceLogins = await t.sql<{ detail: { method: string } }[]>`SELECT detail FROM audit_events WHERE action = 'auth.login' AND actor_id = ${alice.id} ORDER BY id`;
    expect(aliceLogins.map((r) => r.detail.method)).toEqual(["password", "totp", "recovery_code", "password"]);

    expect(secrets.size).toBeGreaterThan(30);
    for (const row of rows) for (const s of secrets) if (s.length >= 6) expect({ action: row.action, leaked: row.text.includes(s) }).toEqual({ action: row.action, leaked: false });
    const details = await t.sql<{ d: string }[]>`SELECT detail::text AS d FROM audit_events WHERE action LIKE 'totp.%' OR action LIKE 'auth.%'`;
    for (const { d } of details) expect(d).not.toMatch(/[0-9]{6}|[a-z2-7]{4}[- ]?[a-z2-7]{4}[- ]?[a-z2-7]{4}|[A-Z2-7]{16}/i);
  });

  test("the app as built: routes in the OpenAPI document, and sign-in attempts rate-limited per IP", async () => {
    const spec = await t.call("GET", "/v1/openapi.json");
    expect(Object.keys(spec.json.paths)).toEqual(expect.arrayContaining(["/v1/auth/totp/enroll", "/v1/auth/totp/activate", "/v1/auth/totp", "/v1/auth/login/totp"]));
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await t.call("POST", "/v1/auth/login/totp", { body: { code: "123456" } })).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses[10]).toBe(429);
  });
});

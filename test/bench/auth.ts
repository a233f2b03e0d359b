/**
 * What authentication costs: p50 latency of an authenticated route (bearer
 * token, session cookie) against an unauthenticated one, on the compiled
 * control plane over HTTP in one run, one request at a time; and argon2id
 * verification time on one core (the synchronous API, on this thread only).
 */
import { randomBytes } from "node:crypto";
import { adminToken, fmtMs, median, percentile, scoped, startControlPlane, table, type BenchResult } from "./common";

const ROUNDS = 3000;

async function latencies(url: string, headers: Record<string, string>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await fetch(url, { headers });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`${url} answered ${r.status}`);
    out.push(performance.now() - t0);
  }
  return out;
}

export async function benchAuth(): Promise<BenchResult> {
  return scoped(async (scope) => {
    const cp = await startControlPlane(scope, { extraEnv: { WH_API_RATE_PER_MIN: "1000000", WH_SIGNIN_RATE_PER_MIN: "1000" } });
    const token = await adminToken(cp);
    const email = `bench-${randomBytes(3).toString("hex")}@example.com`;
    const password = "a long enough bench password";
    const made = await fetch(`${cp.api}/v1/users`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ email, password, role: "member" }),
    });
    if (made.status !== 201) throw new Error(`user create: ${made.status} ${await made.text()}`);
    const login = await fetch(`${cp.api}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) });
    const cookie = /wh_session=[^;]+/.exec(login.headers.get("set-cookie") ?? "")?.[0];
    if (!cookie) throw new Error("no session cookie");

    // Interleaved in blocks so drift on the machine hits all three alike.
    const open: number[] = [];
    const bearer: number[] = [];
    const session: number[] = [];
    await latencies(`${cp.api}/v1/auth/providers`, {}, 300); // warm-up
    for (let block = 0; block < 10; block++) {
      open.push(...(await latencies(`${cp.api}/v1/auth/providers`, {}, ROUNDS / 10)));
      bearer.push(...(await latencies(`${cp.api}/v1/auth/me`, { authorization: `Bearer ${token}` }, ROUNDS / 10)));
      session.push(...(await latencies(`${cp.api}/v1/auth/me`, { cookie }, ROUNDS / 10)));
    }

    const hash = Bun.password.hashSync(password, { algorithm: "argon2id" });
    const verify: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      if (!Bun.password.verifySync(password, hash)) throw new Error("verify failed");
      verify.push(performance.now() - t0);
    }

    const p50 = { open: median(open), bearer: median(bearer), session: median(session) };
    const addBearer = p50.bearer - p50.open;
    const addSession = p50.session - p50.open;
    const rows = [
      ["route", "p50", "p99", "added p50 vs unauthenticated"],
      ["GET /v1/auth/providers (no auth)", fmtMs(p50.open), fmtMs(percentile(open, 99)), "—"],
      ["GET /v1/auth/me, bearer token", fmtMs(p50.bearer), fmtMs(percentile(bearer, 99)), `${addBearer.toFixed(3)} ms`],
      ["GET /v1/auth/me, session cookie", fmtMs(p50.session), fmtMs(percentile(session, 99)), `${addSession.toFixed(3)} ms`],
    ];
    const text =
      table(rows) + `\nargon2id verify (Bun.password.verifySync, one thread): median ${fmtMs(median(verify))}, max ${fmtMs(Math.max(...verify))} over 20`;
    return {
      name: "auth",
      tables: [{ title: `Authentication cost: ${ROUNDS} sequential requests per route, interleaved, over HTTP to the compiled control plane`, text }],
      checks: [
        { benchmark: "auth", metric: "token auth, added p50", measured: `${addBearer.toFixed(3)} ms`, target: "≤ 0.300 ms", pass: addBearer <= 0.3 },
        { benchmark: "auth", metric: "session-cookie auth, added p50", measured: `${addSession.toFixed(3)} ms`, target: "≤ 0.300 ms", pass: addSession <= 0.3 },
        { benchmark: "auth", metric: "argon2id verify, one core (median)", measured: fmtMs(median(verify)), target: "< 150 ms", pass: median(verify) < 150 },
      ],
      data: { p50, p99: { open: percentile(open, 99), bearer: percentile(bearer, 99), session: percentile(session, 99) }, verify_ms: verify },
      notes: ["both authenticated requests do one indexed SELECT (token or session by sha256); the unauthenticated route does none"],
    };
  });
}

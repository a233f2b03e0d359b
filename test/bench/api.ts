/**
 * API throughput: GET /v1/projects/:id with a bearer token at 50 concurrent
 * keep-alive connections for ~10 s (wrk when installed, else a Bun fetch load
 * generator, each its own process), against the same database work done by
 * a bare postgres.js loop in one process at the same concurrency for the same
 * time: the token lookup + the project select, i.e. the two SELECTs the
 * route runs (see pgloop.ts). Both sides get a 2 s warm-up and a 2 s tail
 * that aren't counted in the figures but show whether throughput holds. The postgres.js loop runs first; the server is idle meanwhile.
 * A third, diagnostic run repeats the loop on the server's pool size (20
 * connections for 50 concurrent loops, so queries wait for a connection as
 * they do in the server), to tell the pool's share of the gap from the
 * HTTP/framework layer's.
 *
 * Also counted: database transactions per request on each side
 * (pg_stat_database.xact_commit, read after each side's connections closed so
 * PostgreSQL has flushed its statistics), server CPU per request, and how busy
 * the whole machine was.
 */
import postgres from "postgres";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { ADMIN_URL } from "../helpers/db";
import { sha256Hex } from "../../src/protocol/hub";
import {
  adminToken,
  apiClient,
  busyPercent,
  cmd,
  cpuSecondsOf,
  fmtMb,
  fmtMs,
  fmtNum,
  fmtRatio,
  machineCpu,
  memoryOf,
  scoped,
  startControlPlane,
  table,
  type BenchResult,
} from "./common";

const CONCURRENCY = 50;
const WARMUP_S = 2;
/** A short phase after the measured one: does throughput hold under sustained load? */
const TAIL_S = 2;

type Load = {
  tool: string;
  requests: number;
  warmupRequests: number;
  errors: number;
  non2xx: number;
  seconds: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  /** CPU of the load process itself (postgres.js loop / bun fetch); not reported by wrk. */
  client_cpu_s: number;
  /** Throughput in the warm-up before and in a TAIL_S phase right after the measured window. */
  warmup_rps: number;
  tailRequests: number;
  tail_rps: number;
};
/** The control plane's pool size (src/db/index.ts, openDatabase's default max). */
const SERVER_POOL_MAX = 20;

export const hasWrk = () => Bun.spawnSync(["sh", "-c", "command -v wrk"]).exitCode === 0;

/** Parses wrk's --latency output. */
export function parseWrk(out: string): Pick<Load, "requests" | "seconds" | "rps" | "p50_ms" | "p99_ms" | "errors" | "non2xx"> {
  const dur = (v: string, unit: string) => Number(v) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 } as Record<string, number>)[unit]!;
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(out);
    return m ? dur(m[1]!, m[2]!) : NaN;
  };
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  if (!total) throw new Error(`could not read wrk's output:\n${out}`);
  const requests = Number(total[1]);
  const seconds = dur(total[2]!, total[3]!) / 1000;
  return {
    requests,
    seconds,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? requests / seconds),
    p50_ms: pct("50"),
    p99_ms: pct("99"),
    errors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    non2xx,
  };
}

type WrkRun = ReturnType<typeof parseWrk>;

async function runWrk(url: string, token: string, seconds: number): Promise<WrkRun> {
  // One wrk thread: the machine has 2 cores, shared with the server and PostgreSQL.
  const r = await cmd(["wrk", "-t1", `-c${CONCURRENCY}`, `-d${seconds}s`, "--latency", "-H", `Authorization: Bearer ${token}`, url], {
    timeoutMs: (seconds + 30) * 1000,
  });
  if (r.code !== 0) throw new Error(`wrk exited ${r.code}: ${r.err}`);
  return parseWrk(r.out);
}

async function runScript(script: string, options: Record<string, unknown>, seconds: number): Promise<Load> {
  const r = await cmd([process.execPath, join(import.meta.dir, script), JSON.stringify(options)], { timeoutMs: (seconds + 60) * 1000 });
  if (r.code !== 0) throw new Error(`${script} exited ${r.code}: ${r.err}`);
  return JSON.parse(r.out.trim().split("\n").pop()!);
}

export async function benchApi(opts: { seconds?: number } = {}): Promise<BenchResult> {
  const seconds = opts.seconds ?? Number(process.env.WH_BENCH_API_SECONDS ?? 10);
  const useWrk = process.env.WH_BENCH_LOADGEN !== "bun" && hasWrk();
  return scoped(async (scope) => {
    // The per-token API rate limit (WH_API_RATE_PER_MIN) would answer most of this load with 429s.
    const cp = await startControlPlane(scope, { label: "api", extraEnv: { WH_API_RATE_PER_MIN: "1000000000" } });
    const dbUrl = cp.env.WH_DATABASE_URL!;
    const dbName = new URL(dbUrl).pathname.slice(1);
    const token = await adminToken(cp);
    const call = apiClient(cp, token);
    const created = await call("POST", "/v1/projects", { name: `bench-api-${randomBytes(3).toString("hex")}`, repo_url: "https://example.com/app.git" });
    if (created.status !== 201) throw new Error(`project create: ${created.status} ${created.text}`);
    const projectId = created.json.id as string;
    const path = `/v1/projects/${projectId}`;
    const check = await call("GET", path);
    if (check.status !== 200 || check.json?.id !== projectId) throw new Error(`GET ${path}: ${check.status} ${check.text}`);

    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    scope.defer("close the stats connection", () => admin.end({ timeout: 2 }));
    const commits = async () => Number((await admin`SELECT xact_commit FROM pg_stat_database WHERE datname = ${dbName}`)[0]!.xact_commit);

    // 1. The bare postgres.js loop (its own process; its connections close when it exits).
    const loop = async (label: string, extra: Record<string, unknown>) => {
      console.log(`  ${label}: ${CONCURRENCY} loops, ${WARMUP_S} s warm-up + ${seconds} s`);
      const c0 = await commits();
      const m0 = machineCpu();
      const r = await runScript(
        "pgloop.ts",
        { url: dbUrl, tokenHash: sha256Hex(token), projectId, concurrency: CONCURRENCY, seconds, warmupSeconds: WARMUP_S, tailSeconds: TAIL_S, ...extra },
        seconds + WARMUP_S + TAIL_S,
      );
      const busy = busyPercent(m0, machineCpu());
      await Bun.sleep(500);
      // Warm-up iterations hit the database too, so they are counted here.
      return { load: r, busy, txPerReq: ((await commits()) - c0) / (r.requests + r.warmupRequests + r.tailRequests) };
    };
    const pg = await loop("postgres.js loop", {});
    // 2. Diagnostic: the same loop on the server's pool size.
    const pgSame = await loop(`postgres.js loop, max ${SERVER_POOL_MAX} (diagnostic)`, { max: SERVER_POOL_MAX });
    const pgLoad = pg.load;

    // 3. HTTP through the control plane.
    const url = `http://127.0.0.1:${new URL(cp.api).port}${path}`;
    console.log(`  HTTP (${useWrk ? "wrk" : "bun fetch"}): ${CONCURRENCY} connections, ${WARMUP_S} s warm-up + ${seconds} s`);
    const pid = cp.proc.proc.pid;
    const c1 = await commits();
    let http: Load;
    let serverCpu: number;
    let httpBusy: number;
    if (useWrk) {
      const warm = await runWrk(url, token, WARMUP_S);
      const s0 = cpuSecondsOf(pid);
      const m0 = machineCpu();
      const r = await runWrk(url, token, seconds);
      httpBusy = busyPercent(m0, machineCpu());
      serverCpu = cpuSecondsOf(pid) - s0;
      const tail = await runWrk(url, token, TAIL_S);
      http = { tool: "wrk", ...r, warmupRequests: warm.requests, warmup_rps: warm.rps, tailRequests: tail.requests, tail_rps: tail.rps, client_cpu_s: NaN };
    } else {
      // The Bun generator does its warm-up inside; server CPU then includes it, so it is scaled by time.
      const s0 = cpuSecondsOf(pid);
      const m0 = machineCpu();
      http = await runScript("loadgen.ts", { url, headers: { authorization: `Bearer ${token}` }, concurrency: CONCURRENCY, seconds, warmupSeconds: WARMUP_S, tailSeconds: TAIL_S }, seconds + WARMUP_S + TAIL_S);
      httpBusy = busyPercent(m0, machineCpu());
      serverCpu = ((cpuSecondsOf(pid) - s0) * seconds) / (seconds + WARMUP_S + TAIL_S);
    }
    const afterLoad = memoryOf(pid);
    await cp.proc.stop(); // closes its pool, so PostgreSQL flushes the statistics of those backends
    await Bun.sleep(500);
    const httpTxPerReq = ((await commits()) - c1) / (http.requests + http.warmupRequests + http.tailRequests);
    const pgTxPerReq = pg.txPerReq;
    const pgBusy = pg.busy;

    const ratio = http.rps / pgLoad.rps;
    const same = pgSame.load;
    const trend = (l: Load) => `${fmtNum(l.warmup_rps)} → ${fmtNum(l.tail_rps)}`;
    const decay = http.tail_rps / http.warmup_rps;
    const rows = [
      ["", `API over HTTP (${http.tool})`, "postgres.js loop", "API / postgres.js", `same loop, max ${SERVER_POOL_MAX} (diagnostic)`],
      ["requests/s", fmtNum(http.rps), fmtNum(pgLoad.rps), fmtRatio(ratio), fmtNum(same.rps)],
      ["p50 latency", fmtMs(http.p50_ms), fmtMs(pgLoad.p50_ms), fmtRatio(http.p50_ms / pgLoad.p50_ms), fmtMs(same.p50_ms)],
      ["p99 latency", fmtMs(http.p99_ms), fmtMs(pgLoad.p99_ms), fmtRatio(http.p99_ms / pgLoad.p99_ms), fmtMs(same.p99_ms)],
      [`req/s: ${WARMUP_S} s before → ${TAIL_S} s after`, trend(http), trend(pgLoad), "", trend(same)],
      ["requests (measured)", fmtNum(http.requests), fmtNum(pgLoad.requests), "", fmtNum(same.requests)],
      ["errors / non-2xx", `${http.errors} / ${http.non2xx}`, `${pgLoad.errors} / -`, "", `${same.errors} / -`],
      ["DB transactions per request", httpTxPerReq.toFixed(2), pgTxPerReq.toFixed(2), "", pgSame.txPerReq.toFixed(2)],
      ["process CPU per request", `${((serverCpu / http.requests) * 1e6).toFixed(0)} µs (server)`, `${((pgLoad.client_cpu_s / pgLoad.requests) * 1e6).toFixed(0)} µs`, "", `${((same.client_cpu_s / same.requests) * 1e6).toFixed(0)} µs`],
      ["process CPU use (% of a core)", `${((100 * serverCpu) / http.seconds).toFixed(0)} % (server)`, `${((100 * pgLoad.client_cpu_s) / pgLoad.seconds).toFixed(0)} %`, "", `${((100 * same.client_cpu_s) / same.seconds).toFixed(0)} %`],
      ["machine busy (2 cores)", `${httpBusy.toFixed(0)} %`, `${pgBusy.toFixed(0)} %`, "", `${pgSame.busy.toFixed(0)} %`],
      ["server RSS after the load", fmtMb(afterLoad.rssMb), "", "", ""],
    ];
    return {
      name: "api",
      tables: [{ title: `API throughput: GET /v1/projects/:id, ${CONCURRENCY} concurrent, ${seconds} s (after ${WARMUP_S} s warm-up)`, text: table(rows) }],
      checks: [
        {
          benchmark: "api",
          metric: "requests/s, API / postgres.js loop",
          measured: `${fmtRatio(ratio)} (${fmtNum(http.rps)} vs ${fmtNum(pgLoad.rps)} req/s)`,
          target: "≥ 0.70×",
          // Only successful answers count: a run with errors or non-2xx measures nothing.
          pass: ratio >= 0.7 && http.errors === 0 && http.non2xx === 0,
        },
      ],
      data: {
        concurrency: CONCURRENCY,
        seconds,
        warmup_seconds: WARMUP_S,
        baseline: "findTokenOwner + findProject (the two SELECTs GET /v1/projects/:id runs), postgres.js max 50, token hash computed once",
        http,
        postgres_js: pgLoad,
        postgres_js_server_pool_size_diagnostic: { ...same, options: { max: SERVER_POOL_MAX }, machine_busy_percent: pgSame.busy, db_transactions_per_request: pgSame.txPerReq },
        ratio_rps: ratio,
        http_tail_over_warmup_rps: decay,
        target_ratio_min: 0.7,
        db_transactions_per_request: { http: httpTxPerReq, postgres_js: pgTxPerReq },
        server_cpu_seconds: serverCpu,
        machine_busy_percent: { http: httpBusy, postgres_js: pgBusy },
        server_memory_after_load_mb: afterLoad,
      },
      notes: [
        `baseline = the route's two SELECTs (token lookup + project row) with the control plane's own query functions; the server's pool is max 20 (src/db/index.ts), the loop's max ${CONCURRENCY}`,
        ...(decay < 0.8
          ? [`API throughput fell from ${fmtNum(http.warmup_rps)} req/s in the warm-up to ${fmtNum(http.tail_rps)} req/s right after the measured window (${fmtRatio(decay)}): it degrades under sustained load`]
          : []),
        `load generator: ${useWrk ? "wrk -t1 (separate process)" : `bun fetch loops in a separate process (${hasWrk() ? "WH_BENCH_LOADGEN=bun" : "wrk is not installed"})`}`,
      ],
    };
  });
}

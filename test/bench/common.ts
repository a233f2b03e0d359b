/**
 * Shared parts of the benchmarks: clean-up scopes that also run on Ctrl-C,
 * the control plane and agent as real processes (through the test helpers),
 * statistics, /proc readings and table printing.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freshDatabase } from "../helpers/db";
import { podmanEnv } from "../helpers/podman";
import { AGENT, CONTROL_PLANE, freePort, launch, type Proc } from "../helpers/processes";

// ---- clean-up ---------------------------------------------------------------

/** Things to undo, last first; closed when the benchmark ends, fails, or the run is interrupted. */
export class Scope {
  private fns: { what: string; fn: () => unknown }[] = [];
  defer(what: string, fn: () => unknown): void {
    this.fns.push({ what, fn });
  }
  async close(): Promise<void> {
    while (this.fns.length) {
      const { what, fn } = this.fns.pop()!;
      try {
        await fn();
      } catch (e) {
        console.error(`  [cleanup] ${what} failed: ${e instanceof Error ? e.message : e}`);
      }
    }
  }
}

const live = new Set<Scope>();

export async function scoped<T>(body: (s: Scope) => Promise<T>): Promise<T> {
  const s = new Scope();
  live.add(s);
  try {
    return await body(s);
  } finally {
    await s.close();
    live.delete(s);
  }
}

/** Closes every open scope (for signal handlers). */
export async function closeAllScopes(): Promise<void> {
  for (const s of [...live].reverse()) await s.close();
  live.clear();
}

// ---- commands ---------------------------------------------------------------

export type Cmd = { code: number; out: string; err: string; ms: number };

/** Runs a command asynchronously (so signals and timers still work) and times it. */
export async function cmd(argv: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<Cmd> {
  const t = performance.now();
  const p = Bun.spawn(argv, { env: opts.env ?? (process.env as Record<string, string>), cwd: opts.cwd, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 300_000);
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, out, err, ms: performance.now() - t };
}

export async function must(argv: string[], opts: Parameters<typeof cmd>[1] = {}): Promise<Cmd> {
  const r = await cmd(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}: ${r.err.trim() || r.out.trim()}`);
  return r;
}

export const podmanCmd = (args: string[], timeoutMs?: number) => cmd(["podman", ...args], { env: podmanEnv, timeoutMs });

/** Thrown from a poll callback to stop polling at once. */
export class Fatal extends Error {}

/** Calls `fn` every `everyMs` until it returns a truthy value; other errors are retried, Fatal ends it. */
export async function poll<T>(what: string, fn: () => Promise<T | undefined | null | false>, opts: { timeoutMs: number; everyMs: number }): Promise<T> {
  const end = Date.now() + opts.timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (e instanceof Fatal) throw e;
      last = e;
    }
    await Bun.sleep(opts.everyMs);
  }
  throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last instanceof Error ? last.message : last})` : ""}`);
}

// ---- processes under test ---------------------------------------------------

export type ControlPlane = {
  proc: Proc;
  api: string;
  ingressPort: number;
  env: Record<string, string>;
  dataDir: string;
  /** ms from spawn to the first 200 from GET /healthz. */
  readyMs: number;
  /** What the server itself logged as its start time ("ready in N ms"). */
  selfReportedMs: number | null;
  workerSecret: string | null;
};

/**
 * Starts `wisehosting serve`: on a fresh database of the external PostgreSQL
 * (dropped when the scope closes), or on the embedded one when `embedded`.
 * Times spawn → GET /healthz 200, polling every 10 ms.
 */
export async function startControlPlane(
  scope: Scope,
  opts: { embedded?: boolean; dataDir?: string; extraEnv?: Record<string, string>; label?: string } = {},
): Promise<ControlPlane> {
  let dataDir = opts.dataDir;
  if (!dataDir) {
    dataDir = mkdtempSync(join(tmpdir(), "wh-bench-cp-"));
    const d = dataDir;
    scope.defer(`remove ${d}`, () => rmSync(d, { recursive: true, force: true }));
  }
  const apiPort = freePort();
  const ingressPort = freePort();
  const env: Record<string, string> = {
    WH_DATA_DIR: dataDir,
    WH_LISTEN: `127.0.0.1:${apiPort}`,
    WH_INGRESS_LISTEN: `127.0.0.1:${ingressPort}`,
    ...opts.extraEnv,
  };
  if (!opts.embedded) {
    const db = await freshDatabase();
    scope.defer(`drop database ${db.name}`, () => db.drop());
    env.WH_DATABASE_URL = db.url;
  }
  const api = `http://127.0.0.1:${apiPort}`;
  const t0 = performance.now();
  const proc = launch([CONTROL_PLANE, "serve"], env);
  scope.defer(`stop control plane${opts.label ? ` (${opts.label})` : ""}`, () => proc.stop());
  let readyMs = 0;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (proc.proc.exitCode !== null) throw new Error(`control plane exited (${proc.proc.exitCode}):\n${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`control plane not ready in 120 s:\n${proc.output()}`);
    try {
      const r = await fetch(`${api}/healthz`);
      await r.arrayBuffer();
      if (r.status === 200) {
        readyMs = performance.now() - t0;
        break;
      }
    } catch {}
    await Bun.sleep(10);
  }
  const m = /ready in (\d+) ms/.exec(proc.output()) ?? /ready in (\d+) ms/.exec(await proc.waitFor(/ready in \d+ ms/, 5000).catch(() => ""));
  const secret = /WH_WORKER_SECRET=(\S+)/.exec(proc.output())?.[1] ?? null;
  return { proc, api, ingressPort, env, dataDir, readyMs, selfReportedMs: m ? Number(m[1]) : null, workerSecret: secret };
}

/** `wisehosting admin create` + `token create` through the CLI; returns an admin-scoped token. */
export async function adminToken(cp: ControlPlane): Promise<string> {
  const email = `bench-${randomBytes(3).toString("hex")}@example.com`;
  const env = { ...(process.env as Record<string, string>), ...cp.env };
  await must([CONTROL_PLANE, "admin", "create", "--email", email], { env, timeoutMs: 60_000 });
  const t = await must([CONTROL_PLANE, "token", "create", "--email", email, "--name", "bench", "--scope", "admin"], { env, timeoutMs: 60_000 });
  const token = t.out.trim();
  if (!/^wh_pat_/.test(token)) throw new Error(`token create printed ${JSON.stringify(t.out)}`);
  return token;
}

/** A small API client with a bearer token. */
export function apiClient(cp: ControlPlane, token: string) {
  return async (method: string, path: string, body?: unknown) => {
    const res = await fetch(cp.api + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, json, text };
  };
}

export type Agent = { proc: Proc; name: string; stateDir: string; /** ms from spawn until the worker is online in GET /v1/workers. */ onlineMs: number };

/** Starts `wisehosting-agent` against `cp` with podman (test containers.conf), times spawn → online. */
export async function startAgent(scope: Scope, cp: ControlPlane, token: string, opts: { memoryMb?: number } = {}): Promise<Agent> {
  if (!cp.workerSecret) throw new Error(`no worker secret in the control plane's output:\n${cp.proc.output()}`);
  const name = `bench-${randomBytes(3).toString("hex")}`;
  const stateDir = mkdtempSync(join(tmpdir(), "wh-bench-agent-"));
  scope.defer(`remove ${stateDir}`, () => rmSync(stateDir, { recursive: true, force: true }));
  const call = apiClient(cp, token);
  const t0 = performance.now();
  const proc = launch([AGENT], {
    ...podmanEnv,
    WH_HUB_URL: cp.api,
    WH_WORKER_SECRET: cp.workerSecret,
    WH_WORKER_NAME: name,
    WH_WORKER_STATE_DIR: stateDir,
    WH_WORKER_MEMORY_MB: String(opts.memoryMb ?? 2048),
  });
  scope.defer(`stop agent ${name}`, () => proc.stop());
  await poll(
    "the worker to come online",
    async () => {
      if (proc.proc.exitCode !== null) throw new Fatal(`agent exited (${proc.proc.exitCode})`);
      const r = await call("GET", "/v1/workers");
      return r.json?.workers?.some((w: { name: string; status: string }) => w.name === name && w.status === "online");
    },
    { timeoutMs: 60_000, everyMs: 20 },
  ).catch((e) => {
    throw new Error(`${e.message}\n--- agent:\n${proc.output()}\n--- control plane:\n${cp.proc.output()}`);
  });
  return { proc, name, stateDir, onlineMs: performance.now() - t0 };
}

// ---- /proc ------------------------------------------------------------------

/** VmRSS and VmHWM of a pid, in MiB. */
export function memoryOf(pid: number): { rssMb: number; hwmMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
}

const CLK_TCK = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** CPU seconds (user + system) a process has used so far. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14 and 15)
}

/** Whole-machine CPU counters, to tell how busy the machine was over an interval. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}
export const busyPercent = (a: { busy: number; total: number }, b: { busy: number; total: number }) =>
  b.total > a.total ? (100 * (b.busy - a.busy)) / (b.total - a.total) : NaN;

// ---- statistics and formatting -------------------------------------------------

export function median(xs: number[]): number {
  return percentile(xs, 50);
}

/** Nearest-rank percentile of unsorted numbers. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

export const fmtMs = (ms: number) => (Number.isFinite(ms) ? (ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`) : "—");
export const fmtMb = (mb: number) => (Number.isFinite(mb) ? `${mb.toFixed(1)} MB` : "—");
export const fmtRatio = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : "—");
export const fmtNum = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—");

/**
 * A plain text table: first row is the header. `align` has one letter per
 * column, l or r; by default the first column is left-aligned, the rest right.
 */
export function table(rows: string[][], align?: string): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const left = (i: number) => (align ? align[i] === "l" : i === 0);
  const line = (r: string[]) =>
    r
      .map((c, i) => (left(i) ? (c ?? "").padEnd(widths[i]!) : (c ?? "").padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  const sep = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join("\n");
}

/** One line of the final summary: a measured value against its target. */
export type Check = { benchmark: string; metric: string; measured: string; target: string; pass: boolean | null };

/** What every benchmark returns: tables to print, checks for the summary, and raw figures for results.json. */
export type BenchResult = { name: string; tables: { title: string; text: string }[]; checks: Check[]; data: Record<string, unknown>; notes: string[] };

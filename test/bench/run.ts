/**
 * bun run bench [deploy] [api] [rss] [auth] [fleet] [failover] [--build]
 *
 * Runs the benchmarks (all, or those named), prints a table for each and a
 * summary against the targets, and writes everything to
 * test/bench/results.json. Builds dist/ first when it is missing (or with
 * --build). Every process, container, image, directory and database a
 * benchmark makes is removed when it ends, fails, or the run is interrupted.
 *
 * Needs PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres; or
 * WH_TEST_PG_URL); deploy also podman and /bin/busybox. All traffic stays on
 * 127.0.0.1. Knobs: WH_BENCH_DEPLOY_RUNS (5), WH_BENCH_API_SECONDS (10),
 * WH_BENCH_LOADGEN=bun (use the Bun load generator even when wrk is installed).
 */
import { writeFileSync } from "node:fs";
import { loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { postgresAvailable } from "../helpers/db";
import { podmanAvailable } from "../helpers/podman";
import { binariesBuilt } from "../helpers/processes";
import { benchApi } from "./api";
import { benchAuth } from "./auth";
import { benchFleet } from "./fleet";
import { benchFailover } from "./failover";
import { busyPercent, closeAllScopes, machineCpu, table, type BenchResult, type Check } from "./common";
import { benchDeploy } from "./deploy";
import { benchEdge } from "./edge";
import { benchRss } from "./rss";

const root = join(import.meta.dir, "../..");
const BENCHES: Record<string, () => Promise<BenchResult>> = { deploy: benchDeploy, api: benchApi, rss: benchRss, auth: benchAuth, fleet: benchFleet, failover: benchFailover, edge: benchEdge };

const args = process.argv.slice(2);
const forceBuild = args.includes("--build");
const named = args.filter((a) => !a.startsWith("--"));
for (const n of named) if (!(n in BENCHES)) {
  console.error(`unknown benchmark "${n}"; choose from: ${Object.keys(BENCHES).join(", ")}`);
  process.exit(2);
}
const selected = named.length ? Object.keys(BENCHES).filter((n) => named.includes(n)) : Object.keys(BENCHES);

let interrupted = false;
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, async () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n${sig}: cleaning up…`);
    await closeAllScopes();
    process.exit(130);
  });

function version(argv: string[]): string {
  const p = Bun.spawnSync(argv);
  return p.exitCode === 0 ? p.stdout.toString().trim().split("\n")[0]! : "n/a";
}

if (!(await postgresAvailable())) {
  console.error("PostgreSQL is not reachable on 127.0.0.1:5432 (or WH_TEST_PG_URL); the benchmarks need it.");
  process.exit(1);
}
if (selected.includes("deploy") && !podmanAvailable()) {
  console.error("podman with /bin/busybox is needed for the deploy benchmark.");
  process.exit(1);
}
if (forceBuild || !binariesBuilt()) {
  console.log("$ bun run build");
  const p = Bun.spawn(["bun", "run", "build"], { cwd: root, stdout: "inherit", stderr: "inherit" });
  if ((await p.exited) !== 0) process.exit(1);
}

const machine = {
  cpus: navigator.hardwareConcurrency,
  memory_gb: Math.round(totalmem() / 2 ** 30),
  bun: Bun.version,
  podman: version(["podman", "--version"]),
  postgres: version(["psql", "--version"]),
  wrk: version(["sh", "-c", "wrk -v 2>&1 | head -1"]),
};
console.log(`machine: ${machine.cpus} CPUs, ${machine.memory_gb} GB; bun ${machine.bun}; ${machine.podman}; ${machine.postgres}`);

type Started = { load_average_at_start: number; machine_busy_percent_before_start: number };
const results: Record<string, (BenchResult | { error: string }) & Started> = {};
const checks: Check[] = [];
for (const name of selected) {
  // How busy the machine is right before (other work on these 2 cores skews every figure here).
  const m0 = machineCpu();
  await Bun.sleep(2000);
  const busy = busyPercent(m0, machineCpu());
  const started: Started = { load_average_at_start: loadavg()[0]!, machine_busy_percent_before_start: busy };
  console.log(`\n=== ${name} === (machine ${busy.toFixed(0)} % busy in the 2 s before)`);
  const t = performance.now();
  try {
    const r = await BENCHES[name]!();
    if (busy > 10) r.notes.push(`the machine was ${busy.toFixed(0)} % busy in the 2 s before this benchmark: other processes were using the CPUs`);
    results[name] = { ...r, ...started };
    checks.push(...r.checks);
    for (const tb of r.tables) console.log(`\n${tb.title}\n${tb.text}`);
    for (const n of r.notes) console.log(`note: ${n}`);
  } catch (e) {
    const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
    console.error(`${name} failed: ${msg}`);
    results[name] = { error: msg, ...started };
    checks.push({ benchmark: name, metric: "(benchmark failed)", measured: "error", target: "-", pass: false });
  }
  console.log(`(${name} took ${((performance.now() - t) / 1000).toFixed(0)} s)`);
}

const summary = table([
  ["benchmark", "metric", "measured", "target", "result"],
  ...checks.map((c) => [c.benchmark, c.metric, c.measured, c.target, c.pass === null ? "" : c.pass ? "PASS" : "FAIL"]),
], "llrrl");
console.log(`\n=== summary ===\n${summary}`);

const out = join(import.meta.dir, "results.json");
writeFileSync(
  out,
  JSON.stringify(
    {
      generated_at: new Date().toISOString(),
      machine,
      summary: checks,
      benchmarks: Object.fromEntries(Object.entries(results).map(([k, v]) => [
          k,
          "error" in v
            ? v
            : {
                load_average_at_start: v.load_average_at_start,
                machine_busy_percent_before_start: v.machine_busy_percent_before_start,
                checks: v.checks,
                data: v.data,
                notes: v.notes,
                tables: v.tables,
              },
        ])),
    },
    null,
    2,
  ) + "\n",
);
console.log(`\nwrote ${out}`);
process.exit(Object.values(results).some((r) => "error" in r) ? 1 : 0);

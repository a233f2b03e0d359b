/**
 * Idle memory and start-to-ready:
 * - `wisehosting serve` on a fresh database of the external PostgreSQL: spawn
 *   → GET /healthz 200 (polled every 10 ms);
 * - `wisehosting-agent` pointed at it: spawn → the worker is online in
 *   GET /v1/workers (polled every 20 ms), first registration;
 * - after IDLE_S seconds idle, VmRSS (and VmHWM, the peak) of each process
 *   from /proc/<pid>/status (the processes themselves: the agent's podman
 *   children are not included; the embedded PGlite runs inside the control
 *   plane's process, so it is);
 * - the control plane on the embedded database: first start on a fresh
 *   WH_DATA_DIR (initdb) and a second start on the same directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { podmanAvailable } from "../helpers/podman";
import { adminToken, fmtMb, fmtMs, memoryOf, scoped, startAgent, startControlPlane, table, type BenchResult, type Check } from "./common";

const IDLE_S = 5;
const AGENT_TARGET_MB = 60;
const CP_TARGET_MB = 150;

type Row = { what: string; readyMs: number; selfReportedMs: number | null; rssMb: number; hwmMb: number; targetMb: number | null };

export async function benchRss(): Promise<BenchResult> {
  const rows: Row[] = [];

  await scoped(async (scope) => {
    console.log("  external PostgreSQL: control plane + agent");
    const cp = await startControlPlane(scope, { label: "rss external" });
    const token = await adminToken(cp);
    let agent: Awaited<ReturnType<typeof startAgent>> | null = null;
    if (podmanAvailable()) agent = await startAgent(scope, cp, token);
    await Bun.sleep(IDLE_S * 1000);
    const m = memoryOf(cp.proc.proc.pid);
    rows.push({ what: "control plane, external PostgreSQL", readyMs: cp.readyMs, selfReportedMs: cp.selfReportedMs, ...m, targetMb: CP_TARGET_MB });
    if (agent) {
      const a = memoryOf(agent.proc.proc.pid);
      rows.push({ what: "agent (spawn → worker online)", readyMs: agent.onlineMs, selfReportedMs: null, ...a, targetMb: AGENT_TARGET_MB });
    }
  });

  const dataDir = mkdtempSync(join(tmpdir(), "wh-bench-embedded-"));
  try {
    for (const [i, what] of ["control plane, embedded, first start (initdb)", "control plane, embedded, second start"].entries()) {
      console.log(`  ${what}`);
      await scoped(async (scope) => {
        const cp = await startControlPlane(scope, { embedded: true, dataDir, label: `embedded #${i + 1}` });
        await Bun.sleep(IDLE_S * 1000);
        rows.push({ what, readyMs: cp.readyMs, selfReportedMs: cp.selfReportedMs, ...memoryOf(cp.proc.proc.pid), targetMb: null });
        const t = performance.now();
        await cp.proc.stop();
        if (cp.proc.proc.exitCode !== 0) console.warn(`  (the embedded control plane exited ${cp.proc.proc.exitCode} on SIGTERM after ${fmtMs(performance.now() - t)})`);
      });
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }

  const text = table([
    ["process", "spawn → ready", "(its own log)", `VmRSS after ${IDLE_S} s idle`, "VmHWM (peak)", "target", "result"],
    ...rows.map((r) => [
      r.what,
      fmtMs(r.readyMs),
      r.selfReportedMs !== null ? `ready in ${r.selfReportedMs} ms` : "",
      fmtMb(r.rssMb),
      fmtMb(r.hwmMb),
      r.targetMb !== null ? `≤ ${r.targetMb} MB` : "",
      r.targetMb !== null ? (r.rssMb <= r.targetMb ? "PASS" : "FAIL") : "",
    ]),
  ], "lrlrrrl");
  const checks: Check[] = [];
  for (const r of rows) {
    const who = r.what.startsWith("agent") ? "agent" : r.what.replace("control plane, ", "control plane (") + ")";
    if (r.targetMb !== null)
      checks.push({ benchmark: "rss", metric: `idle VmRSS, ${who}`, measured: fmtMb(r.rssMb), target: `≤ ${r.targetMb} MB`, pass: r.rssMb <= r.targetMb });
    else checks.push({ benchmark: "rss", metric: `idle VmRSS, ${who}`, measured: fmtMb(r.rssMb), target: "-", pass: null });
    checks.push({ benchmark: "rss", metric: `${r.what.startsWith("agent") ? "spawn → online" : "spawn → /healthz 200"}, ${who}`, measured: fmtMs(r.readyMs), target: "-", pass: null });
  }
  return {
    name: "rss",
    tables: [{ title: "Idle RSS and start-to-ready (MB = MiB)", text }],
    checks,
    data: { idle_seconds: IDLE_S, targets_mb: { agent: AGENT_TARGET_MB, control_plane_external: CP_TARGET_MB }, rows },
    notes: podmanAvailable() ? [] : ["podman is not available: the agent was not measured"],
  };
}

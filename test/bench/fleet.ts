/**
 * Fleet benchmarks: placement throughput with zero over-commit (10,000
 * deployments over 1,000 workers, concurrently, in SQL), and hub scale (the
 * largest number of simulated agents one control plane holds with heartbeat
 * handling p99 < 50 ms, no dropped connection and RSS < 1 GB).
 */
import postgres from "postgres";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freshDatabase } from "../helpers/db";
import { migrate } from "../../src/db/migrations";
import { insertDeployment, placeOnWorker } from "../../src/deployments/queries";
import { sha256Hex } from "../../src/protocol/hub";
import { signWorkerToken } from "../../src/workers/jwt";
import { fmtMs, fmtNum, memoryOf, scoped, startControlPlane, table, type BenchResult, type Check } from "./common";

const PLACE_WORKERS = 1000;
const PLACE_DEPLOYMENTS = 10_000;

async function placement() {
  const db = await freshDatabase();
  const sql = postgres(db.url, { max: 20, onnotice: () => {} });
  try {
    await migrate(sql);
    const [u] = await sql`INSERT INTO users (email, role) VALUES ('bench@example.com', 'admin') RETURNING id`;
    const [p] = await sql`INSERT INTO projects (owner_id, name, repo_url, memory_mb) VALUES (${u!.id}, 'bench', 'https://x.example/r', 256) RETURNING id`;
    const workers = Array.from({ length: PLACE_WORKERS }, (_, i) => ({
      name: `w${i}`,
      api_key_hash: "x",
      capacity_mb: 2048 + (i % 7) * 512,
      status: "online",
      online_since: new Date(Date.now() - 3600_000),
    }));
    for (let i = 0; i < workers.length; i += 500) await sql`INSERT INTO workers ${sql(workers.slice(i, i + 500))}`;
    const [cap] = await sql<{ total: number }[]>`SELECT sum(capacity_mb)::int AS total FROM workers`;
    const ids: string[] = [];
    for (let i = 0; i < PLACE_DEPLOYMENTS; i++) ids.push((await insertDeployment(sql, p!.id, null)).id);
    // Ask for more than fits, so the end is contested: sizes 256..1024 MB.
    const sizes = ids.map((_, i) => 256 + (i % 4) * 256);
    const t0 = performance.now();
    let next = 0;
    let placed = 0;
    await Promise.all(
      Array.from({ length: 40 }, async () => {
        while (next < ids.length) {
          const i = next++;
          if (await placeOnWorker(sql, ids[i]!, sizes[i]!)) placed++;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const [over] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM workers WHERE allocated_mb > capacity_mb`;
    const [sums] = await sql<{ held: number; allocated: number }[]>`
      SELECT (SELECT coalesce(sum(reserved_mb), 0)::int FROM deployments) AS held, (SELECT sum(allocated_mb)::int FROM workers) AS allocated`;
    return { placed, tried: ids.length, seconds, perSecond: ids.length / seconds, overCommitted: over!.n, held: sums!.held, allocated: sums!.allocated, capacity: cap!.total };
  } finally {
    await sql.end();
    await db.drop();
  }
}

async function hubStep(n: number) {
  return scoped(async (scope) => {
    const masterHex = randomBytes(32).toString("hex");
    const cp = await startControlPlane(scope, { extraEnv: { WH_MASTER_KEY: masterHex }, label: `hub ${n}` });
    const sql = postgres(cp.env.WH_DATABASE_URL!, { max: 4, onnotice: () => {} });
    scope.defer("close bench db connection", () => sql.end());
    const master = Buffer.from(masterHex, "hex");
    const creds: { token: string; api_key: string }[] = [];
    const rows = [];
    for (let i = 0; i < n; i++) {
      const api_key = randomBytes(32).toString("hex");
      rows.push({ id: crypto.randomUUID(), name: `sim-${i}`, api_key_hash: sha256Hex(api_key), capacity_mb: 4096 });
      creds.push({ token: "", api_key });
    }
    for (let i = 0; i < rows.length; i += 1000) await sql`INSERT INTO workers ${sql(rows.slice(i, i + 1000))}`;
    for (let i = 0; i < n; i++) creds[i]!.token = (await signWorkerToken(master, rows[i]!.id)).token;
    const dir = mkdtempSync(join(tmpdir(), "wh-hubsim-"));
    scope.defer("remove sim creds", () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "creds.json"), JSON.stringify(creds));
    const sim = Bun.spawn(["bun", "run", join(import.meta.dir, "hub-sim.ts")], {
      env: { ...process.env, SIM_HUB: cp.api.replace("http", "ws") + "/v1/workers/ws", SIM_CREDS: join(dir, "creds.json"), SIM_RAMP_PER_S: "500", SIM_HOLD_S: "20" },
      stdout: "pipe",
      stderr: "inherit",
    });
    scope.defer("stop the simulator", () => sim.kill());
    const out = await new Response(sim.stdout).text();
    await sim.exited;
    const r = JSON.parse(out.trim().split("\n").pop()!) as { n: number; opened: number; failedToOpen: number; dropped: number; rampS: number; heartbeats: number; p50: number; p99: number; max: number };
    const rss = memoryOf(cp.proc.proc.pid!).rssMb;
    const [online] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM workers WHERE status = 'online'`;
    return { ...r, rssMb: rss, onlineInDb: online!.n, holds: r.opened === n && r.dropped === 0 && r.failedToOpen === 0 && r.p99 < 50 && rss < 1024 };
  });
}

export async function benchFleet(): Promise<BenchResult> {
  const place = await placement();
  const steps = (process.env.WH_BENCH_HUB_STEPS ?? "1000,2500,5000").split(",").map(Number);
  const hub = [];
  for (const n of steps) {
    const r = await hubStep(n);
    hub.push(r);
    if (!r.holds) break;
  }
  const largest = hub.filter((h) => h.holds).at(-1)?.n ?? 0;
  const placeTable = table([
    ["deployments", "workers", "placed (fit)", "time", "placements/s", "workers over capacity", "reserved = allocated"],
    [fmtNum(place.tried), fmtNum(PLACE_WORKERS), fmtNum(place.placed), `${place.seconds.toFixed(2)} s`, fmtNum(place.perSecond), String(place.overCommitted), place.held === place.allocated ? "yes" : `no (${place.held} vs ${place.allocated})`],
  ]);
  const hubTable = table([
    ["simulated agents", "opened", "dropped", "heartbeats timed", "p50", "p99", "max", "control plane RSS", "online in DB", "holds"],
    ...hub.map((h) => [fmtNum(h.n), fmtNum(h.opened), String(h.dropped + h.failedToOpen), fmtNum(h.heartbeats), fmtMs(h.p50), fmtMs(h.p99), fmtMs(h.max), `${h.rssMb.toFixed(0)} MB`, fmtNum(h.onlineInDb), h.holds ? "yes" : "no"]),
  ]);
  const checks: Check[] = [
    { benchmark: "fleet", metric: "placements/s (10,000 over 1,000 workers)", measured: fmtNum(place.perSecond), target: "≥ 500/s", pass: place.perSecond >= 500 },
    { benchmark: "fleet", metric: "workers over-committed after placement", measured: String(place.overCommitted), target: "0", pass: place.overCommitted === 0 && place.held === place.allocated },
    { benchmark: "fleet", metric: "largest simulated fleet that holds (p99 < 50 ms, no drop, RSS < 1 GB)", measured: fmtNum(largest), target: "≥ 5,000", pass: largest >= 5000 },
  ];
  return {
    name: "fleet",
    tables: [
      { title: "Placement: concurrent placements (40 in flight, pool of 20) over 1,000 workers; asks exceed capacity so the end is contested", text: placeTable },
      { title: "Hub scale: simulated agents (valid JWTs, sealed envelopes, heartbeat every 5 s, stats every 10 s), 20 s measured after ramp-up", text: hubTable },
    ],
    checks,
    data: { placement: place, hub },
    notes: ["heartbeat p99 = agent-side time from sending a heartbeat to the hub's ack (handled, queued for the batched DB write)"],
  };
}

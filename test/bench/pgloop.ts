/**
 * The API's database work with nothing around it: `concurrency` async loops
 * on one postgres.js client (max = concurrency), each running what
 * GET /v1/projects/:id runs against the database — the token lookup
 * (findTokenOwner) then the project select (findProject) — for `seconds`
 * after `warmupSeconds` not counted. The query functions are the control
 * plane's own, so the SQL text is identical; the pool options match
 * src/db/index.ts except `max`. The token's sha256 is computed once, here.
 * `max` can be set to the server's pool size (a diagnostic).
 * Usage: bun test/bench/pgloop.ts '<json options>'   → prints a JSON result.
 */
import postgres from "postgres";
import { findProject } from "../../src/projects/queries";
import { findTokenOwner } from "../../src/tokens/queries";

type Options = {
  url: string;
  tokenHash: string;
  projectId: string;
  concurrency: number;
  seconds: number;
  warmupSeconds: number;
  /** A measured phase after the main one, to see whether throughput holds. */
  tailSeconds?: number;
  /** postgres.js pool size (default: concurrency). */
  max?: number;
};

const o = JSON.parse(process.argv[2] ?? "{}") as Options;
if (new URL(o.url).hostname !== "127.0.0.1") throw new Error("pgloop only targets 127.0.0.1");
const sql = postgres(o.url, { onnotice: () => {}, transform: { undefined: null }, connect_timeout: 10, max: o.max ?? o.concurrency });

async function once(): Promise<boolean> {
  const owner = await findTokenOwner(sql, o.tokenHash);
  if (!owner) return false;
  const row = await findProject(sql, { id: owner.user_id, role: owner.role }, o.projectId);
  return row?.id === o.projectId;
}

async function phase(seconds: number, record: boolean) {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          if (!(await once())) errors++;
        } catch {
          errors++;
        }
        if (record) latencies.push(performance.now() - t);
      }
    }),
  );
  return { latencies, errors, elapsed: (performance.now() - started) / 1000 };
}

try {
  const warm = o.warmupSeconds > 0 ? await phase(o.warmupSeconds, true) : { latencies: [], elapsed: NaN };
  const cpu0 = process.cpuUsage();
  const r = await phase(o.seconds, true);
  const cpu = process.cpuUsage(cpu0);
  const tail = (o.tailSeconds ?? 0) > 0 ? await phase(o.tailSeconds!, true) : { latencies: [], elapsed: NaN };
  const sorted = Float64Array.from(r.latencies).sort();
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  console.log(
    JSON.stringify({
      tool: "postgres.js",
      requests: sorted.length,
      warmupRequests: warm.latencies.length,
      warmup_rps: warm.latencies.length / warm.elapsed,
      tailRequests: tail.latencies.length,
      tail_rps: tail.latencies.length / tail.elapsed,
      errors: r.errors,
      non2xx: 0,
      seconds: r.elapsed,
      rps: sorted.length / r.elapsed,
      p50_ms: pct(50),
      p99_ms: pct(99),
      client_cpu_s: (cpu.user + cpu.system) / 1e6,
    }),
  );
} finally {
  await sql.end({ timeout: 5 });
}

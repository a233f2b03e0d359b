/**
 * HTTP load generator, run as its own process (never inside the server's):
 * `concurrency` async loops, each doing one keep-alive fetch after another
 * for `seconds` (after `warmupSeconds` not counted). Loopback only.
 * Usage: bun test/bench/loadgen.ts '<json options>'   → prints a JSON result.
 */
export {};

type Options = { url: string; headers: Record<string, string>; concurrency: number; seconds: number; warmupSeconds: number; tailSeconds?: number };

const o = JSON.parse(process.argv[2] ?? "{}") as Options;
const host = new URL(o.url).hostname;
if (!["127.0.0.1", "localhost", "[::1]", "::1"].includes(host)) throw new Error(`loadgen only targets loopback, not ${host}`);

async function phase(seconds: number, record: boolean) {
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          const r = await fetch(o.url, { headers: o.headers });
          await r.arrayBuffer();
          if (r.status < 200 || r.status > 299) non2xx++;
        } catch {
          errors++;
        }
        if (record) latencies.push(performance.now() - t);
      }
    }),
  );
  return { latencies, errors, non2xx, elapsed: (performance.now() - started) / 1000 };
}

const warm = o.warmupSeconds > 0 ? await phase(o.warmupSeconds, true) : { latencies: [], elapsed: NaN };
const cpu0 = process.cpuUsage();
const r = await phase(o.seconds, true);
const cpu = process.cpuUsage(cpu0);
const tail = (o.tailSeconds ?? 0) > 0 ? await phase(o.tailSeconds!, true) : { latencies: [], elapsed: NaN };
const sorted = Float64Array.from(r.latencies).sort();
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
console.log(
  JSON.stringify({
    tool: "bun fetch",
    requests: sorted.length,
    warmupRequests: warm.latencies.length,
    warmup_rps: warm.latencies.length / warm.elapsed,
    tailRequests: tail.latencies.length,
    tail_rps: tail.latencies.length / tail.elapsed,
    errors: r.errors,
    non2xx: r.non2xx,
    seconds: r.elapsed,
    rps: sorted.length / r.elapsed,
    p50_ms: pct(50),
    p99_ms: pct(99),
    client_cpu_s: (cpu.user + cpu.system) / 1e6,
  }),
);

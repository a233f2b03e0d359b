/**
 * The edges: what proxying costs, and how fast a new deployment takes traffic.
 *
 * 1. Proxy overhead: GET / of a real app container (the busybox httpd test
 *    image, deployed through the platform by a real agent) at 50 concurrent
 *    connections, directly on its published port, through the built-in
 *    ingress, and through Caddy (plain HTTP, routes written by the edge
 *    reconciler), each for WH_BENCH_EDGE_SECONDS (8) after a 2 s warm-up,
 *    in WH_BENCH_EDGE_ROUNDS (2) rounds taking turns; the median round counts.
 *    Load from wrk -t1 when installed (else the Bun load generator), its own
 *    process. The control plane (API, hub, ingress, edge reconciler) runs in
 *    this process, idle but for the ingress during the load.
 * 2. Route propagation: WH_BENCH_EDGE_DEPLOYS (5) redeploys, each with a new
 *    page; from the moment the deployment turned running (running_at, set when
 *    the agent reported its health check passed) to the first response with
 *    the new page through each edge, both polled back to back meanwhile.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestApp } from "../helpers/app";
import { startCaddy } from "../helpers/caddy";
import { makeAppRepo } from "../helpers/gitrepo";
import { ensureBaseImage, podmanEnv, removeWorkerContainers } from "../helpers/podman";
import { AGENT, freePort, launch } from "../helpers/processes";
import { startEdge } from "../../src/edge";
import { startIngress } from "../../src/ingress/service";
import { createScheduler } from "../../src/scheduler/service";
import { hasWrk, parseWrk } from "./api";
import { cmd, Fatal, fmtMs, fmtNum, fmtRatio, median, podmanCmd, poll, scoped, table, type BenchResult } from "./common";

const CONCURRENCY = 50;
const WARMUP_S = 2;
const PROPAGATION_TARGET_MS = 250;

type Load = { tool: string; rps: number; p50_ms: number; p99_ms: number; requests: number; errors: number; non2xx: number };

async function load(url: string, host: string | null, seconds: number, useWrk: boolean): Promise<Load> {
  if (useWrk) {
    const run = async (s: number) => {
      const argv = ["wrk", "-t1", `-c${CONCURRENCY}`, `-d${s}s`, "--latency", ...(host ? ["-H", `Host: ${host}`] : []), url];
      const r = await cmd(argv, { timeoutMs: (s + 30) * 1000 });
      if (r.code !== 0) throw new Error(`wrk exited ${r.code}: ${r.err}`);
      return parseWrk(r.out);
    };
    await run(WARMUP_S);
    return { tool: "wrk", ...(await run(seconds)) };
  }
  const r = await cmd([process.execPath, join(import.meta.dir, "loadgen.ts"), JSON.stringify({ url, headers: host ? { host } : {}, concurrency: CONCURRENCY, seconds, warmupSeconds: WARMUP_S })], {
    timeoutMs: (seconds + 60) * 1000,
  });
  if (r.code !== 0) throw new Error(`loadgen exited ${r.code}: ${r.err}`);
  return JSON.parse(r.out.trim().split("\n").pop()!);
}

export async function benchEdge(): Promise<BenchResult> {
  const seconds = Number(process.env.WH_BENCH_EDGE_SECONDS ?? 8);
  const rounds = Number(process.env.WH_BENCH_EDGE_ROUNDS ?? 2);
  const deploys = Number(process.env.WH_BENCH_EDGE_DEPLOYS ?? 5);
  const useWrk = process.env.WH_BENCH_LOADGEN !== "bun" && hasWrk();
  if (Bun.spawnSync(["sh", "-c", "command -v caddy"]).exitCode !== 0) throw new Error("caddy is not installed (apt-get install caddy)");
  ensureBaseImage();
  return scoped(async (scope) => {
    const caddy = await startCaddy({ http: { servers: {} } });
    scope.defer("stop caddy", () => caddy.stop());
    const ingressPort = freePort();
    const t = await startTestApp({
      WH_INGRESS_LISTEN: `127.0.0.1:${ingressPort}`,
      WH_ALLOW_LOCAL_REPOS: "true",
      WH_CADDY_ADMIN_URL: caddy.adminUrl,
      WH_CADDY_TLS: "off",
      WH_CADDY_LISTEN: `127.0.0.1:${caddy.httpPort}`,
    });
    scope.defer("drop the bench database", () => t.close());
    const base = t.listen();
    const token = (await t.userWithToken(`bench-${randomBytes(3).toString("hex")}@example.com`, "admin", "admin")).token;
    const ingress = startIngress(t.ctx);
    scope.defer("stop the ingress", () => ingress.stop());
    await ingress.reload();
    const edge = startEdge(t.ctx);
    scope.defer("stop the edge", () => edge.stop());
    const scheduler = createScheduler(t.ctx);
    scope.defer("stop the scheduler", () => scheduler.stop());

    const workerName = `bench-edge-${randomBytes(3).toString("hex")}`;
    const stateDir = mkdtempSync(join(tmpdir(), "wh-bench-edge-agent-"));
    scope.defer(`remove ${stateDir}`, () => rmSync(stateDir, { recursive: true, force: true }));
    const agent = launch([AGENT], {
      ...podmanEnv,
      WH_HUB_URL: base,
      WH_WORKER_SECRET: t.config.workerSecret,
      WH_WORKER_NAME: workerName,
      WH_WORKER_STATE_DIR: stateDir,
      WH_WORKER_MEMORY_MB: "2048",
    });
    scope.defer("stop the agent", () => agent.stop());
    scope.defer("remove the agent's containers", () => removeWorkerContainers(workerName));
    await poll("the worker to come online", async () => {
      if (agent.proc.exitCode !== null) throw new Fatal(`agent exited: ${agent.output()}`);
      return (await t.sql`SELECT 1 FROM workers WHERE name = ${workerName} AND status = 'online'`).length === 1;
    }, { timeoutMs: 60_000, everyMs: 50 });

    const call = (method: string, path: string, body?: unknown) => t.call(method, path, { token, body });
    const nonce = randomBytes(3).toString("hex");
    const repo = makeAppRepo(`edge ${nonce} 0\n`);
    scope.defer(`remove ${repo.dir}`, () => rmSync(repo.dir, { recursive: true, force: true }));
    const name = `bench-edge-${nonce}`;
    const created = await call("POST", "/v1/projects", { name, repo_url: `file://${repo.dir}`, memory_mb: 128, cpus: 1 });
    if (created.status !== 201) throw new Error(`project create: ${created.status} ${created.text}`);
    const projectId = created.json.id as string;
    scope.defer("remove the project's images", async () => {
      const ids = (await podmanCmd(["images", "-q", "--filter", `label=wh.project=${projectId}`])).out.split("\n").filter(Boolean);
      if (ids.length) await podmanCmd(["rmi", "-f", ...ids]);
    });
    const host = `${name}.localhost`;
    const via = {
      ingress: (path = "/") => fetch(`http://127.0.0.1:${ingressPort}${path}`, { headers: { host } }),
      caddy: (path = "/") => fetch(`http://127.0.0.1:${caddy.httpPort}${path}`, { headers: { host } }),
    };
    const deploy = async () => {
      const dep = await call("POST", `/v1/projects/${projectId}/deployments`);
      if (dep.status !== 202) throw new Error(`deploy: ${dep.status} ${dep.text}`);
      return poll("the deployment to run", async () => {
        const d = (await call("GET", `/v1/deployments/${dep.json.id}`)).json;
        if (d.status === "failed") throw new Fatal(`deployment failed: ${d.error}`);
        return d.status === "running" ? (d as { id: string; running_at: string }) : null;
      }, { timeoutMs: 180_000, everyMs: 50 });
    };

    // ---- 2. route propagation (first: it also leaves the last deployment running for 1.) ----
    await deploy();
    const propagation: { ingress: number[]; caddy: number[] } = { ingress: [], caddy: [] };
    for (let i = 1; i <= deploys; i++) {
      const page = `edge ${nonce} ${i}\n`;
      repo.commitPage(page);
      let done = false;
      const firstSeen: Partial<Record<keyof typeof via, number>> = {};
      const watchers = (Object.keys(via) as (keyof typeof via)[]).map(async (edgeName) => {
        while (!done && firstSeen[edgeName] === undefined) {
          try {
            const r = await via[edgeName]();
            const body = await r.text();
            if (r.status === 200 && body === page) firstSeen[edgeName] = Date.now();
          } catch {}
          await Bun.sleep(1);
        }
      });
      const d = await deploy();
      await poll("both edges to serve the new page", async () => firstSeen.ingress !== undefined && firstSeen.caddy !== undefined, { timeoutMs: 30_000, everyMs: 5 }).finally(() => (done = true));
      await Promise.all(watchers);
      const running = new Date(d.running_at).getTime();
      propagation.ingress.push(firstSeen.ingress! - running);
      propagation.caddy.push(firstSeen.caddy! - running);
      console.log(`  deploy ${i}: ingress ${firstSeen.ingress! - running} ms, caddy ${firstSeen.caddy! - running} ms after running`);
      await Bun.sleep(2500); // the old container's drain and removal, out of the next measurement
    }

    // ---- 1. proxy overhead ----
    const dep = (await t.sql<{ address: string; host_port: number }[]>`
      SELECT w.address, d.host_port FROM projects p JOIN deployments d ON d.id = p.current_deployment_id JOIN workers w ON w.id = d.worker_id
      WHERE p.id = ${projectId}`)[0]!;
    const targets = {
      direct: { url: `http://127.0.0.1:${dep.host_port}/`, host: null },
      ingress: { url: `http://127.0.0.1:${ingressPort}/`, host },
      caddy: { url: `http://127.0.0.1:${caddy.httpPort}/`, host },
    } as const;
    for (const [k, v] of Object.entries(targets)) {
      const r = await fetch(v.url, { headers: v.host ? { host: v.host } : {} });
      const body = await r.text();
      if (r.status !== 200 || !body.startsWith(`edge ${nonce}`)) throw new Error(`${k}: ${r.status} ${body.slice(0, 200)}`);
    }
    const runs: Record<keyof typeof targets, Load[]> = { direct: [], ingress: [], caddy: [] };
    for (let round = 0; round < rounds; round++) {
      const order = (round % 2 === 0 ? ["direct", "ingress", "caddy"] : ["caddy", "ingress", "direct"]) as (keyof typeof targets)[];
      for (const k of order) {
        console.log(`  round ${round + 1}: ${k}, ${CONCURRENCY} connections, ${WARMUP_S} s warm-up + ${seconds} s`);
        runs[k].push(await load(targets[k].url, targets[k].host, seconds, useWrk));
      }
    }
    const pick = (k: keyof typeof targets) => [...runs[k]].sort((a, b) => a.rps - b.rps)[Math.floor((runs[k].length - 1) / 2)]!;
    const direct = pick("direct");
    const viaIngress = pick("ingress");
    const viaCaddy = pick("caddy");
    const ingressRatio = viaIngress.rps / direct.rps;
    const caddyRatio = viaCaddy.rps / direct.rps;

    const overhead = table([
      ["", "direct (published port)", "built-in ingress", "Caddy (HTTP)"],
      ["requests/s", fmtNum(direct.rps), fmtNum(viaIngress.rps), fmtNum(viaCaddy.rps)],
      ["vs direct", "1.00×", fmtRatio(ingressRatio), fmtRatio(caddyRatio)],
      ["p50 latency", fmtMs(direct.p50_ms), fmtMs(viaIngress.p50_ms), fmtMs(viaCaddy.p50_ms)],
      ["p99 latency", fmtMs(direct.p99_ms), fmtMs(viaIngress.p99_ms), fmtMs(viaCaddy.p99_ms)],
      ["requests/s of every round", runs.direct.map((r) => fmtNum(r.rps)).join(", "), runs.ingress.map((r) => fmtNum(r.rps)).join(", "), runs.caddy.map((r) => fmtNum(r.rps)).join(", ")],
      ["errors / non-2xx", `${direct.errors} / ${direct.non2xx}`, `${viaIngress.errors} / ${viaIngress.non2xx}`, `${viaCaddy.errors} / ${viaCaddy.non2xx}`],
    ]);
    const prop = table([
      ["", "built-in ingress", "Caddy"],
      ["median", fmtMs(median(propagation.ingress)), fmtMs(median(propagation.caddy))],
      ["max", fmtMs(Math.max(...propagation.ingress)), fmtMs(Math.max(...propagation.caddy))],
      ["every deploy", propagation.ingress.map((x) => `${x}`).join(", ") + " ms", propagation.caddy.map((x) => `${x}`).join(", ") + " ms"],
    ]);
    const maxIngress = Math.max(...propagation.ingress);
    const maxCaddy = Math.max(...propagation.caddy);
    return {
      name: "edge",
      tables: [
        { title: `Proxy overhead: GET / of the app container (busybox httpd), ${CONCURRENCY} concurrent, ${seconds} s after ${WARMUP_S} s warm-up, median of ${rounds} rounds`, text: overhead },
        { title: `Route propagation: deployment running (health check passed) → first response with its page, ${deploys} redeploys`, text: prop },
      ],
      checks: [
        { benchmark: "edge", metric: "requests/s, built-in ingress / direct", measured: `${fmtRatio(ingressRatio)} (${fmtNum(viaIngress.rps)} vs ${fmtNum(direct.rps)})`, target: "≥ 0.80×", pass: ingressRatio >= 0.8 },
        { benchmark: "edge", metric: "requests/s, built-in ingress vs Caddy", measured: `${fmtNum(viaIngress.rps)} vs ${fmtNum(viaCaddy.rps)}`, target: "ingress ahead", pass: viaIngress.rps > viaCaddy.rps },
        { benchmark: "edge", metric: "route propagation, built-in ingress (max)", measured: fmtMs(maxIngress), target: `≤ ${PROPAGATION_TARGET_MS} ms`, pass: maxIngress <= PROPAGATION_TARGET_MS },
        { benchmark: "edge", metric: "route propagation, Caddy (max)", measured: fmtMs(maxCaddy), target: `≤ ${PROPAGATION_TARGET_MS} ms`, pass: maxCaddy <= PROPAGATION_TARGET_MS },
      ],
      data: { concurrency: CONCURRENCY, seconds, warmup_seconds: WARMUP_S, rounds, runs, direct, ingress: viaIngress, caddy: viaCaddy, propagation_ms: propagation },
      notes: [
        `load generator: ${useWrk ? "wrk -t1 (separate process)" : "bun fetch loops in a separate process"}; the app is busybox httpd in a podman container (one process per connection), reached on its published port`,
        "Caddy serves plain HTTP here (WH_CADDY_TLS=off) so both edges do the same work; with TLS it adds the handshake and encryption",
        "propagation is measured against running_at, the database time of the agent's report; both edges are polled back to back (1 ms pause)",
      ],
    };
  });
}

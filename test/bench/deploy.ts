/**
 * Deploy overhead: POST /v1/projects/:id/deployments → first HTTP 200 with
 * the new page through the ingress, against the same steps run by hand:
 *   git clone --depth 1 --branch main -- file://<repo> <dir>
 *   podman build -f Containerfile -t <tag> <dir>
 *   podman run -d -p 127.0.0.1::8080 <tag>      (plus --name, for clean-up)
 *   podman port <name> 8080/tcp, then poll until the first 200.
 * Before every run (either side) the repository gets a new commit with a
 * changed page, so each side clones, builds a fresh COPY layer on the cached
 * base image, and starts a new container. Sides alternate (by hand first);
 * one warm-up round of each is not counted. Both sides poll every POLL_MS.
 * Between runs the previous run's leftovers are removed (untimed) so neither
 * side pays for the other's clean-up.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeAppRepo } from "../helpers/gitrepo";
import { containersOf, ensureBaseImage, podmanEnv, removeWorkerContainers } from "../helpers/podman";
import {
  adminToken,
  apiClient,
  Fatal,
  fmtMs,
  fmtRatio,
  median,
  must,
  podmanCmd,
  poll,
  scoped,
  startAgent,
  startControlPlane,
  table,
  type BenchResult,
} from "./common";

const POLL_MS = 10;
const RUN_TIMEOUT_MS = 180_000;

type Phases = Record<string, number>;
type Run = { side: "by hand" | "platform"; round: number; totalMs: number; phases: Phases };

/** GETs `url` (optionally with a Host header) until it answers 200 with exactly `page`. */
async function firstOk(url: string, page: string, host?: string, check?: () => Promise<void>): Promise<void> {
  let n = 0;
  await poll(
    `${url} to serve the new page`,
    async () => {
      if (check && ++n % 20 === 0) await check();
      const r = await fetch(url, { headers: host ? { host } : {} });
      const body = await r.text();
      return r.status === 200 && body === page;
    },
    { timeoutMs: RUN_TIMEOUT_MS, everyMs: POLL_MS },
  );
}

export async function benchDeploy(opts: { runs?: number } = {}): Promise<BenchResult> {
  const N = opts.runs ?? Number(process.env.WH_BENCH_DEPLOY_RUNS ?? 5);
  ensureBaseImage();
  return scoped(async (scope) => {
    const nonce = randomBytes(3).toString("hex");
    const cp = await startControlPlane(scope, { extraEnv: { WH_ALLOW_LOCAL_REPOS: "true" }, label: "deploy" });
    const token = await adminToken(cp);
    const call = apiClient(cp, token);
    const agent = await startAgent(scope, cp, token);
    scope.defer("remove the agent's containers", () => removeWorkerContainers(agent.name));

    const repo = makeAppRepo(`bench ${nonce} initial\n`);
    scope.defer(`remove ${repo.dir}`, () => rmSync(repo.dir, { recursive: true, force: true }));
    const work = mkdtempSync(join(tmpdir(), "wh-bench-byhand-"));
    scope.defer(`remove ${work}`, () => rmSync(work, { recursive: true, force: true }));

    const projectName = `bench-${nonce}`;
    const created = await call("POST", "/v1/projects", { name: projectName, repo_url: `file://${repo.dir}` });
    if (created.status !== 201) throw new Error(`project create: ${created.status} ${created.text}`);
    const project = created.json as { id: string; memory_mb: number; cpus: number };
    scope.defer("remove the project's images", async () => {
      const ids = (await podmanCmd(["images", "-q", "--filter", `label=wh.project=${project.id}`])).out.split("\n").filter(Boolean);
      if (ids.length) await podmanCmd(["rmi", "-f", ...new Set(ids)]);
    });
    scope.defer("delete the project", async () => {
      if (cp.proc.proc.exitCode !== null) return; // gone already (interrupted): containers and images are removed below
      const r = await call("DELETE", `/v1/projects/${project.id}`);
      if (r.status !== 204) throw new Error(`DELETE project: ${r.status} ${r.text}`);
      await poll("the project's containers to be removed", async () => containersOf(agent.name).length === 0, { timeoutMs: 30_000, everyMs: 250 });
    });
    const ingress = `http://127.0.0.1:${cp.ingressPort}/`;
    const host = `${projectName}.localhost:${cp.ingressPort}`;

    async function byHand(round: number): Promise<Run> {
      const page = `by hand, round ${round}, ${nonce}\n`;
      repo.commitPage(page);
      const dir = join(work, `src-${round}`);
      const tag = `localhost/wh-bench-byhand:${nonce}-${round}`;
      const name = `wh-bench-byhand-${nonce}-${round}`;
      scope.defer(`remove container ${name} and image ${tag}`, async () => {
        await podmanCmd(["rm", "-f", "--ignore", "-t", "0", name]);
        await podmanCmd(["rmi", "--ignore", tag]);
      });
      const t0 = performance.now();
      const clone = await must(["git", "clone", "--depth", "1", "--branch", "main", "--", `file://${repo.dir}`, dir]);
      const build = await must(["podman", "build", "-f", "Containerfile", "-t", tag, dir], { cwd: dir, env: podmanEnv });
      const run = await must(["podman", "run", "-d", "--name", name, "-p", "127.0.0.1::8080", tag], { env: podmanEnv });
      const port = await must(["podman", "port", name, "8080/tcp"], { env: podmanEnv });
      const hostPort = Number(/:(\d+)\s*$/.exec(port.out.trim())?.[1]);
      if (!hostPort) throw new Error(`podman port printed ${JSON.stringify(port.out)}`);
      const tReady = performance.now();
      await firstOk(`http://127.0.0.1:${hostPort}/`, page);
      const tDone = performance.now();
      const totalMs = tDone - t0;
      // Untimed clean-up, so the next run starts from the same state.
      await podmanCmd(["rm", "-f", "-t", "0", name]);
      await podmanCmd(["rmi", tag]);
      rmSync(dir, { recursive: true, force: true });
      return {
        side: "by hand",
        round,
        totalMs,
        phases: { clone: clone.ms, build: build.ms, run: run.ms + port.ms, "first 200": tDone - tReady },
      };
    }

    async function platform(round: number): Promise<Run> {
      const page = `platform, round ${round}, ${nonce}\n`;
      const sha = repo.commitPage(page);
      const wall0 = Date.now();
      const t0 = performance.now();
      const dep = await call("POST", `/v1/projects/${project.id}/deployments`);
      if (dep.status !== 202) throw new Error(`POST deployments: ${dep.status} ${dep.text}`);
      const id = dep.json.id as string;
      const failedCheck = async () => {
        const d = (await call("GET", `/v1/deployments/${id}`)).json;
        if (d?.status === "failed") throw new Fatal(`deployment failed: ${d.error}`);
      };
      await firstOk(ingress, page, host, failedCheck);
      const totalMs = performance.now() - t0;
      const d = (await call("GET", `/v1/deployments/${id}`)).json;
      if (d.commit_sha !== sha) throw new Error(`deployed ${d.commit_sha}, expected ${sha}`);
      const at = (k: string) => Date.parse(d[k]) - wall0;
      // Untimed: let the superseded container's drain and removal finish before the next run.
      await poll("the superseded container to be removed", async () => containersOf(agent.name).length === 1, { timeoutMs: 30_000, everyMs: 100 });
      return {
        side: "platform",
        round,
        totalMs,
        phases: {
          "POST → queued": at("queued_at"),
          "queued → building (dispatch, clone)": at("building_at") - at("queued_at"),
          "building → starting (build)": at("starting_at") - at("building_at"),
          "starting → running (run, health)": at("running_at") - at("starting_at"),
          "running → first 200 via ingress": totalMs - at("running_at"),
        },
      };
    }

    const progress = (r: Run) => console.log(`  ${r.round === 0 ? "warm-up" : `round ${r.round}`} ${r.side.padEnd(8)} ${fmtMs(r.totalMs)}`);
    const warm = [await byHand(0), await platform(0)];
    warm.forEach(progress);
    const runs: Run[] = [];
    for (let i = 1; i <= N; i++) {
      for (const side of [byHand, platform]) {
        const r = await side(i);
        progress(r);
        runs.push(r);
      }
    }

    const hand = runs.filter((r) => r.side === "by hand");
    const plat = runs.filter((r) => r.side === "platform");
    const mHand = median(hand.map((r) => r.totalMs));
    const mPlat = median(plat.map((r) => r.totalMs));
    const ratio = mPlat / mHand;

    const perRun = [
      ["run", "by hand", "platform", "platform / by hand"],
      ...hand.map((h, i) => [`round ${h.round}`, fmtMs(h.totalMs), fmtMs(plat[i]!.totalMs), fmtRatio(plat[i]!.totalMs / h.totalMs)]),
      ["median", fmtMs(mHand), fmtMs(mPlat), fmtRatio(ratio)],
      ["warm-up (not counted)", fmtMs(warm[0]!.totalMs), fmtMs(warm[1]!.totalMs), fmtRatio(warm[1]!.totalMs / warm[0]!.totalMs)],
    ];
    const phaseMedian = (rs: Run[], k: string) => median(rs.map((r) => r.phases[k]!));
    const handKeys = Object.keys(hand[0]!.phases);
    const platKeys = Object.keys(plat[0]!.phases);
    const phases = [
      ["by hand: step", "median", "platform: step", "median"],
      ...Array.from({ length: Math.max(handKeys.length, platKeys.length) }, (_, i) => [
        handKeys[i] ? (handKeys[i] === "run" ? "podman run + podman port" : handKeys[i] === "clone" ? "git clone" : handKeys[i] === "build" ? "podman build" : "poll → first 200") : "",
        handKeys[i] ? fmtMs(phaseMedian(hand, handKeys[i]!)) : "",
        platKeys[i] ?? "",
        platKeys[i] ? fmtMs(phaseMedian(plat, platKeys[i]!)) : "",
      ]),
      ["total", fmtMs(mHand), "total", fmtMs(mPlat)],
    ];

    return {
      name: "deploy",
      tables: [
        { title: `Deploy overhead: request → first 200 with the new page (N=${N} each, alternating, poll every ${POLL_MS} ms)`, text: table(perRun) },
        { title: "Where the time goes (medians; platform steps from the deployment's own timestamps)", text: table(phases, "lrlr") },
      ],
      checks: [
        {
          benchmark: "deploy",
          metric: "deploy time, platform / by hand (median)",
          measured: `${fmtRatio(ratio)} (${fmtMs(mPlat)} vs ${fmtMs(mHand)})`,
          target: "≤ 1.20×",
          pass: ratio <= 1.2,
        },
      ],
      data: {
        runs_per_side: N,
        poll_ms: POLL_MS,
        project: { memory_mb: project.memory_mb, cpus: project.cpus },
        median_ms: { by_hand: mHand, platform: mPlat },
        ratio_platform_over_by_hand: ratio,
        target_ratio_max: 1.2,
        warmup: warm,
        runs,
      },
      notes: [
        `project defaults: ${project.memory_mb} MB, ${project.cpus} CPU for the container; the agent builds under its own limits (1024 MB, 1 CPU by default)`,
      ],
    };
  });
}

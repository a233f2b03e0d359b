/**
 * Metrics: incoming `stats` messages become raw samples plus 1-minute and
 * 1-hour rollups (one statement per message); series for charts are read
 * from whichever of the three covers the window at the step asked for; a
 * retention job trims each to its age.
 *
 * What a container sample stands for is fixed when it is written: the
 * seconds since that deployment's previous sample (10 nominal), the CPU
 * seconds in them (cpu_percent × seconds) and the bytes moved since the
 * previous sample (podman's counters are cumulative; a smaller figure means
 * the container restarted and counts from zero). Usage sums these, so the
 * hourly figures add up to exactly the totals.
 */
import type { AppContext } from "../context";
import { BadRequest, NotFound } from "../http/errors";
import type { MessageBody } from "../protocol/hub";
import type { Viewer } from "../projects/queries";
import { getProject } from "../projects/service";
import { stepSeconds, type MetricsQuery, type MetricsSource, type ProjectMetrics, type WorkerMetrics } from "./model";
import {
  deleteOlderThan,
  deploymentMarks,
  hostBuckets,
  insertStatsBatch,
  latestContainers,
  latestHost,
  projectBuckets,
  workerExists,
  type ContainerRow,
  type HostRow,
} from "./queries";
import { deleteOldBuilds } from "../usage/queries";

/** The interval a sample stands for when there is no previous one close enough. */
export const NOMINAL_INTERVAL_S = 10;
/** A gap to the previous sample longer than this (container stopped, agent away) counts as the nominal interval. */
export const MAX_GAP_S = 60;
/** Samples older than this, or this far ahead of our clock, are dropped. */
const MAX_SAMPLE_AGE_MS = 60 * 60_000;
const MAX_SAMPLE_AHEAD_MS = 2 * 60_000;
/** Distinct deployments one message may report on. */
const MAX_DEPLOYMENTS_PER_MESSAGE = 5000;
/** Container rows per INSERT: PostgreSQL takes at most 65535 parameters per statement (19 per row). */
const MAX_ROWS_PER_STATEMENT = 3000;

export const RETENTION = {
  raw_ms: 24 * 3600_000,
  minute_ms: 14 * 86400_000,
  hour_ms: 400 * 86400_000,
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const int = (n: number) => Math.max(0, Math.round(n));

/** Bytes since the previous reading of a cumulative counter (a drop = restarted from zero). */
export function counterDelta(cur: number, prev: number | null): number {
  if (prev === null) return cur;
  return cur >= prev ? cur - prev : cur;
}

/** The seconds a sample at `at` stands for, given the previous one's time. */
export function sampleInterval(atMs: number, prevMs: number | null): number {
  if (prevMs === null) return NOMINAL_INTERVAL_S;
  const gap = (atMs - prevMs) / 1000;
  return gap > 0 && gap <= MAX_GAP_S ? gap : NOMINAL_INTERVAL_S;
}

/**
 * Handles one `stats` message from a worker: host samples, and container
 * samples of deployments this worker holds (anything else is dropped),
 * written with their rollups in one statement.
 */
export async function onStats(ctx: Pick<AppContext, "sql">, workerId: string, body: MessageBody<"stats">, now = Date.now()): Promise<{ hosts: number; containers: number }> {
  const seen = new Set<number>();
  const samples = body.samples
    .filter((s) => s.at >= now - MAX_SAMPLE_AGE_MS && s.at <= now + MAX_SAMPLE_AHEAD_MS && !seen.has(s.at) && seen.add(s.at))
    .sort((a, b) => a.at - b.at);
  if (samples.length === 0) return { hosts: 0, containers: 0 };

  const hosts: HostRow[] = samples.map((s) => ({
    worker_id: workerId,
    at: new Date(s.at),
    cpu_percent: Math.min(100, s.host.cpu_percent),
    mem_used_bytes: int(s.host.mem_used_bytes),
    mem_total_bytes: int(s.host.mem_total_bytes),
    disk_used_bytes: int(s.host.disk_used_bytes),
    disk_total_bytes: int(s.host.disk_total_bytes),
  }));

  // Bounded: one worker runs far fewer deployments, and each id is a statement parameter.
  const ids = [...new Set(samples.flatMap((s) => s.containers.map((c) => c.deployment_id)))].filter((id) => UUID.test(id)).slice(0, MAX_DEPLOYMENTS_PER_MESSAGE);
  const marks = await deploymentMarks(ctx.sql, workerId, ids, new Date(samples[0]!.at));
  const prev = new Map(
    marks.map((m) => [
      m.id,
      {
        project_id: m.project_id,
        owner_id: m.owner_id,
        at: m.last_at ? m.last_at.getTime() : null,
        rx: m.net_rx_bytes === null ? null : Number(m.net_rx_bytes),
        tx: m.net_tx_bytes === null ? null : Number(m.net_tx_bytes),
        br: m.blk_read_bytes === null ? null : Number(m.blk_read_bytes),
        bw: m.blk_write_bytes === null ? null : Number(m.blk_write_bytes),
      },
    ]),
  );

  const containers: ContainerRow[] = [];
  for (const s of samples) {
    for (const c of s.containers) {
      const p = prev.get(c.deployment_id);
      if (!p || (p.at !== null && s.at <= p.at)) continue; // not this worker's, or the same deployment twice in a sample
      const interval = sampleInterval(s.at, p.at);
      const rx = int(c.net_rx_bytes);
      const tx = int(c.net_tx_bytes);
      const br = int(c.blk_read_bytes);
      const bw = int(c.blk_write_bytes);
      containers.push({
        deployment_id: c.deployment_id,
        at: new Date(s.at),
        project_id: p.project_id,
        owner_id: p.owner_id,
        worker_id: workerId,
        cpu_percent: c.cpu_percent,
        mem_bytes: int(c.mem_bytes),
        mem_limit_bytes: int(c.mem_limit_bytes),
        net_rx_bytes: rx,
        net_tx_bytes: tx,
        blk_read_bytes: br,
        blk_write_bytes: bw,
        restarts: c.restarts,
        interval_s: interval,
        cpu_seconds: (c.cpu_percent / 100) * interval,
        net_rx_delta: counterDelta(rx, p.rx),
        net_tx_delta: counterDelta(tx, p.tx),
        blk_read_delta: counterDelta(br, p.br),
        blk_write_delta: counterDelta(bw, p.bw),
      });
      Object.assign(p, { at: s.at, rx, tx, br, bw });
    }
  }

  // One statement per message; only an unusually large one (a long reconnect backlog of many containers) is split.
  const written = await insertStatsBatch(ctx.sql, hosts, containers.slice(0, MAX_ROWS_PER_STATEMENT));
  for (let i = MAX_ROWS_PER_STATEMENT; i < containers.length; i += MAX_ROWS_PER_STATEMENT) {
    written.containers += (await insertStatsBatch(ctx.sql, [], containers.slice(i, i + MAX_ROWS_PER_STATEMENT))).containers;
  }
  return written;
}

// ---- windows ---------------------------------------------------------------

/** Steps the automatic choice picks from, seconds. */
const NICE_STEPS = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
/** Points a series aims at when no step is given. */
const AUTO_POINTS = 360;
/** The most points a series may have. */
export const MAX_POINTS = 1500;
const MAX_SPAN_MS = RETENTION.hour_ms;

export type Window = { from: Date; to: Date; step: number; source: MetricsSource; points: number };

/**
 * Turns ?from&to&step into a window: from/to default to the last hour; the
 * source is the finest one that still holds `from` at a resolution no
 * coarser than the step; the step is rounded up to that resolution and from
 * down to a multiple of the step.
 */
export function resolveWindow(q: MetricsQuery, now = Date.now()): Window {
  const to = q.to ? Date.parse(q.to) : now;
  const from = q.from ? Date.parse(q.from) : to - 3600_000;
  if (!(from < to)) throw new BadRequest("from: must be before to");
  if (to - from > MAX_SPAN_MS) throw new BadRequest("from: the window may span at most 400 days");
  let step = q.step !== undefined ? stepSeconds(q.step) : NICE_STEPS.find((s) => (to - from) / 1000 / s <= AUTO_POINTS) ?? 86400;
  const age = now - from;
  let source: MetricsSource;
  if (step < 60 && age <= RETENTION.raw_ms) {
    source = "raw";
    step = Math.ceil(step / 10) * 10;
  } else if (step < 3600 && age <= RETENTION.minute_ms) {
    source = "minute";
    step = Math.ceil(step / 60) * 60;
  } else {
    source = "hour";
    step = Math.ceil(step / 3600) * 3600;
  }
  const alignedFrom = Math.floor(from / 1000 / step) * step * 1000;
  const points = Math.ceil((to - alignedFrom) / 1000 / step);
  if (points > MAX_POINTS) throw new BadRequest(`step: ${step} s gives ${points} points over this window; at most ${MAX_POINTS}`);
  return { from: new Date(alignedFrom), to: new Date(to), step, source, points };
}

const round = (n: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

function axis(w: Window): number[] {
  const start = w.from.getTime() / 1000;
  return Array.from({ length: w.points }, (_, i) => start + i * w.step);
}

// ---- reads -----------------------------------------------------------------

export async function projectMetrics(ctx: AppContext, v: Viewer, projectId: string, q: MetricsQuery): Promise<ProjectMetrics> {
  const p = await getProject(ctx, v, projectId);
  const w = resolveWindow(q);
  const rows = await projectBuckets(ctx.sql, p.id, w.source, w.from, w.to, w.step);
  const byT = new Map(rows.map((r) => [r.t, r]));
  const t = axis(w);
  const col = (f: (r: (typeof rows)[number], covered: number) => number) =>
    t.map((x) => {
      const r = byT.get(x);
      return r && r.covered > 0 ? f(r, r.covered) : null;
    });
  const totals = { cpu_seconds: 0, net_rx_bytes: 0, net_tx_bytes: 0, container_seconds: 0 };
  for (const r of rows) {
    totals.cpu_seconds += r.cpu_seconds;
    totals.net_rx_bytes += r.net_rx_bytes;
    totals.net_tx_bytes += r.net_tx_bytes;
    totals.container_seconds += r.container_seconds;
  }
  return {
    project_id: p.id,
    from: w.from.toISOString(),
    to: w.to.toISOString(),
    step: w.step,
    source: w.source,
    t,
    limits: { memory_bytes: p.memory_mb * 1024 * 1024, cpus: p.cpus },
    series: {
      cpu_percent: col((r, c) => round((r.cpu_seconds / c) * 100, 3)),
      cpu_percent_max: col((r) => round(r.cpu_percent_max, 3)),
      mem_bytes: col((r, c) => Math.round(r.mem_byte_seconds / c)),
      mem_bytes_max: col((r) => r.mem_bytes_max),
      mem_limit_bytes: col((r, c) => Math.round(r.mem_limit_byte_seconds / c)),
      net_rx_bytes_per_s: col((r, c) => round(r.net_rx_bytes / c, 3)),
      net_tx_bytes_per_s: col((r, c) => round(r.net_tx_bytes / c, 3)),
      blk_read_bytes_per_s: col((r, c) => round(r.blk_read_bytes / c, 3)),
      blk_write_bytes_per_s: col((r, c) => round(r.blk_write_bytes / c, 3)),
      restarts: col((r) => r.restarts),
    },
    totals: {
      cpu_seconds: round(totals.cpu_seconds, 3),
      net_rx_bytes: totals.net_rx_bytes,
      net_tx_bytes: totals.net_tx_bytes,
      container_seconds: round(totals.container_seconds, 3),
    },
  };
}

/** How far back "latest" and the container list look. */
const LIVE_MS = 60_000;

export async function workerMetrics(ctx: AppContext, workerId: string, q: MetricsQuery): Promise<WorkerMetrics> {
  if (!(await workerExists(ctx.sql, workerId))) throw new NotFound("worker");
  const w = resolveWindow(q);
  const since = new Date(Date.now() - LIVE_MS);
  const [rows, latest, containers] = await Promise.all([
    hostBuckets(ctx.sql, workerId, w.source, w.from, w.to, w.step),
    latestHost(ctx.sql, workerId, since),
    latestContainers(ctx.sql, workerId, since),
  ]);
  const byT = new Map(rows.map((r) => [r.t, r]));
  const t = axis(w);
  const col = (f: (r: (typeof rows)[number]) => number) =>
    t.map((x) => {
      const r = byT.get(x);
      return r && r.samples > 0 ? f(r) : null;
    });
  return {
    worker_id: workerId,
    from: w.from.toISOString(),
    to: w.to.toISOString(),
    step: w.step,
    source: w.source,
    t,
    series: {
      cpu_percent: col((r) => round(r.cpu_percent_sum / r.samples, 3)),
      cpu_percent_max: col((r) => round(r.cpu_percent_max, 3)),
      mem_used_bytes: col((r) => Math.round(r.mem_used_sum / r.samples)),
      mem_used_bytes_max: col((r) => r.mem_used_max),
      mem_total_bytes: col((r) => r.mem_total_max),
      disk_used_bytes: col((r) => Math.round(r.disk_used_sum / r.samples)),
      disk_total_bytes: col((r) => r.disk_total_max),
    },
    latest: latest ? { ...latest, cpu_percent: round(latest.cpu_percent, 3), at: latest.at.toISOString() } : null,
    containers: containers.map((c) => ({ ...c, cpu_percent: round(c.cpu_percent, 3), at: c.at.toISOString() })),
  };
}

// ---- retention ---------------------------------------------------------------

/**
 * Deletes raw samples older than 24 h, 1-minute rollups older than 14 days
 * and 1-hour rollups older than 400 days, in short batches. Returns how many
 * rows went, per table.
 */
export async function runRetention(ctx: Pick<AppContext, "sql">, now = Date.now(), batch = 5000): Promise<Record<string, number>> {
  const jobs = [
    ["container_samples", RETENTION.raw_ms, null],
    ["host_samples", RETENTION.raw_ms, null],
    ["container_rollups", RETENTION.minute_ms, 60],
    ["host_rollups", RETENTION.minute_ms, 60],
    ["container_rollups", RETENTION.hour_ms, 3600],
    ["host_rollups", RETENTION.hour_ms, 3600],
  ] as const;
  const deleted: Record<string, number> = {};
  for (const [table, age, step] of jobs) {
    let total = 0;
    // Bounded per run; what is left goes next time.
    for (let i = 0; i < 200; i++) {
      const n = await deleteOlderThan(ctx.sql, table, new Date(now - age), step, batch);
      total += n;
      if (n < batch) break;
    }
    deleted[step === null ? table : `${table}:${step}`] = total;
  }
  deleted.build_usage = await deleteOldBuilds(ctx.sql, new Date(now - RETENTION.hour_ms));
  return deleted;
}

/**
 * The metrics background job: retention every 10 minutes (first run a
 * minute after start). Rollups need no job: each stats message adds to its
 * buckets as it is written.
 */
export function startMetricsJobs(ctx: Pick<AppContext, "sql">, opts: { intervalMs?: number; firstRunMs?: number } = {}): { stop(): void } {
  let running = false;
  let stopped = false;
  const run = async () => {
    if (running || stopped) return;
    running = true;
    try {
      await runRetention(ctx);
    } catch (e) {
      console.error("[metrics] retention failed:", e);
    } finally {
      running = false;
    }
  };
  const first = setTimeout(run, opts.firstRunMs ?? 60_000);
  const timer = setInterval(run, opts.intervalMs ?? 10 * 60_000);
  return {
    stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}

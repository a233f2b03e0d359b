/**
 * Metrics shapes (zod only, no server imports: the dashboard imports the
 * types). Series are columnar and aligned with `t`, the way uPlot takes them:
 * `[t, series.cpu_percent, …]`; a bucket without samples is null.
 */
import { z } from "zod";

/** `10`, `10s`, `5m`, `1h`, `1d`: seconds between points. */
export const stepText = z.string().regex(/^[1-9][0-9]{0,6}[smhd]?$/, "a step like 10s, 1m, 5m, 1h or 1d (or seconds)");

/** A valid step text → seconds. */
export function stepSeconds(v: string): number {
  const n = Number.parseInt(v, 10);
  const unit = (/[smhd]$/.exec(v)?.[0] ?? "s") as "s" | "m" | "h" | "d";
  return n * { s: 1, m: 60, h: 3600, d: 86400 }[unit];
}

export const metricsQuery = z
  .object({
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    step: stepText.optional(),
  })
  .strict();
export type MetricsQuery = z.infer<typeof metricsQuery>;

/** Where a series was read from: raw 10 s samples (24 h), 1-minute (14 days) or 1-hour rollups (400 days). */
export const metricsSource = z.enum(["raw", "minute", "hour"]);
export type MetricsSource = z.infer<typeof metricsSource>;

const column = z.array(z.number().nullable());

const frame = {
  from: z.string(),
  to: z.string(),
  /** Seconds between points (the one asked for, rounded up to the source's resolution). */
  step: z.number().int(),
  source: metricsSource,
  /** Each bucket's start, unix seconds. */
  t: z.array(z.number()),
};

export const projectMetrics = z.object({
  project_id: z.string(),
  ...frame,
  /** The project's current settings, for chart scales. */
  limits: z.object({ memory_bytes: z.number(), cpus: z.number() }),
  series: z.object({
    /** Time-weighted average over the bucket, summed over the project's containers; 100 = one core. */
    cpu_percent: column,
    /** The highest single sample in the bucket. */
    cpu_percent_max: column,
    mem_bytes: column,
    mem_bytes_max: column,
    mem_limit_bytes: column,
    net_rx_bytes_per_s: column,
    net_tx_bytes_per_s: column,
    blk_read_bytes_per_s: column,
    blk_write_bytes_per_s: column,
    /** Highest restart count seen (podman's, per container). */
    restarts: column,
  }),
  totals: z.object({
    cpu_seconds: z.number(),
    net_rx_bytes: z.number(),
    net_tx_bytes: z.number(),
    container_seconds: z.number(),
  }),
});
export type ProjectMetrics = z.infer<typeof projectMetrics>;

export const workerContainer = z.object({
  deployment_id: z.string(),
  project_id: z.string(),
  project_name: z.string().nullable(),
  at: z.string(),
  cpu_percent: z.number(),
  mem_bytes: z.number(),
  mem_limit_bytes: z.number(),
  net_rx_bytes: z.number(),
  net_tx_bytes: z.number(),
  restarts: z.number(),
});

export const hostNow = z.object({
  at: z.string(),
  cpu_percent: z.number(),
  mem_used_bytes: z.number(),
  mem_total_bytes: z.number(),
  disk_used_bytes: z.number(),
  disk_total_bytes: z.number(),
});

export const workerMetrics = z.object({
  worker_id: z.string(),
  ...frame,
  series: z.object({
    /** Of the whole host, 0–100. */
    cpu_percent: column,
    cpu_percent_max: column,
    mem_used_bytes: column,
    mem_used_bytes_max: column,
    mem_total_bytes: column,
    disk_used_bytes: column,
    disk_total_bytes: column,
  }),
  /** The latest host sample (null when none in the last minute). */
  latest: hostNow.nullable(),
  /** Containers sampled on this worker in the last minute, with their latest figures. */
  containers: z.array(workerContainer),
});
export type WorkerMetrics = z.infer<typeof workerMetrics>;

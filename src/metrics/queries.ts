/**
 * Metrics SQL: the batched write of one stats message (raw rows and both
 * rollups in one statement), series reads from raw samples or rollups, and
 * retention deletes.
 */
import type { Fragment, Sql } from "postgres";

type Q = Sql;

/** What a sample needs from its deployment, and that deployment's previous sample. */
export type DeploymentMark = {
  id: string;
  project_id: string;
  owner_id: string;
  last_at: Date | null;
  net_rx_bytes: string | null;
  net_tx_bytes: string | null;
  blk_read_bytes: string | null;
  blk_write_bytes: string | null;
};

/**
 * The deployments among `ids` that this worker holds, with their project,
 * owner and the latest stored sample before `before` (for deltas of the
 * cumulative counters). Samples for anything else are dropped by the caller.
 */
export async function deploymentMarks(sql: Q, workerId: string, ids: string[], before: Date): Promise<DeploymentMark[]> {
  if (ids.length === 0) return [];
  return sql<DeploymentMark[]>`
    SELECT d.id, d.project_id, p.owner_id, l.at AS last_at,
      l.net_rx_bytes, l.net_tx_bytes, l.blk_read_bytes, l.blk_write_bytes
    FROM deployments d
    JOIN projects p ON p.id = d.project_id
    LEFT JOIN LATERAL (
      SELECT s.at, s.net_rx_bytes, s.net_tx_bytes, s.blk_read_bytes, s.blk_write_bytes
      FROM container_samples s WHERE s.deployment_id = d.id AND s.at < ${before}
      ORDER BY s.at DESC LIMIT 1
    ) l ON true
    WHERE d.id IN ${sql(ids)} AND d.worker_id = ${workerId}`;
}

export type HostRow = {
  worker_id: string;
  at: Date;
  cpu_percent: number;
  mem_used_bytes: number;
  mem_total_bytes: number;
  disk_used_bytes: number;
  disk_total_bytes: number;
};

export type ContainerRow = {
  deployment_id: string;
  at: Date;
  project_id: string;
  owner_id: string;
  worker_id: string;
  cpu_percent: number;
  mem_bytes: number;
  mem_limit_bytes: number;
  net_rx_bytes: number;
  net_tx_bytes: number;
  blk_read_bytes: number;
  blk_write_bytes: number;
  restarts: number;
  interval_s: number;
  cpu_seconds: number;
  net_rx_delta: number;
  net_tx_delta: number;
  blk_read_delta: number;
  blk_write_delta: number;
};

const HOST_COLUMNS = ["worker_id", "at", "cpu_percent", "mem_used_bytes", "mem_total_bytes", "disk_used_bytes", "disk_total_bytes"] as const;
const CONTAINER_COLUMNS = [
  "deployment_id",
  "at",
  "project_id",
  "owner_id",
  "worker_id",
  "cpu_percent",
  "mem_bytes",
  "mem_limit_bytes",
  "net_rx_bytes",
  "net_tx_bytes",
  "blk_read_bytes",
  "blk_write_bytes",
  "restarts",
  "interval_s",
  "cpu_seconds",
  "net_rx_delta",
  "net_tx_delta",
  "blk_read_delta",
  "blk_write_delta",
] as const;

/**
 * One statement for a whole stats message: the raw host and container rows
 * (a sample already stored is skipped, so a resent batch counts once), and
 * the 1-minute and 1-hour rollups of exactly the rows inserted, added to
 * their buckets.
 */
export async function insertStatsBatch(sql: Q, hosts: HostRow[], containers: ContainerRow[]): Promise<{ hosts: number; containers: number }> {
  if (hosts.length === 0 && containers.length === 0) return { hosts: 0, containers: 0 };
  const steps = sql`(VALUES (60), (3600)) AS st(step_s)`;
  const hostPart = hosts.length
    ? sql`
      hs AS (
        INSERT INTO host_samples ${sql(hosts, ...HOST_COLUMNS)}
        ON CONFLICT DO NOTHING
        RETURNING *
      ),
      hr AS (
        INSERT INTO host_rollups (step_s, bucket, worker_id, samples, cpu_percent_sum, cpu_percent_max,
          mem_used_sum, mem_used_max, mem_total_max, disk_used_sum, disk_used_max, disk_total_max)
        SELECT st.step_s, date_bin(make_interval(secs => st.step_s), hs.at, TIMESTAMPTZ 'epoch'), hs.worker_id,
          count(*), sum(hs.cpu_percent), max(hs.cpu_percent), sum(hs.mem_used_bytes), max(hs.mem_used_bytes),
          max(hs.mem_total_bytes), sum(hs.disk_used_bytes), max(hs.disk_used_bytes), max(hs.disk_total_bytes)
        FROM hs CROSS JOIN ${steps}
        GROUP BY 1, 2, 3
        ON CONFLICT (step_s, bucket, worker_id) DO UPDATE SET
          samples = host_rollups.samples + excluded.samples,
          cpu_percent_sum = host_rollups.cpu_percent_sum + excluded.cpu_percent_sum,
          cpu_percent_max = greatest(host_rollups.cpu_percent_max, excluded.cpu_percent_max),
          mem_used_sum = host_rollups.mem_used_sum + excluded.mem_used_sum,
          mem_used_max = greatest(host_rollups.mem_used_max, excluded.mem_used_max),
          mem_total_max = greatest(host_rollups.mem_total_max, excluded.mem_total_max),
          disk_used_sum = host_rollups.disk_used_sum + excluded.disk_used_sum,
          disk_used_max = greatest(host_rollups.disk_used_max, excluded.disk_used_max),
          disk_total_max = greatest(host_rollups.disk_total_max, excluded.disk_total_max)
        RETURNING 1
      )`
    : sql`hs AS (SELECT NULL WHERE false)`;
  const containerPart = containers.length
    ? sql`
      cs AS (
        INSERT INTO container_samples ${sql(containers, ...CONTAINER_COLUMNS)}
        ON CONFLICT DO NOTHING
        RETURNING *
      ),
      cr AS (
        INSERT INTO container_rollups (step_s, bucket, deployment_id, project_id, owner_id, worker_id, samples, seconds,
          cpu_seconds, cpu_percent_max, mem_byte_seconds, mem_limit_byte_seconds, mem_bytes_max, mem_limit_bytes,
          net_rx_bytes, net_tx_bytes, blk_read_bytes, blk_write_bytes, restarts_max)
        SELECT st.step_s, date_bin(make_interval(secs => st.step_s), cs.at, TIMESTAMPTZ 'epoch'), cs.deployment_id,
          cs.project_id, cs.owner_id, cs.worker_id, count(*), sum(cs.interval_s), sum(cs.cpu_seconds), max(cs.cpu_percent),
          sum(cs.mem_bytes::float8 * cs.interval_s), sum(cs.mem_limit_bytes::float8 * cs.interval_s), max(cs.mem_bytes),
          max(cs.mem_limit_bytes), sum(cs.net_rx_delta), sum(cs.net_tx_delta), sum(cs.blk_read_delta), sum(cs.blk_write_delta),
          max(cs.restarts)
        FROM cs CROSS JOIN ${steps}
        GROUP BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (step_s, bucket, deployment_id) DO UPDATE SET
          samples = container_rollups.samples + excluded.samples,
          seconds = container_rollups.seconds + excluded.seconds,
          cpu_seconds = container_rollups.cpu_seconds + excluded.cpu_seconds,
          cpu_percent_max = greatest(container_rollups.cpu_percent_max, excluded.cpu_percent_max),
          mem_byte_seconds = container_rollups.mem_byte_seconds + excluded.mem_byte_seconds,
          mem_limit_byte_seconds = container_rollups.mem_limit_byte_seconds + excluded.mem_limit_byte_seconds,
          mem_bytes_max = greatest(container_rollups.mem_bytes_max, excluded.mem_bytes_max),
          mem_limit_bytes = greatest(container_rollups.mem_limit_bytes, excluded.mem_limit_bytes),
          net_rx_bytes = container_rollups.net_rx_bytes + excluded.net_rx_bytes,
          net_tx_bytes = container_rollups.net_tx_bytes + excluded.net_tx_bytes,
          blk_read_bytes = container_rollups.blk_read_bytes + excluded.blk_read_bytes,
          blk_write_bytes = container_rollups.blk_write_bytes + excluded.blk_write_bytes,
          restarts_max = greatest(container_rollups.restarts_max, excluded.restarts_max)
        RETURNING 1
      )`
    : sql`cs AS (SELECT NULL WHERE false)`;
  const [r] = await sql<{ hosts: number; containers: number }[]>`
    WITH ${hostPart}, ${containerPart}
    SELECT (SELECT count(*) FROM hs)::int AS hosts, (SELECT count(*) FROM cs)::int AS containers`;
  return r!;
}

// ---- reads ---------------------------------------------------------------

/** One bucket of a project: sums over each deployment, then over the project. */
export type ProjectBucket = {
  t: number;
  /** The longest any container was sampled in the bucket: the time the averages are over. */
  covered: number;
  container_seconds: number;
  cpu_seconds: number;
  cpu_percent_max: number;
  mem_byte_seconds: number;
  mem_limit_byte_seconds: number;
  mem_bytes_max: number;
  net_rx_bytes: number;
  net_tx_bytes: number;
  blk_read_bytes: number;
  blk_write_bytes: number;
  restarts: number;
};

export async function projectBuckets(
  sql: Q,
  projectId: string,
  source: "raw" | "minute" | "hour",
  from: Date,
  to: Date,
  stepS: number,
): Promise<ProjectBucket[]> {
  const bin = (col: Fragment) => sql`date_bin(make_interval(secs => ${stepS}), ${col}, TIMESTAMPTZ 'epoch')`;
  const per =
    source === "raw"
      ? sql`
        SELECT ${bin(sql`at`)} AS t, deployment_id,
          sum(interval_s) AS seconds, sum(cpu_seconds) AS cpu_seconds, max(cpu_percent) AS cpu_max,
          sum(mem_bytes::float8 * interval_s) AS mem_bs, sum(mem_limit_bytes::float8 * interval_s) AS lim_bs,
          max(mem_bytes) AS mem_max, sum(net_rx_delta) AS rx, sum(net_tx_delta) AS tx,
          sum(blk_read_delta) AS br, sum(blk_write_delta) AS bw, max(restarts) AS restarts
        FROM container_samples
        WHERE project_id = ${projectId} AND at >= ${from} AND at < ${to}
        GROUP BY 1, 2`
      : sql`
        SELECT ${bin(sql`bucket`)} AS t, deployment_id,
          sum(seconds) AS seconds, sum(cpu_seconds) AS cpu_seconds, max(cpu_percent_max) AS cpu_max,
          sum(mem_byte_seconds) AS mem_bs, sum(mem_limit_byte_seconds) AS lim_bs,
          max(mem_bytes_max) AS mem_max, sum(net_rx_bytes) AS rx, sum(net_tx_bytes) AS tx,
          sum(blk_read_bytes) AS br, sum(blk_write_bytes) AS bw, max(restarts_max) AS restarts
        FROM container_rollups
        WHERE project_id = ${projectId} AND step_s = ${source === "minute" ? 60 : 3600} AND bucket >= ${from} AND bucket < ${to}
        GROUP BY 1, 2`;
  return sql<ProjectBucket[]>`
    WITH per AS (${per})
    SELECT extract(epoch FROM t)::float8 AS t,
      max(seconds)::float8 AS covered, sum(seconds)::float8 AS container_seconds,
      sum(cpu_seconds)::float8 AS cpu_seconds, max(cpu_max)::float8 AS cpu_percent_max,
      sum(mem_bs)::float8 AS mem_byte_seconds, sum(lim_bs)::float8 AS mem_limit_byte_seconds,
      sum(mem_max)::float8 AS mem_bytes_max, sum(rx)::float8 AS net_rx_bytes, sum(tx)::float8 AS net_tx_bytes,
      sum(br)::float8 AS blk_read_bytes, sum(bw)::float8 AS blk_write_bytes, max(restarts)::float8 AS restarts
    FROM per GROUP BY t ORDER BY t`;
}

export type HostBucket = {
  t: number;
  samples: number;
  cpu_percent_sum: number;
  cpu_percent_max: number;
  mem_used_sum: number;
  mem_used_max: number;
  mem_total_max: number;
  disk_used_sum: number;
  disk_total_max: number;
};

export async function hostBuckets(
  sql: Q,
  workerId: string,
  source: "raw" | "minute" | "hour",
  from: Date,
  to: Date,
  stepS: number,
): Promise<HostBucket[]> {
  const bin = (col: Fragment) => sql`date_bin(make_interval(secs => ${stepS}), ${col}, TIMESTAMPTZ 'epoch')`;
  if (source === "raw") {
    return sql<HostBucket[]>`
      SELECT extract(epoch FROM ${bin(sql`at`)})::float8 AS t, count(*)::float8 AS samples,
        sum(cpu_percent)::float8 AS cpu_percent_sum, max(cpu_percent)::float8 AS cpu_percent_max,
        sum(mem_used_bytes)::float8 AS mem_used_sum, max(mem_used_bytes)::float8 AS mem_used_max,
        max(mem_total_bytes)::float8 AS mem_total_max, sum(disk_used_bytes)::float8 AS disk_used_sum,
        max(disk_total_bytes)::float8 AS disk_total_max
      FROM host_samples
      WHERE worker_id = ${workerId} AND at >= ${from} AND at < ${to}
      GROUP BY 1 ORDER BY 1`;
  }
  return sql<HostBucket[]>`
    SELECT extract(epoch FROM ${bin(sql`bucket`)})::float8 AS t, sum(samples)::float8 AS samples,
      sum(cpu_percent_sum)::float8 AS cpu_percent_sum, max(cpu_percent_max)::float8 AS cpu_percent_max,
      sum(mem_used_sum)::float8 AS mem_used_sum, max(mem_used_max)::float8 AS mem_used_max,
      max(mem_total_max)::float8 AS mem_total_max, sum(disk_used_sum)::float8 AS disk_used_sum,
      max(disk_total_max)::float8 AS disk_total_max
    FROM host_rollups
    WHERE worker_id = ${workerId} AND step_s = ${source === "minute" ? 60 : 3600} AND bucket >= ${from} AND bucket < ${to}
    GROUP BY 1 ORDER BY 1`;
}

export async function workerExists(sql: Q, id: string): Promise<boolean> {
  return (await sql`SELECT 1 FROM workers WHERE id = ${id}`).length === 1;
}

export type LatestHost = {
  at: Date;
  cpu_percent: number;
  mem_used_bytes: number;
  mem_total_bytes: number;
  disk_used_bytes: number;
  disk_total_bytes: number;
};

export async function latestHost(sql: Q, workerId: string, since: Date): Promise<LatestHost | undefined> {
  const [row] = await sql<LatestHost[]>`
    SELECT at, cpu_percent::float8 AS cpu_percent, mem_used_bytes::float8 AS mem_used_bytes,
      mem_total_bytes::float8 AS mem_total_bytes, disk_used_bytes::float8 AS disk_used_bytes,
      disk_total_bytes::float8 AS disk_total_bytes
    FROM host_samples WHERE worker_id = ${workerId} AND at >= ${since}
    ORDER BY at DESC LIMIT 1`;
  return row;
}

export type LatestContainer = {
  deployment_id: string;
  project_id: string;
  project_name: string | null;
  at: Date;
  cpu_percent: number;
  mem_bytes: number;
  mem_limit_bytes: number;
  net_rx_bytes: number;
  net_tx_bytes: number;
  restarts: number;
};

/** Each deployment sampled on the worker since `since`, with its latest figures. */
export async function latestContainers(sql: Q, workerId: string, since: Date): Promise<LatestContainer[]> {
  return sql<LatestContainer[]>`
    SELECT * FROM (
      SELECT DISTINCT ON (s.deployment_id) s.deployment_id, s.project_id, p.name AS project_name, s.at,
        s.cpu_percent::float8 AS cpu_percent, s.mem_bytes::float8 AS mem_bytes, s.mem_limit_bytes::float8 AS mem_limit_bytes,
        s.net_rx_bytes::float8 AS net_rx_bytes, s.net_tx_bytes::float8 AS net_tx_bytes, s.restarts
      FROM container_samples s LEFT JOIN projects p ON p.id = s.project_id
      WHERE s.worker_id = ${workerId} AND s.at >= ${since}
      ORDER BY s.deployment_id, s.at DESC
    ) latest ORDER BY project_name NULLS LAST, deployment_id`;
}

// ---- retention -------------------------------------------------------------

/**
 * Deletes rows older than the cut-off, at most `batch` per statement (short
 * statements: the embedded database has one connection). Returns how many.
 */
export async function deleteOlderThan(
  sql: Q,
  table: "container_samples" | "host_samples" | "container_rollups" | "host_rollups",
  cutoff: Date,
  stepS: number | null,
  batch: number,
): Promise<number> {
  const time = table.endsWith("_samples") ? sql`at` : sql`bucket`;
  const step = stepS === null ? sql`true` : sql`step_s = ${stepS}`;
  const r = await sql`
    DELETE FROM ${sql(table)} WHERE ctid IN (
      SELECT ctid FROM ${sql(table)} WHERE ${step} AND ${time} < ${cutoff} LIMIT ${batch}
    )`;
  return r.count;
}

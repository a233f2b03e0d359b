import type { Sql } from "postgres";
import { FLAP_WINDOW_S } from "../deployments/queries";

export type WorkerRow = {
  id: string;
  name: string;
  api_key_hash: string;
  capacity_mb: number;
  allocated_mb: number;
  address: string;
  status: "online" | "offline";
  last_heartbeat: Date | null;
  draining: boolean;
  delete_when_empty: boolean;
  flap_count: number;
  containers_running: number;
};

export async function insertWorker(sql: Sql, name: string, apiKeyHash: string, capacityMb: number) {
  const [row] = await sql<{ id: string }[]>`
    INSERT INTO workers (name, api_key_hash, capacity_mb) VALUES (${name}, ${apiKeyHash}, ${capacityMb})
    ON CONFLICT (name) DO NOTHING RETURNING id`;
  return row;
}

export async function findWorker(sql: Sql, id: string): Promise<WorkerRow | undefined> {
  const [row] = await sql<WorkerRow[]>`
    SELECT w.*, (SELECT count(*)::int FROM deployments d WHERE d.worker_id = w.id AND d.status = 'running') AS containers_running
    FROM workers w WHERE w.id = ${id}`;
  return row;
}

export async function listWorkers(sql: Sql): Promise<WorkerRow[]> {
  return sql<WorkerRow[]>`
    SELECT w.*, (SELECT count(*)::int FROM deployments d WHERE d.worker_id = w.id AND d.status = 'running') AS containers_running
    FROM workers w ORDER BY w.name`;
}

/**
 * Online with the capacity and address the agent reports. Capacity can't drop
 * below what is already allocated (the CHECK would refuse it).
 */
export async function markOnline(sql: Sql, id: string, capacityMb: number, address: string) {
  await sql`UPDATE workers SET last_heartbeat = now(), address = ${address},
    capacity_mb = GREATEST(${capacityMb}, allocated_mb),
    online_since = CASE WHEN status = 'online' AND online_since IS NOT NULL THEN online_since ELSE now() END,
    status = 'online'
    WHERE id = ${id}`;
}

/** Many workers' last heartbeats in one statement. */
export async function recordHeartbeats(sql: Sql, ids: string[], ats: Date[]) {
  if (ids.length === 0) return;
  await sql`UPDATE workers w SET last_heartbeat = GREATEST(w.last_heartbeat, v.at)
    FROM (SELECT unnest(${ids}::uuid[]) AS id, unnest(${ats.map((a) => a.toISOString())}::timestamptz[]) AS at) v
    WHERE w.id = v.id AND w.status = 'online'`;
}

/**
 * Offline now. Counts the transition toward flapping: another one within the
 * window adds to the count, a first one after a quiet spell starts it again.
 */
export async function markOffline(sql: Sql, id: string) {
  await sql`UPDATE workers SET status = 'offline',
    flap_count = CASE WHEN last_offline_at > now() - make_interval(secs => ${FLAP_WINDOW_S}) THEN flap_count + 1 ELSE 1 END,
    last_offline_at = now()
    WHERE id = ${id} AND status = 'online'`;
}

/** Workers online in the table but silent for `seconds`: marked offline in the same statement. */
export async function expireSilentWorkers(sql: Sql, seconds: number): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    UPDATE workers SET status = 'offline',
      flap_count = CASE WHEN last_offline_at > now() - make_interval(secs => ${FLAP_WINDOW_S}) THEN flap_count + 1 ELSE 1 END,
      last_offline_at = now()
    WHERE status = 'online' AND (last_heartbeat IS NULL OR last_heartbeat < now() - make_interval(secs => ${seconds}))
    RETURNING id`;
  return rows.map((r) => r.id);
}

export async function deleteWorkerIfEmpty(sql: Sql, id: string): Promise<"deleted" | "busy" | "missing"> {
  return sql.begin(async (tx) => {
    const [w] = await tx`SELECT id FROM workers WHERE id = ${id} FOR UPDATE`;
    if (!w) return "missing" as const;
    const [busy] = await tx`SELECT 1 FROM deployments WHERE worker_id = ${id} AND status IN ('queued', 'building', 'starting', 'running', 'stopped') LIMIT 1`;
    if (busy) return "busy" as const;
    await tx`DELETE FROM workers WHERE id = ${id}`;
    return "deleted" as const;
  });
}

/** Everything the control plane placed on a worker that isn't finished with. */
export async function deploymentsOnWorker(sql: Sql, workerId: string) {
  return sql<{ id: string; project_id: string; status: string; moving_to: string | null }[]>`
    SELECT id, project_id, status, moving_to FROM deployments
    WHERE worker_id = ${workerId} AND status IN ('queued', 'building', 'starting', 'running', 'stopped')`;
}

/** SQL of fleet operations: which deployments must move, and the moves themselves. */
import type { Sql, TransactionSql } from "postgres";

type Q = Sql | TransactionSql;

export type MoveCandidate = { id: string; project_id: string; worker_id: string; commit_sha: string | null };

/** Deployments running on workers silent for longer than `seconds`, not already moving, newest first. */
export async function strandedDeployments(sql: Q, seconds: number, limit: number): Promise<MoveCandidate[]> {
  if (limit <= 0) return [];
  return sql<MoveCandidate[]>`
    SELECT d.id, d.project_id, d.worker_id, d.commit_sha
    FROM deployments d JOIN workers w ON w.id = d.worker_id
    WHERE d.status = 'running' AND d.moving_to IS NULL AND w.status = 'offline'
      AND (w.last_heartbeat IS NULL OR w.last_heartbeat < now() - make_interval(secs => ${seconds}))
    ORDER BY d.running_at DESC NULLS LAST
    LIMIT ${limit}`;
}

/** One running deployment per draining worker that has no drain move in flight. */
export async function nextDrainMoves(sql: Q): Promise<MoveCandidate[]> {
  return sql<MoveCandidate[]>`
    SELECT DISTINCT ON (w.id) d.id, d.project_id, d.worker_id, d.commit_sha
    FROM workers w JOIN deployments d ON d.worker_id = w.id
    WHERE w.draining AND w.status = 'online' AND d.status = 'running' AND d.moving_to IS NULL
      AND NOT EXISTS (
        SELECT 1 FROM deployments x JOIN deployments m ON m.id = x.moving_to
        WHERE x.worker_id = w.id AND m.status IN ('queued', 'pending', 'building', 'starting'))
    ORDER BY w.id, d.running_at DESC NULLS LAST`;
}

export async function movesInFlight(sql: Q): Promise<number> {
  const [r] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM deployments WHERE moved_from IS NOT NULL AND status IN ('queued', 'pending', 'building', 'starting')`;
  return r!.n;
}

/**
 * Starts a move: a new deployment of the same commit, linked both ways. The
 * compare-and-swap on moving_to makes sure one deployment moves once at a time.
 */
export async function insertMove(sql: Sql, from: MoveCandidate, reason: "failover" | "drain"): Promise<string | null> {
  return sql.begin(async (tx) => {
    const [claimed] = await tx`SELECT id FROM deployments WHERE id = ${from.id} AND moving_to IS NULL AND status = 'running' FOR UPDATE SKIP LOCKED`;
    if (!claimed) return null;
    const [d] = await tx<{ id: string }[]>`
      INSERT INTO deployments (project_id, requested_sha, moved_from, move_reason)
      VALUES (${from.project_id}, ${from.commit_sha}, ${from.id}, ${reason}) RETURNING id`;
    await tx`UPDATE deployments SET moving_to = ${d!.id} WHERE id = ${from.id}`;
    return d!.id;
  });
}

/** A move that failed: its source may move again on a later pass. */
export async function abandonMove(sql: Q, failedId: string): Promise<void> {
  await sql`UPDATE deployments SET moving_to = NULL WHERE moving_to = ${failedId}`;
}

/** Workers marked for deletion that no longer hold anything. */
export async function deleteEmptiedWorkers(sql: Q): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    DELETE FROM workers w WHERE w.delete_when_empty AND NOT EXISTS (
      SELECT 1 FROM deployments d WHERE d.worker_id = w.id AND d.status IN ('queued', 'building', 'starting', 'running', 'stopped'))
    RETURNING id`;
  return rows.map((r) => r.id);
}

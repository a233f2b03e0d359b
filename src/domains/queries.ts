/**
 * domains rows. Every state change is a compare-and-swap on what the caller
 * saw (status, attempts, failing_since), so a manual check racing the
 * background job, or two control planes, apply each step once. Times are
 * computed by PostgreSQL (now()), durations passed in milliseconds; a
 * timestamp read back into JavaScript has lost its microseconds, so it is
 * compared at millisecond precision.
 */
import { projectFromHost } from "../ingress/routes";
import type { Sql, TransactionSql } from "postgres";
import type { Viewer } from "../projects/queries";
import type { DomainStatus } from "./model";

type Q = Sql | TransactionSql;

export type DomainRow = {
  id: string;
  project_id: string;
  project_name: string;
  owner_id: string;
  hostname: string;
  status: DomainStatus;
  verification_token: string;
  last_error: string | null;
  last_checked_at: Date | null;
  cname_target: string | null;
  attempts: number;
  next_check_at: Date | null;
  retry_until: Date | null;
  verified_at: Date | null;
  failing_since: Date | null;
  created_by: string | null;
  created_at: Date;
};

const ms = (sql: Q, n: number) => sql`(${n}::double precision * interval '1 millisecond')`;

const visible = (sql: Q, v: Viewer) => (v.role === "admin" ? sql`true` : sql`p.owner_id = ${v.id}`);

/** Re-reads a row with its project's name and owner (after an UPDATE … RETURNING id). */
const select = (sql: Q) => sql`
  SELECT d.*, p.name AS project_name, p.owner_id FROM domains d JOIN projects p ON p.id = d.project_id`;

export async function listDomains(sql: Q, projectId: string): Promise<DomainRow[]> {
  return sql<DomainRow[]>`${select(sql)} WHERE d.project_id = ${projectId} ORDER BY d.created_at, d.hostname LIMIT 1000`;
}

export async function countDomains(sql: Q, projectId: string): Promise<number> {
  const [r] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM domains WHERE project_id = ${projectId}`;
  return r!.n;
}

/** A domain the viewer may see (its project's owner, or an admin). */
export async function findDomain(sql: Q, v: Viewer, id: string): Promise<DomainRow | undefined> {
  const [row] = await sql<DomainRow[]>`${select(sql)} WHERE d.id = ${id} AND ${visible(sql, v)}`;
  return row;
}

export async function findDomainById(sql: Q, id: string): Promise<DomainRow | undefined> {
  const [row] = await sql<DomainRow[]>`${select(sql)} WHERE d.id = ${id}`;
  return row;
}

/** True when another project holds `hostname` verified. */
export async function verifiedElsewhere(sql: Q, hostname: string, projectId: string): Promise<boolean> {
  const rows = await sql`SELECT 1 FROM domains WHERE hostname = ${hostname} AND status = 'verified' AND project_id <> ${projectId}`;
  return rows.length > 0;
}

export async function insertDomain(
  sql: Q,
  d: { projectId: string; hostname: string; token: string; createdBy: string; firstCheckMs: number; retryWindowMs: number },
): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    INSERT INTO domains (project_id, hostname, verification_token, created_by, next_check_at, retry_until)
    VALUES (${d.projectId}, ${d.hostname}, ${d.token}, ${d.createdBy}, now() + ${ms(sql, d.firstCheckMs)}, now() + ${ms(sql, d.retryWindowMs)})
    RETURNING id`;
  return row!.id;
}

export async function deleteDomain(sql: Q, id: string): Promise<boolean> {
  return (await sql`DELETE FROM domains WHERE id = ${id} RETURNING id`).length === 1;
}

/**
 * Takes up to `limit` domains whose check is due and leases them for
 * `leaseMs` (by moving next_check_at), so another control plane or the next
 * tick doesn't check them too; a crashed checker's lease simply runs out.
 */
export async function claimDue(sql: Q, limit: number, leaseMs: number): Promise<DomainRow[]> {
  const ids = await sql<{ id: string }[]>`
    UPDATE domains SET next_check_at = now() + ${ms(sql, leaseMs)}
    WHERE id IN (
      SELECT id FROM domains WHERE next_check_at <= now() ORDER BY next_check_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
    )
    RETURNING id`;
  if (ids.length === 0) return [];
  return sql<DomainRow[]>`${select(sql)} WHERE d.id IN ${sql(ids.map((r) => r.id))}`;
}

const returning = async (sql: Q, rows: { id: string }[]) => (rows[0] ? findDomainById(sql, rows[0].id) : undefined);

/** pending/failed → verified (the unique index refuses a hostname verified elsewhere: error 23505). */
export async function markVerified(sql: Q, seen: DomainRow, cname: string | null, recheckMs: number): Promise<DomainRow | undefined> {
  const rows = await sql<{ id: string }[]>`
    UPDATE domains SET status = 'verified', verified_at = now(), last_checked_at = now(), last_error = NULL,
      cname_target = ${cname}, attempts = 0, failing_since = NULL, retry_until = NULL,
      next_check_at = now() + ${ms(sql, recheckMs)}
    WHERE id = ${seen.id} AND status = ${seen.status} AND status <> 'verified'
    RETURNING id`;
  return returning(sql, rows);
}

/** A verified domain passed its re-check: clears a missing-record streak, schedules the next one. */
export async function markRechecked(sql: Q, seen: DomainRow, cname: string | null, recheckMs: number): Promise<DomainRow | undefined> {
  const rows = await sql<{ id: string }[]>`
    UPDATE domains SET last_checked_at = now(), last_error = NULL, cname_target = ${cname}, failing_since = NULL,
      next_check_at = now() + ${ms(sql, recheckMs)}
    WHERE id = ${seen.id} AND status = 'verified' AND date_trunc('milliseconds', failing_since) IS NOT DISTINCT FROM ${seen.failing_since}
    RETURNING id`;
  return returning(sql, rows);
}

/**
 * A verified domain failed its check. Past the grace period (counted from the
 * first failure in the streak) it becomes failed and stops routing; it is then
 * retried in the background for another window. Returns which happened.
 */
export async function markRecheckFailed(
  sql: Q,
  seen: DomainRow,
  r: { error: string; cname: string | null; graceMs: number; graceCheckMs: number; firstCheckMs: number; retryWindowMs: number },
): Promise<{ row: DomainRow; unverified: boolean } | undefined> {
  const unverified = await sql<{ id: string }[]>`
    UPDATE domains SET status = 'failed', failing_since = NULL, last_checked_at = now(), cname_target = ${r.cname},
      last_error = ${r.error + " — unverified after the grace period; it no longer routes"},
      attempts = 0, next_check_at = now() + ${ms(sql, r.firstCheckMs)}, retry_until = now() + ${ms(sql, r.retryWindowMs)}
    WHERE id = ${seen.id} AND status = 'verified' AND date_trunc('milliseconds', failing_since) IS NOT DISTINCT FROM ${seen.failing_since}
      AND COALESCE(failing_since, now()) + ${ms(sql, r.graceMs)} <= now()
    RETURNING id`;
  if (unverified.length) return { row: (await returning(sql, unverified))!, unverified: true };
  const kept = await sql<{ id: string }[]>`
    UPDATE domains SET failing_since = COALESCE(failing_since, now()), last_checked_at = now(), last_error = ${r.error},
      cname_target = ${r.cname},
      next_check_at = GREATEST(now() + interval '1 second',
        LEAST(now() + ${ms(sql, r.graceCheckMs)}, COALESCE(failing_since, now()) + ${ms(sql, r.graceMs)}))
    WHERE id = ${seen.id} AND status = 'verified' AND date_trunc('milliseconds', failing_since) IS NOT DISTINCT FROM ${seen.failing_since}
    RETURNING id`;
  const row = await returning(sql, kept);
  return row ? { row, unverified: false } : undefined;
}

/**
 * A domain that isn't verified failed a background check: the next try after
 * `delayMs` (backoff), or none once its retry window is over, when a pending
 * domain becomes failed.
 */
export async function markCheckFailed(
  sql: Q,
  seen: DomainRow,
  r: { error: string; cname: string | null; delayMs: number },
): Promise<DomainRow | undefined> {
  const rows = await sql<{ id: string }[]>`
    UPDATE domains SET last_checked_at = now(), last_error = ${r.error}, cname_target = ${r.cname}, attempts = attempts + 1,
      status = CASE WHEN retry_until IS NULL OR retry_until <= now() THEN 'failed' ELSE status END,
      next_check_at = CASE WHEN retry_until IS NULL OR retry_until <= now() THEN NULL
                           ELSE LEAST(now() + ${ms(sql, r.delayMs)}, retry_until) END
    WHERE id = ${seen.id} AND status = ${seen.status} AND status <> 'verified' AND attempts = ${seen.attempts}
    RETURNING id`;
  return returning(sql, rows);
}

/**
 * A check asked for by the user failed on a domain that isn't verified: the
 * error is recorded; if background retries had ended, they start again for
 * a new window and the domain is pending again.
 */
export async function markManualCheckFailed(
  sql: Q,
  seen: DomainRow,
  r: { error: string; cname: string | null; firstCheckMs: number; retryWindowMs: number },
): Promise<DomainRow | undefined> {
  const rows = await sql<{ id: string }[]>`
    UPDATE domains SET last_checked_at = now(), last_error = ${r.error}, cname_target = ${r.cname},
      status = CASE WHEN next_check_at IS NULL THEN 'pending' ELSE status END,
      attempts = CASE WHEN next_check_at IS NULL THEN 0 ELSE attempts END,
      retry_until = CASE WHEN next_check_at IS NULL THEN now() + ${ms(sql, r.retryWindowMs)} ELSE retry_until END,
      next_check_at = COALESCE(next_check_at, now() + ${ms(sql, r.firstCheckMs)})
    WHERE id = ${seen.id} AND status = ${seen.status} AND status <> 'verified'
    RETURNING id`;
  return returning(sql, rows);
}

/** Is `name` a name some edge may serve: a project's app name or a verified domain (exact, or a wildcard one label up)? */
export async function isServedName(sql: Q, name: string, appsDomain: string): Promise<boolean> {
  const label = projectFromHost(name, appsDomain);
  const dot = name.indexOf(".");
  const wildcard = dot > 0 ? "*." + name.slice(dot + 1) : null;
  const rows = await sql`
    SELECT 1 FROM projects WHERE ${label !== null} AND name = ${label ?? ""}
    UNION ALL
    SELECT 1 FROM domains WHERE status = 'verified' AND (hostname = ${name} OR hostname = ${wildcard ?? name})
    LIMIT 1`;
  return rows.length > 0;
}

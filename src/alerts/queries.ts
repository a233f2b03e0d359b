/** alert_rules, alert_rule_channels and alerts. Every state change is a compare-and-swap. */
import type { Sql, TransactionSql } from "postgres";
import type { AlertStatus, RuleKind, RuleParams } from "./model";

type Q = Sql | TransactionSql;

/** Who asks: an admin sees everything; a member their own projects' rules and alerts. */
export type Viewer = { id: string; role: "admin" | "member" };

export type RuleRow = {
  id: string;
  project_id: string | null;
  created_by: string | null;
  name: string;
  kind: RuleKind;
  params: RuleParams;
  for_minutes: number;
  enabled: boolean;
  silenced_until: Date | null;
  builtin: boolean;
  created_at: Date;
  updated_at: Date;
  channel_ids: string[];
};

export type AlertRow = {
  id: string;
  rule_id: string;
  rule_name: string;
  kind: RuleKind;
  target_type: "deployment" | "project" | "worker" | "domain";
  target_id: string;
  target_name: string;
  project_id: string | null;
  status: AlertStatus;
  value: number | null;
  summary: string;
  detail: Record<string, unknown>;
  first_seen: Date;
  last_seen: Date;
  fired_at: Date | null;
  resolved_at: Date | null;
  acked_at: Date | null;
  acked_by: string | null;
  silenced_until: Date | null;
};

const ruleColumns = (sql: Q) => sql`
  r.*, COALESCE((SELECT array_agg(rc.channel_id::text ORDER BY rc.channel_id) FROM alert_rule_channels rc WHERE rc.rule_id = r.id), '{}'::text[]) AS channel_ids`;

const ruleVisible = (sql: Q, v: Viewer) =>
  v.role === "admin" ? sql`true` : sql`r.project_id IN (SELECT id FROM projects WHERE owner_id = ${v.id})`;

export async function listRules(sql: Q, v: Viewer, projectId?: string): Promise<RuleRow[]> {
  return sql<RuleRow[]>`SELECT ${ruleColumns(sql)} FROM alert_rules r
    WHERE ${ruleVisible(sql, v)} ${projectId ? sql`AND r.project_id = ${projectId}` : sql``}
    ORDER BY r.project_id NULLS FIRST, r.created_at LIMIT 1000`;
}

export async function findRule(sql: Q, v: Viewer, id: string): Promise<RuleRow | undefined> {
  const [row] = await sql<RuleRow[]>`SELECT ${ruleColumns(sql)} FROM alert_rules r WHERE r.id = ${id} AND ${ruleVisible(sql, v)}`;
  return row;
}

export async function insertRule(
  sql: Q,
  r: { project_id: string | null; created_by: string; name: string; kind: RuleKind; params: RuleParams; for_minutes: number; enabled: boolean; silenced_until: Date | null },
): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    INSERT INTO alert_rules (project_id, created_by, name, kind, params, for_minutes, enabled, silenced_until)
    VALUES (${r.project_id}, ${r.created_by}, ${r.name}, ${r.kind}, ${sql.json(r.params as never)}, ${r.for_minutes}, ${r.enabled}, ${r.silenced_until})
    RETURNING id`;
  return row!.id;
}

/** CAS on updated_at: a concurrent edit makes this a no-op (false). */
export async function updateRule(
  sql: Q,
  id: string,
  expectedUpdatedAt: Date,
  r: { name: string; params: RuleParams; for_minutes: number; enabled: boolean; silenced_until: Date | null },
): Promise<boolean> {
  const rows = await sql`UPDATE alert_rules
    SET name = ${r.name}, params = ${sql.json(r.params as never)}, for_minutes = ${r.for_minutes}, enabled = ${r.enabled},
        silenced_until = ${r.silenced_until}, updated_at = now()
    WHERE id = ${id} AND date_trunc('milliseconds', updated_at) = ${expectedUpdatedAt} RETURNING id`;
  return rows.length === 1;
}

export async function setRuleChannels(sql: Q, ruleId: string, channelIds: string[]): Promise<void> {
  await sql`DELETE FROM alert_rule_channels WHERE rule_id = ${ruleId}`;
  if (channelIds.length)
    await sql`INSERT INTO alert_rule_channels ${sql(channelIds.map((channel_id) => ({ rule_id: ruleId, channel_id })))} ON CONFLICT DO NOTHING`;
}

export async function deleteRule(sql: Q, id: string): Promise<boolean> {
  return (await sql`DELETE FROM alert_rules WHERE id = ${id} RETURNING id`).length === 1;
}

// ---- alerts ----------------------------------------------------------------

const alertColumns = (sql: Q) => sql`a.*, r.name AS rule_name, r.kind`;

const alertVisible = (sql: Q, v: Viewer) =>
  v.role === "admin" ? sql`true` : sql`a.project_id IN (SELECT id FROM projects WHERE owner_id = ${v.id})`;

export async function listAlerts(
  sql: Q,
  v: Viewer,
  f: { status?: "open" | AlertStatus; project?: string; rule?: string; limit: number },
): Promise<AlertRow[]> {
  const status =
    f.status === "open" ? sql`AND a.status IN ('pending', 'firing')` : f.status ? sql`AND a.status = ${f.status}` : sql``;
  return sql<AlertRow[]>`SELECT ${alertColumns(sql)} FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
    WHERE ${alertVisible(sql, v)} ${status}
      ${f.project ? sql`AND a.project_id = ${f.project}` : sql``}
      ${f.rule ? sql`AND a.rule_id = ${f.rule}` : sql``}
    ORDER BY (a.status = 'firing') DESC, a.last_seen DESC LIMIT ${f.limit}`;
}

export async function findAlert(sql: Q, v: Viewer, id: string): Promise<AlertRow | undefined> {
  const [row] = await sql<AlertRow[]>`SELECT ${alertColumns(sql)} FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
    WHERE a.id = ${id} AND ${alertVisible(sql, v)}`;
  return row;
}

/** The first acknowledgement stands; acknowledging again changes nothing. */
export async function ackAlert(sql: Q, id: string, userId: string): Promise<boolean> {
  const r = await sql`UPDATE alerts SET acked_at = now(), acked_by = ${userId} WHERE id = ${id} AND acked_at IS NULL RETURNING id`;
  return r.length === 1;
}

export async function silenceAlert(sql: Q, id: string, until: Date | null): Promise<void> {
  await sql`UPDATE alerts SET silenced_until = ${until} WHERE id = ${id}`;
}

// ---- the evaluator's reads ---------------------------------------------------

export async function allRules(sql: Q): Promise<RuleRow[]> {
  return sql<RuleRow[]>`SELECT ${ruleColumns(sql)} FROM alert_rules r`;
}

export async function openAlerts(sql: Q): Promise<AlertRow[]> {
  return sql<AlertRow[]>`SELECT ${alertColumns(sql)} FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
    WHERE a.status IN ('pending', 'firing')`;
}

export type DeploymentInfo = { id: string; status: string; project_id: string; project_name: string; cpus: number };

export async function deploymentsInfo(sql: Q, ids: string[]): Promise<DeploymentInfo[]> {
  if (ids.length === 0) return [];
  return sql<DeploymentInfo[]>`SELECT d.id, d.status, d.project_id, p.name AS project_name, p.cpus
    FROM deployments d JOIN projects p ON p.id = d.project_id WHERE d.id = ANY(${ids}::uuid[])`;
}

export type FailingProject = { project_id: string; project_name: string; deployment_id: string; error: string | null; failed_at: Date };

/**
 * Projects whose latest failed deployment failed at or after `since` (or is one
 * of `alsoIds`, whatever its age) and none of whose deployments ran after it.
 */
export async function failingProjects(sql: Q, since: Date, alsoIds: string[], projectId: string | null): Promise<FailingProject[]> {
  return sql<FailingProject[]>`
    SELECT f.project_id, p.name AS project_name, f.id AS deployment_id, f.error, f.failed_at
    FROM (
      SELECT DISTINCT ON (project_id) project_id, id, error, failed_at
      FROM deployments
      WHERE status = 'failed' AND failed_at IS NOT NULL
        AND (failed_at >= ${since} OR project_id = ANY(${alsoIds}::uuid[]))
        ${projectId ? sql`AND project_id = ${projectId}` : sql``}
      ORDER BY project_id, failed_at DESC
    ) f
    JOIN projects p ON p.id = f.project_id
    WHERE NOT EXISTS (SELECT 1 FROM deployments r WHERE r.project_id = f.project_id AND r.running_at > f.failed_at)`;
}

export type LostDomain = { id: string; hostname: string; project_id: string; project_name: string; status: string; failing_since: Date | null; last_error: string | null };

/**
 * Domains that were verified and have lost it: their record is missing (in
 * the grace period) or they were unverified. Plus `alsoIds` (open alerts), to resolve them.
 */
export async function lostDomains(sql: Q, alsoIds: string[], projectId: string | null): Promise<LostDomain[]> {
  return sql<LostDomain[]>`
    SELECT d.id, d.hostname, d.project_id, p.name AS project_name, d.status, d.failing_since, d.last_error
    FROM domains d JOIN projects p ON p.id = d.project_id
    WHERE d.verified_at IS NOT NULL
      AND (d.failing_since IS NOT NULL OR d.status <> 'verified' OR d.id::text = ANY(${alsoIds}))
      ${projectId ? sql`AND d.project_id = ${projectId}` : sql``}`;
}

export async function projectNames(sql: Q, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await sql<{ id: string; name: string }[]>`SELECT id, name FROM projects WHERE id = ANY(${ids}::uuid[])`;
  return new Map(rows.map((r) => [r.id, r.name]));
}

export type WorkerState = { id: string; name: string; status: string; last_heartbeat: Date | null };

export async function workerStates(sql: Q): Promise<WorkerState[]> {
  return sql<WorkerState[]>`SELECT id, name, status, last_heartbeat FROM workers`;
}

// ---- the evaluator's writes (each inside the transaction that also queues its notifications)

/** A new open alert, unless one is already open for the rule and target (then undefined). */
export async function insertAlert(
  sql: Q,
  a: {
    rule_id: string;
    target_type: AlertRow["target_type"];
    target_id: string;
    target_name: string;
    project_id: string | null;
    status: "pending" | "firing";
    value: number | null;
    summary: string;
    detail: Record<string, unknown>;
  },
): Promise<{ id: string } | undefined> {
  const [row] = await sql<{ id: string }[]>`
    INSERT INTO alerts (rule_id, target_type, target_id, target_name, project_id, status, value, summary, detail, fired_at)
    VALUES (${a.rule_id}, ${a.target_type}, ${a.target_id}, ${a.target_name}, ${a.project_id}, ${a.status}, ${a.value}, ${a.summary},
            ${sql.json(a.detail as never)}, ${a.status === "firing" ? sql`now()` : null})
    ON CONFLICT (rule_id, target_type, target_id) WHERE status IN ('pending', 'firing') DO NOTHING
    RETURNING id`;
  return row;
}

/** pending → firing. */
export async function fireAlert(sql: Q, id: string, value: number | null, summary: string, detail: Record<string, unknown>): Promise<boolean> {
  const r = await sql`UPDATE alerts SET status = 'firing', fired_at = now(), last_seen = now(), value = ${value}, summary = ${summary},
      detail = ${sql.json(detail as never)}
    WHERE id = ${id} AND status = 'pending' RETURNING id`;
  return r.length === 1;
}

/** firing → resolved. */
export async function resolveAlert(sql: Q, id: string, from: "firing", reason: string): Promise<boolean> {
  const r = await sql`UPDATE alerts SET status = 'resolved', resolved_at = now(), last_seen = now(),
      detail = detail || ${sql.json({ resolved_reason: reason } as never)}
    WHERE id = ${id} AND status = ${from} RETURNING id`;
  return r.length === 1;
}

/** A pending alert whose condition ended before it fired: it announced nothing and goes without a trace. */
export async function dropPendingAlert(sql: Q, id: string): Promise<boolean> {
  return (await sql`DELETE FROM alerts WHERE id = ${id} AND status = 'pending' RETURNING id`).length === 1;
}

/** Still true: last_seen, the current value and what it says. */
export async function touchAlert(sql: Q, id: string, value: number | null, summary: string, detail: Record<string, unknown>): Promise<void> {
  await sql`UPDATE alerts SET last_seen = now(), value = ${value}, summary = ${summary}, detail = ${sql.json(detail as never)}
    WHERE id = ${id} AND status IN ('pending', 'firing')`;
}

export async function alertById(sql: Q, id: string): Promise<AlertRow | undefined> {
  const [row] = await sql<AlertRow[]>`SELECT ${alertColumns(sql)} FROM alerts a JOIN alert_rules r ON r.id = a.rule_id WHERE a.id = ${id}`;
  return row;
}

/** The enabled channels of a rule. */
export async function ruleChannels(sql: Q, ruleId: string): Promise<{ id: string }[]> {
  return sql<{ id: string }[]>`SELECT c.id FROM alert_rule_channels rc JOIN notification_channels c ON c.id = rc.channel_id
    WHERE rc.rule_id = ${ruleId} AND c.enabled`;
}

/** Resolved alerts older than `days` go (their deliveries keep their payload). */
export async function purgeAlerts(sql: Q, days: number): Promise<number> {
  const r = await sql`DELETE FROM alerts WHERE status = 'resolved' AND resolved_at < now() - make_interval(days => ${days}) RETURNING id`;
  return r.length;
}

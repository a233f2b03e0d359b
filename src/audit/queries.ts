/** audit_events is append-only: this module only INSERTs and SELECTs. */
import type { Sql, TransactionSql } from "postgres";

type Q = Sql | TransactionSql;

export type AuditEvent = {
  action: string;
  outcome: "success" | "failure";
  actor_id?: string | null;
  actor_email?: string | null;
  target_type?: string | null;
  target_id?: string | null;
  ip?: string | null;
  user_agent?: string | null;
  detail?: Record<string, unknown>;
};

export type AuditRow = Required<Omit<AuditEvent, "detail">> & { id: string; at: Date; detail: Record<string, unknown> };

export async function insertAuditEvent(sql: Q, e: AuditEvent): Promise<void> {
  await sql`INSERT INTO audit_events (action, outcome, actor_id, actor_email, target_type, target_id, ip, user_agent, detail)
    VALUES (${e.action}, ${e.outcome}, ${e.actor_id ?? null}, ${e.actor_email ?? null}, ${e.target_type ?? null},
            ${e.target_id ?? null}, ${e.ip ?? null}, ${e.user_agent ?? null}, ${sql.json((e.detail ?? {}) as never)})`;
}

export type AuditFilter = {
  actor_id?: string;
  action?: string;
  target_id?: string;
  from?: Date;
  to?: Date;
  /** Return events with id below this (cursor pagination, newest first). */
  before?: string;
  limit: number;
};

export async function listAuditEvents(sql: Q, f: AuditFilter): Promise<AuditRow[]> {
  return sql<AuditRow[]>`
    SELECT id, at, actor_id, actor_email, action, target_type, target_id, ip, user_agent, outcome, detail
    FROM audit_events
    WHERE true
      ${f.actor_id ? sql`AND actor_id = ${f.actor_id}` : sql``}
      ${f.action ? sql`AND action = ${f.action}` : sql``}
      ${f.target_id ? sql`AND target_id = ${f.target_id}` : sql``}
      ${f.from ? sql`AND at >= ${f.from}` : sql``}
      ${f.to ? sql`AND at < ${f.to}` : sql``}
      ${f.before ? sql`AND id < ${f.before}` : sql``}
    ORDER BY id DESC LIMIT ${f.limit}`;
}

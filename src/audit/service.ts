/**
 * The audit trail: one row per sign-in, failure, security change and
 * privileged action. `detail` must never hold a secret; `sanitize` drops any
 * key that looks like one, as a second line of defence.
 */
import type { Sql, TransactionSql } from "postgres";
import { insertAuditEvent, type AuditEvent } from "./queries";

/** Who did it and from where: what every audited service call receives. */
export type Actor = { id: string | null; email: string | null; ip: string | null; userAgent: string | null };

export const SYSTEM_ACTOR: Actor = { id: null, email: "system", ip: null, userAgent: null };

const SECRET_KEY = /pass|secret|token|code|key|value|cookie|otp|credential/i;

export function sanitize(detail: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(detail)) {
    if (SECRET_KEY.test(k) && k !== "keys" && k !== "env_keys") continue;
    out[k] = typeof v === "string" ? v.slice(0, 500) : v;
  }
  return out;
}

export async function audit(
  sql: Sql | TransactionSql,
  actor: Actor,
  action: string,
  opts: { outcome?: "success" | "failure"; target_type?: string; target_id?: string | null; detail?: Record<string, unknown> } = {},
): Promise<void> {
  const e: AuditEvent = {
    action,
    outcome: opts.outcome ?? "success",
    actor_id: actor.id,
    actor_email: actor.email,
    target_type: opts.target_type ?? null,
    target_id: opts.target_id ?? null,
    ip: actor.ip,
    user_agent: actor.userAgent?.slice(0, 500) ?? null,
    detail: sanitize(opts.detail ?? {}),
  };
  await insertAuditEvent(sql, e);
}

/** A signed-in caller as services see it: who (for access checks) and from where (for the audit row). */
export type Caller = { id: string; role: "admin" | "member"; email: string | null; ip: string | null; userAgent: string | null };

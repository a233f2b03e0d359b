/** notification_channels and notification_outbox. */
import type { Sql, TransactionSql } from "postgres";
import type { NotificationPayload } from "./model";

type Q = Sql | TransactionSql;

/** Who may see a channel: its owner, or any admin. */
export type Viewer = { id: string; role: "admin" | "member" };

export type ChannelRow = {
  id: string;
  owner_id: string;
  name: string;
  kind: "webhook" | "slack" | "email";
  config: { url?: string; to?: string[] };
  secret_enc: string | null;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
};

const visible = (sql: Q, v: Viewer) => (v.role === "admin" ? sql`true` : sql`owner_id = ${v.id}`);

export async function listChannels(sql: Q, v: Viewer): Promise<ChannelRow[]> {
  return sql<ChannelRow[]>`SELECT * FROM notification_channels WHERE ${visible(sql, v)} ORDER BY created_at DESC LIMIT 1000`;
}

export async function findChannel(sql: Q, v: Viewer, id: string): Promise<ChannelRow | undefined> {
  const [row] = await sql<ChannelRow[]>`SELECT * FROM notification_channels WHERE id = ${id} AND ${visible(sql, v)}`;
  return row;
}

/** The ids among `ids` the viewer may attach to a rule. */
export async function visibleChannelIds(sql: Q, v: Viewer, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await sql<{ id: string }[]>`SELECT id FROM notification_channels WHERE id = ANY(${ids}::uuid[]) AND ${visible(sql, v)}`;
  return new Set(rows.map((r) => r.id));
}

export async function insertChannel(
  sql: Q,
  c: { id: string; owner_id: string; name: string; kind: ChannelRow["kind"]; config: ChannelRow["config"]; secret_enc: string | null; enabled: boolean },
): Promise<void> {
  await sql`INSERT INTO notification_channels (id, owner_id, name, kind, config, secret_enc, enabled)
    VALUES (${c.id}, ${c.owner_id}, ${c.name}, ${c.kind}, ${sql.json(c.config as never)}, ${c.secret_enc}, ${c.enabled})`;
}

/** Compare-and-swap on updated_at (to the millisecond a client sees), so two editors can't silently overwrite each other. */
export async function updateChannel(
  sql: Q,
  id: string,
  expectedUpdatedAt: Date,
  c: { name: string; config: ChannelRow["config"]; secret_enc: string | null; enabled: boolean },
): Promise<boolean> {
  const rows = await sql`UPDATE notification_channels
    SET name = ${c.name}, config = ${sql.json(c.config as never)}, secret_enc = ${c.secret_enc}, enabled = ${c.enabled}, updated_at = now()
    WHERE id = ${id} AND date_trunc('milliseconds', updated_at) = ${expectedUpdatedAt} RETURNING id`;
  return rows.length === 1;
}

export async function deleteChannel(sql: Q, id: string): Promise<boolean> {
  return (await sql`DELETE FROM notification_channels WHERE id = ${id} RETURNING id`).length === 1;
}

export async function channelsByIds(sql: Q, ids: string[]): Promise<ChannelRow[]> {
  if (ids.length === 0) return [];
  return sql<ChannelRow[]>`SELECT * FROM notification_channels WHERE id = ANY(${ids}::uuid[])`;
}

// ---- outbox ----------------------------------------------------------------

export type OutboxRow = {
  id: string;
  idempotency_key: string;
  channel_id: string;
  alert_id: string | null;
  event: NotificationPayload["event"];
  payload: NotificationPayload;
  status: "pending" | "sending" | "delivered" | "failed";
  attempts: number;
  next_attempt_at: Date;
  locked_until: Date | null;
  last_error: string | null;
  created_at: Date;
  give_up_at: Date;
  delivered_at: Date | null;
};

/** Adds a delivery unless one with the same key exists (a transition is announced once). True when added. */
export async function enqueue(
  sql: Q,
  row: { id: string; idempotency_key: string; channel_id: string; alert_id: string | null; event: NotificationPayload["event"]; payload: NotificationPayload },
): Promise<boolean> {
  const r = await sql`INSERT INTO notification_outbox (id, idempotency_key, channel_id, alert_id, event, payload)
    VALUES (${row.id}, ${row.idempotency_key}, ${row.channel_id}, ${row.alert_id}, ${row.event}, ${sql.json(row.payload as never)})
    ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`;
  return r.length === 1;
}

/**
 * Claims up to `limit` due deliveries for this sender: pending ones whose time
 * has come, and 'sending' ones whose sender's lease ran out (it died mid-send).
 * SKIP LOCKED lets several control planes claim side by side without waiting.
 */
export async function claimDue(sql: Q, limit: number, leaseSeconds: number): Promise<OutboxRow[]> {
  return sql<OutboxRow[]>`
    UPDATE notification_outbox o
    SET status = 'sending', attempts = o.attempts + 1, locked_until = now() + make_interval(secs => ${leaseSeconds})
    WHERE o.id IN (
      SELECT id FROM notification_outbox
      WHERE (status = 'pending' AND next_attempt_at <= now()) OR (status = 'sending' AND locked_until < now())
      ORDER BY next_attempt_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED)
    AND (o.status = 'pending' OR o.locked_until < now())
    RETURNING o.*`;
}

export async function markDelivered(sql: Q, id: string): Promise<boolean> {
  const r = await sql`UPDATE notification_outbox SET status = 'delivered', delivered_at = now(), locked_until = NULL, last_error = NULL
    WHERE id = ${id} AND status = 'sending' RETURNING id`;
  return r.length === 1;
}

/**
 * A failed attempt: try again after `delaySeconds` (never later than give_up_at,
 * so the last try is at the 24-hour mark), or give up once that has passed.
 * Returns the new status.
 */
export async function markFailed(sql: Q, id: string, error: string, delaySeconds: number, permanent = false): Promise<string | undefined> {
  const [row] = await sql<{ status: string }[]>`
    UPDATE notification_outbox
    SET status = CASE WHEN ${permanent} OR now() >= give_up_at THEN 'failed' ELSE 'pending' END,
        next_attempt_at = LEAST(now() + make_interval(secs => ${delaySeconds}), give_up_at),
        locked_until = NULL,
        last_error = ${error.slice(0, 1000)}
    WHERE id = ${id} AND status = 'sending'
    RETURNING status`;
  return row?.status;
}

export async function listDeliveries(sql: Q, channelId: string, limit: number): Promise<OutboxRow[]> {
  return sql<OutboxRow[]>`SELECT * FROM notification_outbox WHERE channel_id = ${channelId} ORDER BY created_at DESC LIMIT ${limit}`;
}

/** Delivered and abandoned rows older than `days`. */
export async function purgeOutbox(sql: Q, days: number): Promise<number> {
  const r = await sql`DELETE FROM notification_outbox WHERE status IN ('delivered', 'failed') AND created_at < now() - make_interval(days => ${days}) RETURNING id`;
  return r.length;
}

/** For `keys rotate`: every channel secret, re-encrypted by `reseal` (old key → new key). */
export async function resealChannelSecrets(tx: TransactionSql, reseal: (sealed: string, aad: string) => string | null): Promise<number> {
  const rows = await tx<{ id: string; secret_enc: string }[]>`
    SELECT id, secret_enc FROM notification_channels WHERE secret_enc IS NOT NULL FOR UPDATE`;
  let n = 0;
  for (const r of rows) {
    const next = reseal(r.secret_enc, r.id);
    if (next === null) continue;
    await tx`UPDATE notification_channels SET secret_enc = ${next} WHERE id = ${r.id}`;
    n++;
  }
  return n;
}

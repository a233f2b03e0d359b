/**
 * Notification channels (webhook, Slack, e-mail) owned by a user, their
 * secrets encrypted at rest; "send test"; and the outbox sender, which
 * delivers every queued notification with exponential backoff for 24 hours.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { AppContext } from "../context";
import { decrypt, encrypt } from "../crypto";
import { BadRequest, Conflict, NotFound } from "../http/errors";
import { audit, type Caller } from "../audit/service";
import type { Channel, ChannelCreate, ChannelPatch, Delivery, NotificationPayload, TestResult } from "./model";
import { deliver, DeliveryError, type SendableChannel } from "./deliver";
import { checkTarget, SsrfError } from "./ssrf";
import {
  channelsByIds,
  claimDue,
  deleteChannel,
  findChannel,
  insertChannel,
  listChannels,
  listDeliveries,
  markDelivered,
  markFailed,
  updateChannel,
  type ChannelRow,
  type OutboxRow,
  type Viewer,
} from "./queries";

export function toChannel(r: ChannelRow, secret?: string): Channel {
  return {
    id: r.id,
    owner_id: r.owner_id,
    name: r.name,
    kind: r.kind,
    enabled: r.enabled,
    url: r.kind === "email" ? null : (r.config.url ?? null),
    to: r.kind === "email" ? (r.config.to ?? []) : null,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
    ...(secret !== undefined ? { secret } : {}),
  };
}

const seal = (ctx: AppContext, id: string, plain: string) => encrypt(ctx.config.masterKey, "webhook", plain, id);
const unseal = (ctx: AppContext, id: string, sealed: string) => decrypt(ctx.config.masterKey, "webhook", sealed, id);
const newSecret = () => "whsec_" + randomBytes(24).toString("base64url");

/** Refuses a URL that is not public (unless allowed), naming the field. */
async function checkUrl(ctx: AppContext, url: string): Promise<void> {
  try {
    await checkTarget(url, ctx.config.WH_ALLOW_PRIVATE_WEBHOOKS);
  } catch (e) {
    if (e instanceof SsrfError) throw new BadRequest(`url: ${e.message}`, "url_refused");
    throw e;
  }
}

/** A Slack URL is its credential: only its origin is ever shown. */
const slackShown = (url: string) => `${new URL(url).origin}/…`;

export async function list(ctx: AppContext, v: Viewer): Promise<Channel[]> {
  return (await listChannels(ctx.sql, v)).map((r) => toChannel(r));
}

export async function get(ctx: AppContext, v: Viewer, id: string): Promise<ChannelRow> {
  const row = await findChannel(ctx.sql, v, id);
  if (!row) throw new NotFound("notification channel");
  return row;
}

export async function create(ctx: AppContext, caller: Caller, input: ChannelCreate): Promise<Channel> {
  const id = randomUUID();
  let config: ChannelRow["config"];
  let secretEnc: string | null = null;
  let shownSecret: string | undefined;
  switch (input.kind) {
    case "webhook": {
      await checkUrl(ctx, input.url);
      shownSecret = input.secret ?? newSecret();
      config = { url: input.url };
      secretEnc = seal(ctx, id, shownSecret);
      break;
    }
    case "slack":
      await checkUrl(ctx, input.url);
      config = { url: slackShown(input.url) };
      secretEnc = seal(ctx, id, input.url);
      break;
    case "email":
      if (!ctx.config.WH_SMTP_URL) throw new BadRequest("kind: e-mail channels need WH_SMTP_URL set on the control plane", "smtp_not_configured");
      config = { to: input.to };
      break;
  }
  await ctx.sql.begin(async (tx) => {
    await insertChannel(tx, { id, owner_id: caller.id, name: input.name, kind: input.kind, config, secret_enc: secretEnc, enabled: input.enabled });
    await audit(tx, caller, "notification_channel.create", { target_type: "notification_channel", target_id: id, detail: { name: input.name, kind: input.kind } });
  });
  return toChannel((await findChannel(ctx.sql, caller, id))!, shownSecret);
}

export async function patch(ctx: AppContext, caller: Caller, id: string, input: ChannelPatch): Promise<Channel> {
  const row = await get(ctx, caller, id);
  const wrong = (field: string) => new BadRequest(`${field}: does not apply to a ${row.kind} channel`);
  if (row.kind !== "webhook" && (input.secret !== undefined || input.rotate_secret)) throw wrong(input.secret !== undefined ? "secret" : "rotate_secret");
  if (row.kind === "email" && input.url !== undefined) throw wrong("url");
  if (row.kind !== "email" && input.to !== undefined) throw wrong("to");
  if (input.secret !== undefined && input.rotate_secret) throw new BadRequest("secret: give secret or rotate_secret, not both");
  const config = { ...row.config };
  let secretEnc = row.secret_enc;
  let shownSecret: string | undefined;
  if (input.url !== undefined) {
    await checkUrl(ctx, input.url);
    if (row.kind === "webhook") config.url = input.url;
    else {
      config.url = slackShown(input.url);
      secretEnc = seal(ctx, id, input.url);
    }
  }
  if (input.to !== undefined) config.to = input.to;
  if (input.secret !== undefined || input.rotate_secret) {
    shownSecret = input.secret ?? newSecret();
    secretEnc = seal(ctx, id, shownSecret);
  }
  await ctx.sql.begin(async (tx) => {
    const ok = await updateChannel(tx, id, row.updated_at, {
      name: input.name ?? row.name,
      config,
      secret_enc: secretEnc,
      enabled: input.enabled ?? row.enabled,
    });
    if (!ok) throw new Conflict("the channel changed meanwhile; read it again and retry", "changed");
    await audit(tx, caller, "notification_channel.update", {
      target_type: "notification_channel",
      target_id: id,
      detail: { fields: Object.keys(input).map((k) => (k === "secret" || k === "rotate_secret" ? "signing" : k)) },
    });
  });
  return toChannel((await findChannel(ctx.sql, caller, id))!, input.rotate_secret ? shownSecret : undefined);
}

export async function remove(ctx: AppContext, caller: Caller, id: string): Promise<void> {
  const row = await get(ctx, caller, id);
  await ctx.sql.begin(async (tx) => {
    if (!(await deleteChannel(tx, id))) throw new NotFound("notification channel");
    await audit(tx, caller, "notification_channel.delete", { target_type: "notification_channel", target_id: id, detail: { name: row.name, kind: row.kind } });
  });
}

/** The channel as the sender needs it, secret decrypted. */
export function sendable(ctx: AppContext, row: ChannelRow): SendableChannel {
  switch (row.kind) {
    case "webhook":
      return { id: row.id, kind: "webhook", url: row.config.url!, secret: unseal(ctx, row.id, row.secret_enc!) };
    case "slack":
      return { id: row.id, kind: "slack", url: unseal(ctx, row.id, row.secret_enc!) };
    case "email":
      return { id: row.id, kind: "email", to: row.config.to ?? [] };
  }
}

/** "Send test": one delivery now, answered with its outcome (not queued, not retried). */
export async function sendTest(ctx: AppContext, caller: Caller, id: string): Promise<TestResult> {
  const row = await get(ctx, caller, id);
  const deliveryId = randomUUID();
  const payload: NotificationPayload = {
    event: "test",
    delivery_id: deliveryId,
    transition_id: null,
    at: new Date().toISOString(),
    alert: null,
    message: `Test notification from WiseHosting for channel "${row.name}"`,
  };
  const started = performance.now();
  let result: TestResult;
  try {
    const status = await deliver(ctx.config, sendable(ctx, row), payload);
    result = { ok: true, status, error: null, duration_ms: Math.round(performance.now() - started) };
  } catch (e) {
    const status = e instanceof DeliveryError ? e.status : null;
    result = { ok: false, status, error: (e as Error).message, duration_ms: Math.round(performance.now() - started) };
  }
  await audit(ctx.sql, caller, "notification_channel.test", {
    outcome: result.ok ? "success" : "failure",
    target_type: "notification_channel",
    target_id: id,
    detail: { status: result.status, error: result.error },
  });
  return result;
}

export async function deliveries(ctx: AppContext, v: Viewer, id: string, limit: number): Promise<Delivery[]> {
  await get(ctx, v, id);
  return (await listDeliveries(ctx.sql, id, limit)).map((r) => ({
    id: r.id,
    event: r.event,
    alert_id: r.alert_id,
    status: r.status,
    attempts: r.attempts,
    last_error: r.last_error,
    created_at: r.created_at.toISOString(),
    next_attempt_at: r.next_attempt_at.toISOString(),
    delivered_at: r.delivered_at?.toISOString() ?? null,
  }));
}

// ---- the outbox sender -------------------------------------------------------

export type SenderOptions = {
  /** How often to look for due deliveries when nothing wakes the sender (default 1 s). */
  pollMs?: number;
  /** First retry delay; doubled per attempt, ±20 % jitter (default 2 s). */
  backoffBaseMs?: number;
  /** Longest delay between two attempts (default 15 min). */
  backoffMaxMs?: number;
  /** Deliveries sent at once (default 10). */
  batch?: number;
};

/** The delay before retry number `attempts` (1 = after the first failure). */
export function backoffMs(attempts: number, base: number, max: number, random = Math.random): number {
  const raw = Math.min(max, base * 2 ** Math.max(0, attempts - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

/** A claimed row's claim lasts this long; a sender that dies mid-send loses it then. */
const LEASE_SECONDS = 60;

export function startOutboxSender(ctx: AppContext, opts: SenderOptions = {}) {
  const pollMs = opts.pollMs ?? 1000;
  const base = opts.backoffBaseMs ?? 2000;
  const max = opts.backoffMaxMs ?? 15 * 60_000;
  const batch = opts.batch ?? 10;
  let stopped = false;
  let wake: (() => void) | null = null;
  let woken = false;

  async function sendOne(row: OutboxRow, channel: ChannelRow | undefined): Promise<void> {
    try {
      if (!channel) throw new DeliveryError("the channel was deleted");
      if (!channel.enabled) {
        await markFailed(ctx.sql, row.id, "the channel is disabled", 0, true);
        return;
      }
      await deliver(ctx.config, sendable(ctx, channel), row.payload);
      await markDelivered(ctx.sql, row.id);
    } catch (e) {
      const delay = backoffMs(row.attempts, base, max) / 1000;
      const status = await markFailed(ctx.sql, row.id, (e as Error).message, delay);
      if (status === "failed") console.warn(`[notifications] gave up on delivery ${row.id} after ${row.attempts} attempts: ${(e as Error).message}`);
    }
  }

  async function round(): Promise<number> {
    const rows = await claimDue(ctx.sql, batch, LEASE_SECONDS);
    if (rows.length === 0) return 0;
    const channels = new Map((await channelsByIds(ctx.sql, [...new Set(rows.map((r) => r.channel_id))])).map((c) => [c.id, c]));
    await Promise.all(rows.map((r) => sendOne(r, channels.get(r.channel_id))));
    return rows.length;
  }

  const done = (async () => {
    while (!stopped) {
      let n = 0;
      try {
        n = await round();
      } catch (e) {
        if (!stopped) console.error("[notifications] outbox:", e);
      }
      if (n === batch || stopped) continue; // more may be due right away
      if (woken) {
        woken = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          wake = null;
          resolve();
        }, pollMs);
        wake = () => {
          clearTimeout(t);
          wake = null;
          resolve();
        };
      });
      woken = false;
    }
  })();

  return {
    /** Something was queued: look now instead of at the next poll. */
    kick() {
      woken = true;
      wake?.();
    },
    async stop() {
      stopped = true;
      wake?.();
      await done;
    },
  };
}

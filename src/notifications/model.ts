/**
 * Notification channel shapes: what the API takes and gives back. Depends only
 * on zod, so the dashboard can import it.
 */
import { z } from "zod";

export const channelKind = z.enum(["webhook", "slack", "email"]);
export type ChannelKind = z.infer<typeof channelKind>;

const name = z.string().trim().min(1).max(100);
const httpUrl = z
  .string()
  .max(2048)
  .url("must be an http:// or https:// URL")
  .refine((u) => /^https?:\/\//i.test(u), "must be an http:// or https:// URL");
/** The webhook's HMAC key: at least 16 characters; generated when not given. */
const secret = z.string().min(16, "must be at least 16 characters").max(256);
const recipients = z.array(z.email("must be an e-mail address").max(254)).min(1).max(20);

export const channelCreate = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("webhook"), name, url: httpUrl, secret: secret.optional(), enabled: z.boolean().default(true) }).strict(),
  z.object({ kind: z.literal("slack"), name, url: httpUrl, enabled: z.boolean().default(true) }).strict(),
  z.object({ kind: z.literal("email"), name, to: recipients, enabled: z.boolean().default(true) }).strict(),
]);
export type ChannelCreate = z.infer<typeof channelCreate>;

/** Fields that don't apply to the channel's kind are refused (400). */
export const channelPatch = z
  .object({
    name: name.optional(),
    enabled: z.boolean().optional(),
    url: httpUrl.optional(),
    secret: secret.optional(),
    /** Webhook: replace the HMAC key with a generated one (returned once). */
    rotate_secret: z.literal(true).optional(),
    to: recipients.optional(),
  })
  .strict();
export type ChannelPatch = z.infer<typeof channelPatch>;

export const channel = z.object({
  id: z.string(),
  owner_id: z.string(),
  name: z.string(),
  kind: channelKind,
  enabled: z.boolean(),
  /** Webhook: the URL; Slack: only its origin (the full URL is a credential, stored encrypted). */
  url: z.string().nullable(),
  /** E-mail: the recipients. */
  to: z.array(z.string()).nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  /** Webhook: the HMAC key, only in the answer that created or rotated it. */
  secret: z.string().optional(),
});
export type Channel = z.infer<typeof channel>;

export const testResult = z.object({
  ok: z.boolean(),
  /** The receiver's HTTP status (webhook, Slack), or null. */
  status: z.number().nullable(),
  error: z.string().nullable(),
  duration_ms: z.number(),
});
export type TestResult = z.infer<typeof testResult>;

export const delivery = z.object({
  id: z.string(),
  event: z.enum(["alert.firing", "alert.resolved", "test"]),
  alert_id: z.string().nullable(),
  status: z.enum(["pending", "sending", "delivered", "failed"]),
  attempts: z.number(),
  last_error: z.string().nullable(),
  created_at: z.string(),
  next_attempt_at: z.string(),
  delivered_at: z.string().nullable(),
});
export type Delivery = z.infer<typeof delivery>;

/**
 * What a webhook receives (JSON body, signed) and what Slack and e-mail
 * messages are written from. Built once when the transition happens and
 * stored with the outbox row, so every retry sends the same bytes.
 */
export type NotificationPayload = {
  event: "alert.firing" | "alert.resolved" | "test";
  /** The outbox row: the same on every retry of this delivery (receivers dedupe on it). */
  delivery_id: string;
  /** <alert id>:<firing|resolved>: one per alert transition. */
  transition_id: string | null;
  at: string;
  alert: {
    id: string;
    status: "pending" | "firing" | "resolved";
    rule_id: string;
    rule_name: string;
    kind: string;
    target_type: string;
    target_id: string;
    target_name: string;
    project_id: string | null;
    summary: string;
    value: number | null;
    first_seen: string;
    last_seen: string;
    fired_at: string | null;
    resolved_at: string | null;
  } | null;
  message: string;
};

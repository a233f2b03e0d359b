/**
 * Sending one notification on one channel: a signed JSON webhook, a Slack
 * message, or an e-mail. Knows nothing of the outbox; it answers ok or throws
 * DeliveryError with a reason short enough to store.
 */
import { createHmac } from "node:crypto";
import type { Config } from "../config";
import type { NotificationPayload } from "./model";
import { checkTarget, pinnedFetch, SsrfError } from "./ssrf";
import { parseSmtpUrl, sendMail } from "./smtp";

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

/** A channel with its secret decrypted, as the sender needs it. */
export type SendableChannel =
  | { id: string; kind: "webhook"; url: string; secret: string }
  | { id: string; kind: "slack"; url: string }
  | { id: string; kind: "email"; to: string[] };

export const SIGNATURE_HEADER = "x-wisehosting-signature-256";
export const EVENT_HEADER = "x-wisehosting-event";
export const DELIVERY_HEADER = "x-wisehosting-delivery";
const USER_AGENT = "WiseHosting-Notifications/0.1";
const TIMEOUT_MS = 15_000;

/** "sha256=<hex>" of HMAC-SHA256(secret, body): what X-WiseHosting-Signature-256 carries. */
export function signature(secret: string, body: string): string {
  return "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
}

/** One line for chat and e-mail subjects. */
export function headline(p: NotificationPayload): string {
  if (!p.alert) return p.message;
  const state = p.event === "alert.resolved" ? "RESOLVED" : "FIRING";
  return `[${state}] ${p.alert.rule_name}: ${p.alert.target_name}`;
}

/** The plain-text body of Slack messages and e-mails. */
export function textOf(p: NotificationPayload, publicUrl: string): string {
  if (!p.alert) return `${p.message}\n\n${publicUrl}`;
  const a = p.alert;
  const lines = [
    headline(p),
    p.message,
    ...(p.event === "alert.resolved" ? [`was: ${a.summary}`] : []),
    "",
    `rule: ${a.rule_name} (${a.kind})`,
    `target: ${a.target_type} ${a.target_name} (${a.target_id})`,
    `first seen: ${a.first_seen}`,
    ...(a.fired_at ? [`fired: ${a.fired_at}`] : []),
    ...(a.resolved_at ? [`resolved: ${a.resolved_at}`] : []),
    "",
    `${publicUrl}  (alert ${a.id})`,
  ];
  return lines.join("\n");
}

async function post(url: string, allowPrivate: boolean, headers: Record<string, string>, body: string): Promise<number> {
  let target;
  try {
    target = await checkTarget(url, allowPrivate);
  } catch (e) {
    if (e instanceof SsrfError) throw new DeliveryError(`refused: ${e.message}`);
    throw e;
  }
  let res: Response;
  try {
    res = await pinnedFetch(target, { method: "POST", headers: { "user-agent": USER_AGENT, ...headers }, body, timeoutMs: TIMEOUT_MS });
  } catch (e) {
    const msg = (e as Error).name === "TimeoutError" ? `no answer within ${TIMEOUT_MS / 1000} s` : (e as Error).message;
    throw new DeliveryError(`could not reach ${target.url.host}: ${msg}`);
  }
  // Read a little of the answer so the connection can be reused, never much.
  const reader = res.body?.getReader();
  if (reader) void reader.read().then(() => reader.cancel()).catch(() => {});
  if (res.status >= 300 && res.status < 400) throw new DeliveryError(`answered ${res.status} (redirects are not followed)`, res.status);
  if (res.status < 200 || res.status >= 300) throw new DeliveryError(`answered ${res.status}`, res.status);
  return res.status;
}

/** Sends `payload` on `channel`; resolves with the HTTP status (null for e-mail). */
export async function deliver(config: Config, channel: SendableChannel, payload: NotificationPayload): Promise<number | null> {
  switch (channel.kind) {
    case "webhook": {
      const body = JSON.stringify(payload);
      return post(
        channel.url,
        config.WH_ALLOW_PRIVATE_WEBHOOKS,
        {
          "content-type": "application/json",
          [EVENT_HEADER]: payload.event,
          [DELIVERY_HEADER]: payload.delivery_id,
          [SIGNATURE_HEADER]: signature(channel.secret, body),
        },
        body,
      );
    }
    case "slack": {
      const icon = payload.event === "alert.resolved" ? ":white_check_mark:" : payload.event === "test" ? ":bell:" : ":rotating_light:";
      const text = `${icon} *${escapeSlack(headline(payload))}*\n${escapeSlack(payload.alert ? payload.message : "")}`.trim();
      return post(channel.url, config.WH_ALLOW_PRIVATE_WEBHOOKS, { "content-type": "application/json" }, JSON.stringify({ text }));
    }
    case "email": {
      if (!config.WH_SMTP_URL) throw new DeliveryError("WH_SMTP_URL is not set: e-mail can't be sent");
      const smtp = parseSmtpUrl(config.WH_SMTP_URL, new URL(config.publicUrl).hostname || "localhost");
      try {
        await sendMail(smtp, {
          to: channel.to,
          subject: `[WiseHosting] ${headline(payload)}`,
          text: textOf(payload, config.publicUrl),
          messageId: payload.delivery_id,
        });
      } catch (e) {
        throw new DeliveryError((e as Error).message);
      }
      return null;
    }
  }
}

/** Slack's three control characters. */
function escapeSlack(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

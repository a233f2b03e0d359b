/**
 * Webhook deliveries from the providers, as pure functions: signature checks
 * over the raw body bytes (constant time), the delivery id and event name from
 * the headers, and what the payload means for us (a push to a branch, a tag,
 * a ping, a pull/merge request opened, updated or closed).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { ProviderKind } from "./model";

export type HookKind = ProviderKind;

/** The `:provider` of a webhook URL → which provider's format the delivery is in. */
export function hookKind(param: string): HookKind | null {
  switch (param) {
    case "github":
    case "gitlab":
    case "bitbucket":
    case "gitea":
      return param;
    case "forgejo":
    case "codeberg":
      return "gitea";
    default:
      return null;
  }
}

/** Equal in time that depends only on the lengths of the inputs' sha256 (always 32 bytes). */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const x = createHash("sha256").update(a).digest();
  const y = createHash("sha256").update(b).digest();
  return timingSafeEqual(x, y) && Buffer.from(a).length === Buffer.from(b).length;
}

export function hmacSha256Hex(secret: string, body: Uint8Array): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/** Checks a "sha256=<hex>" or bare "<hex>" signature over `body`. */
function hexSignatureOk(given: string | null, secret: string, body: Uint8Array, prefix: string): boolean {
  if (given === null) return false;
  const expected = prefix + hmacSha256Hex(secret, body);
  return constantTimeEqual(given.trim().toLowerCase(), expected);
}

export type Verified = { ok: true; deliveryId: string; event: string } | { ok: false; status: number; reason: string };

/**
 * Verifies a delivery: the signature (or GitLab's token) against `secret`
 * over the exact bytes received, and that it names its delivery and event.
 */
export function verifyDelivery(kind: HookKind, headers: Headers, body: Uint8Array, secret: string): Verified {
  const h = (name: string) => headers.get(name);
  let signed: boolean;
  let deliveryId: string | null;
  let event: string | null;
  switch (kind) {
    case "github":
      if (h("x-hub-signature-256") === null) return { ok: false, status: 401, reason: "missing X-Hub-Signature-256" };
      signed = hexSignatureOk(h("x-hub-signature-256"), secret, body, "sha256=");
      deliveryId = h("x-github-delivery");
      event = h("x-github-event");
      break;
    case "gitea": {
      // Forgejo sends X-Forgejo-Signature (and X-Gitea-Signature); Gitea sends X-Gitea-Signature. Both: hex HMAC-SHA256.
      const sig = h("x-forgejo-signature") ?? h("x-gitea-signature");
      if (sig === null) return { ok: false, status: 401, reason: "missing X-Forgejo-Signature / X-Gitea-Signature" };
      signed = hexSignatureOk(sig, secret, body, "");
      deliveryId = h("x-forgejo-delivery") ?? h("x-gitea-delivery");
      event = h("x-forgejo-event") ?? h("x-gitea-event");
      break;
    }
    case "gitlab":
      if (h("x-gitlab-token") === null) return { ok: false, status: 401, reason: "missing X-Gitlab-Token" };
      signed = constantTimeEqual(h("x-gitlab-token")!, secret);
      // Idempotency-Key stays the same across GitLab's retries of one delivery; older GitLab has only the event UUID.
      deliveryId = h("idempotency-key") ?? h("x-gitlab-event-uuid");
      event = h("x-gitlab-event");
      break;
    case "bitbucket":
      if (h("x-hub-signature") === null) return { ok: false, status: 401, reason: "missing X-Hub-Signature" };
      signed = hexSignatureOk(h("x-hub-signature"), secret, body, "sha256=");
      deliveryId = h("x-request-uuid");
      event = h("x-event-key");
      break;
  }
  if (!signed) return { ok: false, status: 401, reason: "signature does not match" };
  if (!deliveryId || deliveryId.length > 128 || /[\x00-\x1f\x7f]/.test(deliveryId)) return { ok: false, status: 400, reason: "missing or malformed delivery id" };
  if (!event || event.length > 64) return { ok: false, status: 400, reason: "missing event header" };
  return { ok: true, deliveryId, event };
}

export type HookEvent =
  | { type: "push"; branch: string; sha: string; repo: string | null }
  | { type: "branch_deleted"; branch: string }
  | { type: "tag" }
  | { type: "ping" }
  | {
      type: "pull_request";
      action: "open" | "update" | "close";
      number: number;
      sha: string;
      branch: string;
      repo: string | null;
      /** From another repository (a fork): its code must not run with the project's secrets. */
      fork: boolean;
    }
  | { type: "other"; name: string };

const ZERO = /^0+$/;
const SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/;
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

function fromRef(ref: string | null, sha: string | null, repo: string | null): HookEvent {
  if (ref?.startsWith("refs/tags/")) return { type: "tag" };
  if (!ref?.startsWith("refs/heads/")) return { type: "other", name: `push to ${ref ?? "?"}` };
  const branch = ref.slice("refs/heads/".length);
  if (!sha || ZERO.test(sha)) return { type: "branch_deleted", branch };
  if (!SHA.test(sha)) return { type: "other", name: "push without a commit id" };
  return { type: "push", branch, sha, repo };
}

/** What a verified delivery means. `json` is the parsed body. */
export function parseEvent(kind: HookKind, event: string, json: any): HookEvent {
  if (json === null || typeof json !== "object") return { type: "other", name: event };
  switch (kind) {
    case "github":
    case "gitea": {
      if (event === "ping") return { type: "ping" };
      if (event === "push") return fromRef(str(json.ref), str(json.after), str(json.repository?.full_name));
      if (event === "create" || event === "delete") return json.ref_type === "tag" ? { type: "tag" } : { type: "other", name: event };
      if (event === "pull_request") {
        const pr = json.pull_request ?? {};
        const base = str(pr.base?.repo?.full_name) ?? str(json.repository?.full_name);
        const head = str(pr.head?.repo?.full_name);
        return pullRequest(json.action, json.number, pr.head?.sha, pr.head?.ref, json.repository?.full_name, head === null || head !== base, {
          open: ["opened", "reopened"],
          update: ["synchronize", "synchronized"],
          close: ["closed"],
        });
      }
      return { type: "other", name: event };
    }
    case "gitlab": {
      if (event === "Push Hook" || json.object_kind === "push")
        return fromRef(str(json.ref), str(json.checkout_sha) ?? str(json.after), str(json.project?.path_with_namespace));
      if (event === "Tag Push Hook" || json.object_kind === "tag_push") return { type: "tag" };
      if (event === "Merge Request Hook") {
        const a = json.object_attributes ?? {};
        const fork = a.source_project_id === undefined || a.source_project_id !== a.target_project_id;
        return pullRequest(a.action, a.iid, a.last_commit?.id, a.source_branch, json.project?.path_with_namespace, fork, {
          open: ["open", "reopen"],
          update: ["update"],
          close: ["close", "merge"],
        });
      }
      return { type: "other", name: event };
    }
    case "bitbucket": {
      if (event === "repo:push") {
        const changes: any[] = Array.isArray(json.push?.changes) ? json.push.changes : [];
        // One delivery may carry several refs; the last branch update is the one we act on.
        const repo = str(json.repository?.full_name);
        let result: HookEvent = { type: "other", name: "push without changes" };
        for (const c of changes) {
          const ref = c.new ?? c.old;
          if (ref?.type === "tag") result = result.type === "push" ? result : { type: "tag" };
          else if (ref?.type === "branch") {
            if (!c.new) result = result.type === "push" ? result : { type: "branch_deleted", branch: String(c.old?.name ?? "") };
            else result = fromRef(`refs/heads/${c.new.name}`, str(c.new.target?.hash), repo);
          }
        }
        return result;
      }
      if (event.startsWith("pullrequest:")) {
        const pr = json.pullrequest ?? {};
        const action = event.slice("pullrequest:".length);
        // Bitbucket gives a short hash in pull request payloads; a preview needs the full one.
        const src = str(pr.source?.repository?.full_name);
        const fork = src === null || src !== str(pr.destination?.repository?.full_name);
        return pullRequest(action, pr.id, pr.source?.commit?.hash, pr.source?.branch?.name, json.repository?.full_name, fork, {
          open: ["created"],
          update: ["updated"],
          close: ["fulfilled", "rejected"],
        });
      }
      if (event === "diagnostics:ping") return { type: "ping" };
      return { type: "other", name: event };
    }
  }
}

function pullRequest(
  action: unknown,
  number: unknown,
  sha: unknown,
  branch: unknown,
  repo: unknown,
  fork: boolean,
  map: { open: string[]; update: string[]; close: string[] },
): HookEvent {
  const a = String(action);
  const kind = map.open.includes(a) ? "open" : map.update.includes(a) ? "update" : map.close.includes(a) ? "close" : null;
  if (!kind) return { type: "other", name: `pull request ${a}` };
  const n = Number(number);
  if (!Number.isInteger(n) || n <= 0) return { type: "other", name: "pull request without a number" };
  const s = typeof sha === "string" ? sha : "";
  // Bitbucket sends an abbreviated hash here; the service looks the full one up.
  if (kind !== "close" && !/^[0-9a-f]{7,64}$/.test(s)) return { type: "other", name: "pull request without a commit id" };
  return { type: "pull_request", action: kind, number: n, sha: s, branch: typeof branch === "string" ? branch : "", repo: typeof repo === "string" ? repo : null, fork };
}

/**
 * The hub protocol: every message that crosses the WebSocket between the
 * control plane and an agent. Depends only on zod (and node:crypto for the
 * envelope MAC), so the agent binary can import it without Elysia or a database.
 */
import { z } from "zod";
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** How far an envelope's timestamp may be from the receiver's clock. */
export const MAX_CLOCK_SKEW_MS = 60_000;

export const deploymentStatus = z.enum([
  "queued",
  /** No online worker has room yet; placed as soon as room appears. */
  "pending",
  "building",
  "starting",
  "running",
  "failed",
  "stopped",
  "superseded",
]);
export type DeploymentStatus = z.infer<typeof deploymentStatus>;

/** A wh.* container as the agent sees it in `podman ps -a`. */
export const containerReport = z.object({
  container_id: z.string(),
  name: z.string(),
  project_id: z.string(),
  deployment_id: z.string(),
  state: z.string(), // podman's state: running, exited, created…
  host_port: z.number().int().nullable(),
});
export type ContainerReport = z.infer<typeof containerReport>;

// ---- agent → hub -------------------------------------------------------

export const helloMsg = z.object({
  agent_version: z.string(),
  /** Deployments whose deploy job is still running on the agent (a reconnect mid-build). */
  active_deployments: z.array(z.string()).default([]),
  capacity_mb: z.number().int().positive(),
  address: z.string(),
  containers: z.array(containerReport),
});
export const heartbeatMsg = z.object({ running: z.number().int().nonnegative() });
export const jobStatusMsg = z.object({
  deployment_id: z.string(),
  /** The placement epoch of the job this reports on; older than the current one = stale, ignored. */
  epoch: z.number().int().nonnegative().optional(),
  status: z.enum(["building", "starting", "running", "failed", "stopped", "removed"]),
  host_port: z.number().int().optional(),
  container_id: z.string().optional(),
  commit_sha: z.string().optional(),
  error: z.string().optional(),
  /** With `building`: what made the Containerfile ("containerfile": the repository's own; else the detected stack, e.g. "bun", "static"). Optional: older agents don't send it. */
  builder: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/).optional(),
});
export const logMsg = z.object({
  deployment_id: z.string(),
  stream: z.enum(["build", "runtime"]),
  lines: z.array(z.string()).max(1000),
});
export const authRefreshMsg = z.object({ token: z.string() });

/** One container's resource use at a moment (from `podman stats` and `podman ps`). */
export const containerSample = z.object({
  deployment_id: z.string(),
  cpu_percent: z.number().nonnegative(),
  mem_bytes: z.number().nonnegative(),
  mem_limit_bytes: z.number().nonnegative(),
  net_rx_bytes: z.number().nonnegative(),
  net_tx_bytes: z.number().nonnegative(),
  blk_read_bytes: z.number().nonnegative(),
  blk_write_bytes: z.number().nonnegative(),
  /** Times podman restarted it (restart policy): crash-loop detection. */
  restarts: z.number().int().nonnegative(),
});
export type ContainerSample = z.infer<typeof containerSample>;

/** The host's resource use at a moment. */
export const hostSample = z.object({
  cpu_percent: z.number().nonnegative(),
  mem_used_bytes: z.number().nonnegative(),
  mem_total_bytes: z.number().nonnegative(),
  disk_used_bytes: z.number().nonnegative(),
  disk_total_bytes: z.number().nonnegative(),
});

/** A batch of samples taken every 10 s, sent together. */
export const statsMsg = z.object({
  samples: z
    .array(z.object({ at: z.number().int(), host: hostSample, containers: z.array(containerSample).max(2000) }))
    .max(60),
});

// ---- hub → agent -------------------------------------------------------

export const deployJob = z.object({
  deployment_id: z.string(),
  /** Fencing token: grows with every placement of this deployment; the agent refuses older ones. */
  epoch: z.number().int().nonnegative().default(0),
  project_id: z.string(),
  project_name: z.string(),
  repo_url: z.string(),
  branch: z.string(),
  /** Deploy exactly this commit (a rollback); null = the branch's head. */
  commit_sha: z.string().regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/).nullable().default(null),
  dockerfile: z.string().nullable(),
  port: z.number().int(),
  memory_mb: z.number().int(),
  cpus: z.number(),
  health_path: z.string(),
  env: z.record(z.string(), z.string()),
  /** Build-time variables: given to `podman build` as `--build-arg KEY` with the value in its environment, never argv. */
  build_env: z.record(z.string(), z.string()).optional(),
  /** The agent kills a longer build ("build timed out"); absent: the agent's default. */
  build_timeout_s: z.number().int().positive().optional(),
  allow_local_repos: z.boolean(),
  /**
   * HTTP credential for a private repository (a linked git account's token):
   * the agent hands it to git through the environment only, never argv, a
   * URL, a file or a log line.
   */
  clone_token: z
    .object({
      username: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
      token: z.string().min(1).max(8192).regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces"),
    })
    .optional(),
});
export type DeployJob = z.infer<typeof deployJob>;
export const containerJob = z.object({
  deployment_id: z.string(),
  epoch: z.number().int().nonnegative().optional(),
  /** For start/restart: where to probe health afterwards. */
  port: z.number().int().optional(),
  health_path: z.string().optional(),
});
export type ContainerJob = z.infer<typeof containerJob>;
/** The hub handled the agent's message `id` (heartbeats): lets either side measure and notice a dead link. */
export const ackMsg = z.object({ id: z.string() });
export const welcomeMsg = z.object({ worker_id: z.string(), token_expires_at: z.number() });
export const errorMsg = z.object({ code: z.string(), message: z.string() });

/** Every message type and the schema of its body. */
export const messages = {
  hello: helloMsg,
  heartbeat: heartbeatMsg,
  "job.status": jobStatusMsg,
  log: logMsg,
  "auth.refresh": authRefreshMsg,
  stats: statsMsg,
  welcome: welcomeMsg,
  "job.deploy": deployJob,
  "job.stop": containerJob,
  "job.start": containerJob,
  "job.restart": containerJob,
  "job.remove": containerJob,
  error: errorMsg,
  ack: ackMsg,
} as const;
export type MessageType = keyof typeof messages;
export type MessageBody<T extends MessageType> = z.infer<(typeof messages)[T]>;

/**
 * What travels on the socket. `body` is the JSON text of the message so the MAC
 * covers exactly the bytes sent, with no re-serialisation on the other side.
 */
export const envelope = z.object({
  type: z.enum(Object.keys(messages) as [MessageType, ...MessageType[]]),
  id: z.string().min(1).max(64),
  ts: z.number().int(),
  nonce: z.string().regex(/^[0-9a-f]{32}$/),
  body: z.string().max(4 * 1024 * 1024),
  mac: z.string().regex(/^[0-9a-f]{64}$/),
});
export type Envelope = z.infer<typeof envelope>;

/** The MAC key both sides derive: sha256 of the raw api key, never the key itself. */
export function macKeyFromApiKey(apiKey: string): Buffer {
  return createHash("sha256").update(apiKey).digest();
}

/** sha256 hex, as the control plane stores api keys and tokens. */
export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

function macOf(key: Buffer, e: Omit<Envelope, "mac">): string {
  return createHmac("sha256", key)
    .update(`${e.type}\n${e.id}\n${e.ts}\n${e.nonce}\n${e.body}`)
    .digest("hex");
}

/** Builds a signed envelope ready for JSON.stringify. */
export function seal<T extends MessageType>(key: Buffer, type: T, body: MessageBody<T>, now = Date.now()): Envelope {
  const unsigned = {
    type,
    id: randomBytes(8).toString("hex"),
    ts: now,
    nonce: randomBytes(16).toString("hex"),
    body: JSON.stringify(body),
  };
  return { ...unsigned, mac: macOf(key, unsigned) };
}

export type OpenResult =
  | { ok: true; type: MessageType; body: unknown; envelope: Envelope }
  | { ok: false; reason: string };

/**
 * Tracks nonces seen within the clock-skew window so a captured envelope can't
 * be replayed. One per connection side.
 */
export class NonceCache {
  private seen = new Map<string, number>();
  /** Returns false when the nonce was already used. */
  remember(nonce: string, now = Date.now()): boolean {
    if (this.seen.has(nonce)) return false;
    this.seen.set(nonce, now);
    if (this.seen.size > 1024) this.prune(now);
    return true;
  }
  prune(now = Date.now()): void {
    for (const [n, t] of this.seen) if (now - t > 2 * MAX_CLOCK_SKEW_MS) this.seen.delete(n);
  }
}

/**
 * Parses and verifies raw socket text: envelope shape, MAC, timestamp window,
 * nonce freshness, then the body against its message schema.
 */
export function open(key: Buffer, raw: string | object, nonces: NonceCache, now = Date.now()): OpenResult {
  // Some socket layers (Elysia's) hand over JSON already parsed; the MAC covers
  // the body string inside, so either form verifies the same bytes.
  let parsed: unknown = raw;
  if (typeof raw === "string") {
    try {
      parsed = JSON.parse(raw);
    } catch {
      return { ok: false, reason: "malformed JSON" };
    }
  }
  const env = envelope.safeParse(parsed);
  if (!env.success) return { ok: false, reason: "malformed envelope" };
  const e = env.data;
  const expected = Buffer.from(macOf(key, e), "hex");
  const given = Buffer.from(e.mac, "hex");
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: "bad MAC" };
  if (Math.abs(now - e.ts) > MAX_CLOCK_SKEW_MS) return { ok: false, reason: "stale timestamp" };
  if (!nonces.remember(e.nonce, now)) return { ok: false, reason: "replayed nonce" };
  let body: unknown;
  try {
    body = JSON.parse(e.body);
  } catch {
    return { ok: false, reason: "malformed body" };
  }
  const checked = messages[e.type].safeParse(body);
  if (!checked.success) return { ok: false, reason: `invalid ${e.type} body` };
  return { ok: true, type: e.type, body: checked.data, envelope: e };
}

// ---- worker HTTP endpoints (register / login / refresh) -----------------

export const registerRequest = z.object({
  secret: z.string().min(1),
  api_key: z.string().min(32).max(256),
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "a lowercase name of letters, digits and dashes"),
  capacity: z.number().int().positive(),
});
export const loginRequest = z.object({ worker_id: z.string().uuid(), api_key: z.string().min(32).max(256) });
export const tokenResponse = z.object({ worker_id: z.string(), token: z.string(), expires_at: z.number() });
export type TokenResponse = z.infer<typeof tokenResponse>;

/** Container labels the agent sets and filters on. */
export const LABELS = { project: "wh.project", deployment: "wh.deployment", worker: "wh.worker" } as const;

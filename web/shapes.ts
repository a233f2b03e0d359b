/**
 * Response shapes the dashboard reads that the server has no exported zod
 * schema for yet (it builds them inline in its routes). Kept as zod so they
 * can move to src/protocol/api.ts unchanged; the dashboard imports only their
 * types, so none of this reaches the browser bundle.
 */
import { z } from "zod";

/** GET /v1/setup-status (first-run screen). */
export const setupStatus = z.object({ has_admin: z.boolean() });
export type SetupStatus = z.infer<typeof setupStatus>;

/** GET /v1/auth/providers */
export const providers = z.object({ password: z.boolean(), oidc: z.array(z.object({ id: z.string(), name: z.string() })) });
export type Providers = z.infer<typeof providers>;

/**
 * GET /v1/auth/me. `totp_enabled` and `display_name` are optional: the
 * dashboard uses them when the server sends them (asked for in the report).
 */
export const me = z.object({
  id: z.string(),
  email: z.string(),
  role: z.enum(["admin", "member"]),
  via: z.enum(["token", "session"]),
  scope: z.enum(["read", "write", "admin"]),
  session_id: z.string().nullable(),
  totp_enabled: z.boolean().optional(),
  display_name: z.string().nullable().optional(),
});
export type Me = z.infer<typeof me>;

/** One row of GET /v1/sessions. */
export const sessionView = z.object({
  id: z.string(),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
  created_at: z.string(),
  last_seen_at: z.string(),
  expires_at: z.string(),
  current: z.boolean(),
});
export type SessionView = z.infer<typeof sessionView>;

/** POST /v1/tokens (201): the token value, shown once. */
export const tokenCreated = z.object({
  id: z.string(),
  name: z.string(),
  scope: z.enum(["read", "write", "admin"]),
  expires_at: z.string().nullable(),
  token: z.string(),
});
export type TokenCreated = z.infer<typeof tokenCreated>;

/** Events of GET /v1/events. */
export const liveDeployment = z.object({ deployment_id: z.string(), project_id: z.string(), status: z.string() });
export const liveWorker = z.object({ worker_id: z.string(), status: z.enum(["online", "offline"]) });
export type LiveDeployment = z.infer<typeof liveDeployment>;
export type LiveWorker = z.infer<typeof liveWorker>;

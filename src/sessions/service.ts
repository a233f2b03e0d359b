/**
 * Cookie sessions. The cookie holds 32 random bytes; the database holds only
 * their sha256. A new id on every sign-in and after the second factor.
 */
import { randomBytes } from "node:crypto";
import type { AppContext } from "../context";
import { sha256Hex } from "../protocol/hub";
import { audit, type Actor } from "../audit/service";
import { NotFound } from "../http/errors";
import {
  deleteLoginChallenge,
  deleteOtherSessions,
  deleteSession,
  findLiveSession,
  findLoginChallenge,
  insertLoginChallenge,
  insertSession,
  listSessions,
  touchSession,
  type SessionOwner,
} from "./queries";

export const SESSION_COOKIE = "wh_session";
/** Holds a pending login between the first and the second factor. */
export const CHALLENGE_COOKIE = "wh_login";
export const SESSION_LIFETIME_S = 30 * 24 * 3600;
export const CHALLENGE_LIFETIME_S = 5 * 60;
const TOUCH_EVERY_MS = 60_000;

export type RequestMeta = { ip: string | null; userAgent: string | null };

/** Reads one cookie from a Cookie header. */
export function readCookie(header: string | null | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return null; // a malformed %-escape is no cookie of ours
      }
    }
  }
  return null;
}

/** A Set-Cookie value: HttpOnly, SameSite=Lax, Path=/, Secure when the public URL is https. */
export function cookieHeader(ctx: Pick<AppContext, "config">, name: string, value: string, maxAgeS: number): string {
  const secure = ctx.config.publicUrl.startsWith("https://") ? "; Secure" : "";
  return `${name}=${value}; Path=/; Max-Age=${maxAgeS}; HttpOnly; SameSite=Lax${secure}`;
}

export const clearCookie = (ctx: Pick<AppContext, "config">, name: string) => cookieHeader(ctx, name, "", 0);

const newSecret = () => randomBytes(32).toString("base64url");

/** Creates a session row; returns the Set-Cookie header for it. */
export async function createSession(ctx: AppContext, userId: string, meta: RequestMeta): Promise<{ id: string; setCookie: string }> {
  const value = newSecret();
  const row = await insertSession(ctx.sql, {
    user_id: userId,
    token_hash: sha256Hex(value),
    ip: meta.ip,
    user_agent: meta.userAgent?.slice(0, 500) ?? null,
    expires_at: new Date(Date.now() + SESSION_LIFETIME_S * 1000),
  });
  return { id: row.id, setCookie: cookieHeader(ctx, SESSION_COOKIE, value, SESSION_LIFETIME_S) };
}

const lastTouched = new Map<string, number>();

/** The live session behind a cookie value, or undefined. Records activity at most once a minute. */
export async function resolveSession(ctx: AppContext, value: string): Promise<SessionOwner | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(value)) return undefined;
  const s = await findLiveSession(ctx.sql, sha256Hex(value), ctx.config.WH_SESSION_IDLE_HOURS * 3600);
  if (!s) return undefined;
  const now = Date.now();
  if (now - (lastTouched.get(s.id) ?? 0) >= TOUCH_EVERY_MS) {
    if (lastTouched.size > 10_000) lastTouched.clear();
    lastTouched.set(s.id, now);
    await touchSession(ctx.sql, s.id);
  }
  return s;
}

/** Starts a pending second-factor login; returns its Set-Cookie header. */
export async function createLoginChallenge(ctx: AppContext, userId: string, meta: RequestMeta): Promise<string> {
  const value = newSecret();
  await insertLoginChallenge(ctx.sql, {
    user_id: userId,
    token_hash: sha256Hex(value),
    ip: meta.ip,
    user_agent: meta.userAgent?.slice(0, 500) ?? null,
    expires_at: new Date(Date.now() + CHALLENGE_LIFETIME_S * 1000),
  });
  return cookieHeader(ctx, CHALLENGE_COOKIE, value, CHALLENGE_LIFETIME_S);
}

/** The user a pending login belongs to, or undefined. */
export async function pendingLogin(ctx: AppContext, value: string | null) {
  if (!value || !/^[A-Za-z0-9_-]{43}$/.test(value)) return undefined;
  return findLoginChallenge(ctx.sql, sha256Hex(value));
}

/**
 * The second factor passed: the challenge is consumed (once) and a fresh
 * session made. Returns the two Set-Cookie headers, or null if the challenge
 * was already used.
 */
export async function completeSecondFactor(ctx: AppContext, challengeId: string, userId: string, meta: RequestMeta) {
  if (!(await deleteLoginChallenge(ctx.sql, challengeId))) return null;
  const s = await createSession(ctx, userId, meta);
  return { sessionId: s.id, setCookies: [s.setCookie, clearCookie(ctx, CHALLENGE_COOKIE)] };
}

export async function list(ctx: AppContext, userId: string, currentId: string | null) {
  return (await listSessions(ctx.sql, userId)).map((s) => ({
    id: s.id,
    ip: s.ip,
    user_agent: s.user_agent,
    created_at: s.created_at.toISOString(),
    last_seen_at: s.last_seen_at.toISOString(),
    expires_at: s.expires_at.toISOString(),
    current: s.id === currentId,
  }));
}

export async function revoke(ctx: AppContext, actor: Actor & { id: string }, sessionId: string) {
  if (!(await deleteSession(ctx.sql, actor.id, sessionId))) throw new NotFound("session");
  await audit(ctx.sql, actor, "session.revoke", { target_type: "session", target_id: sessionId });
}

export async function revokeOthers(ctx: AppContext, actor: Actor & { id: string }, keepId: string | null) {
  const n = await deleteOtherSessions(ctx.sql, actor.id, keepId);
  await audit(ctx.sql, actor, "session.revoke_others", { target_type: "user", target_id: actor.id, detail: { count: n } });
  return n;
}

/**
 * TOTP (RFC 6238: SHA-1, 6 digits, 30 s) as a second factor, with ten
 * one-time recovery codes. The secret is kept AES-GCM encrypted (HKDF purpose
 * "totp", bound to the user id); recovery codes only as sha256. A code is
 * accepted within ±1 step of clock drift, once: the accepted step is recorded
 * with a compare-and-swap, so neither a replay nor an older step gets in.
 * No code, secret or recovery code ever reaches the audit trail or a log.
 */
import { randomBytes } from "node:crypto";
import { generateURI, NobleCryptoPlugin, ScureBase32Plugin, TOTP } from "otplib";
import type { AppContext } from "../context";
import { audit, type Actor } from "../audit/service";
import { decrypt, encrypt } from "../crypto/index";
import { ApiError, BadRequest, Conflict, NotFound, Unauthorized, Unprocessable } from "../http/errors";
import { sha256Hex } from "../protocol/hub";
import { completeSecondFactor, type RequestMeta } from "../sessions/service";
import { attemptSucceeded, beginAttempt, LOCK_MINUTES } from "./lockout";
import type { SecondFactorInput } from "./model";
import * as q from "./queries";

export const ISSUER = "WiseHosting";
export const PERIOD_S = 30;
/** ±1 step of clock drift. */
const TOLERANCE_S = PERIOD_S;
export const RECOVERY_CODE_COUNT = 10;

const totp = new TOTP({ crypto: new NobleCryptoPlugin(), base32: new ScureBase32Plugin(), algorithm: "sha1", digits: 6, period: PERIOD_S });

/** A new base32 secret of 20 random bytes (160 bits). */
export const newSecret = (): string => totp.generateSecret();

export const otpauthUri = (email: string, secret: string): string =>
  generateURI({ issuer: ISSUER, label: email, secret, algorithm: "sha1", digits: 6, period: PERIOD_S });

/**
 * The time step `code` belongs to, within ±1 step of `nowMs` and strictly after
 * `afterStep`; null when it matches none. Pure: recording the step is the caller's job.
 */
export async function matchStep(secret: string, code: string, afterStep: number | null, nowMs = Date.now()): Promise<number | null> {
  if (!/^[0-9]{6}$/.test(code)) return null;
  const epoch = Math.floor(nowMs / 1000);
  const newest = Math.floor((epoch + TOLERANCE_S) / PERIOD_S);
  if (afterStep !== null && afterStep >= newest) return null; // every step in the window was used already
  const r = await totp.verify(code, { secret, epoch, epochTolerance: TOLERANCE_S, ...(afterStep !== null ? { afterTimeStep: afterStep } : {}) });
  return r.valid ? r.timeStep : null;
}

// Recovery codes: 12 characters of RFC 4648 base32 (60 bits), shown as xxxx-xxxx-xxxx.
const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

export function newRecoveryCodes(n = RECOVERY_CODE_COUNT): string[] {
  const out = new Set<string>();
  while (out.size < n) {
    const chars = [...randomBytes(12)].map((b) => ALPHABET[b & 31]).join(""); // 256 % 32 === 0: unbiased
    out.add(`${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`);
  }
  return [...out];
}

/** Lower case, without spaces or dashes; null when it can't be a recovery code. */
export function normalizeRecoveryCode(raw: string): string | null {
  const c = raw.toLowerCase().replace(/[\s-]/g, "");
  return /^[a-z2-7]{12}$/.test(c) ? c : null;
}

/** sha256, salted with the user id; the input is normalized first. */
export function hashRecoveryCode(userId: string, code: string): string {
  return sha256Hex(`wisehosting-recovery:${userId}:${normalizeRecoveryCode(code) ?? code}`);
}

type Who = Actor & { id: string; email: string };

const sealSecret = (ctx: AppContext, userId: string, secret: string) => encrypt(ctx.config.masterKey, "totp", secret, userId);
const openSecret = (ctx: AppContext, userId: string, sealed: string) => decrypt(ctx.config.masterKey, "totp", sealed, userId);

/** Starts (or restarts) enrolment: a new pending secret; the otpauth URI for the SPA's QR code. */
export async function enroll(ctx: AppContext, who: Who): Promise<{ otpauth_uri: string }> {
  const state = await q.findTotpState(ctx.sql, who.id);
  if (!state) throw new NotFound("user");
  if (state.totp_enabled) throw new Conflict("two-factor sign-in is already on; turn it off first", "totp_enabled");
  const secret = newSecret();
  if (!(await q.setPendingSecret(ctx.sql, who.id, sealSecret(ctx, who.id, secret))))
    throw new Conflict("two-factor sign-in is already on; turn it off first", "totp_enabled");
  await audit(ctx.sql, who, "totp.enroll", { target_type: "user", target_id: who.id });
  return { otpauth_uri: otpauthUri(state.email, secret) };
}

/** Confirms enrolment with a current code: TOTP is on; returns the recovery codes (shown once). */
export async function activate(ctx: AppContext, who: Who, code: string, nowMs = Date.now()): Promise<{ recovery_codes: string[] }> {
  const state = await q.findTotpState(ctx.sql, who.id);
  if (!state) throw new NotFound("user");
  if (state.totp_enabled) throw new Conflict("two-factor sign-in is already on", "totp_enabled");
  if (!state.totp_secret_enc) throw new Conflict("start with POST /v1/auth/totp/enroll", "totp_not_enrolled");
  const sealed = state.totp_secret_enc;
  const step = await matchStep(openSecret(ctx, who.id, sealed), code, state.totp_last_step, nowMs);
  if (step === null) throw new Unprocessable("wrong code: enter the current code from your authenticator app (is its clock right?)", "invalid_code");
  const codes = newRecoveryCodes();
  await ctx.sql.begin(async (tx) => {
    if (!(await q.enableTotp(tx, who.id, sealed, step))) throw new Conflict("enrolment changed meanwhile; start again", "totp_enrollment_changed");
    await q.replaceRecoveryCodes(
      tx,
      who.id,
      codes.map((c) => hashRecoveryCode(who.id, c)),
    );
    await audit(tx, who, "totp.activate", { target_type: "user", target_id: who.id });
  });
  return { recovery_codes: codes };
}

/**
 * Checks a TOTP or recovery code for a user who has TOTP on: counted against
 * the lockout, each code good once. Returns the method that passed, or
 * audits the failure (and the lock it may set) and throws `wrong(message)`.
 */
async function checkSecondFactor(
  ctx: AppContext,
  who: Who,
  input: SecondFactorInput,
  notEnabled: ApiError,
  wrong: (message: string) => ApiError,
  purpose: "login" | "disable",
  nowMs: number,
): Promise<"totp" | "recovery_code"> {
  const state = await q.findTotpState(ctx.sql, who.id);
  if (!state?.totp_enabled || !state.totp_secret_enc) throw notEnabled;
  const attempt = await beginAttempt(ctx.sql, who.id);
  let ok: boolean;
  let method: "totp" | "recovery_code";
  if ("code" in input) {
    method = "totp";
    const sealed = state.totp_secret_enc;
    const step = await matchStep(openSecret(ctx, who.id, sealed), input.code, state.totp_last_step, nowMs);
    ok = step !== null && (await q.claimStep(ctx.sql, who.id, sealed, step));
  } else {
    method = "recovery_code";
    ok = normalizeRecoveryCode(input.recovery_code) !== null && (await q.useRecoveryCode(ctx.sql, who.id, hashRecoveryCode(who.id, input.recovery_code)));
  }
  if (ok) {
    await attemptSucceeded(ctx.sql, who.id);
    return method;
  }
  await audit(ctx.sql, who, "auth.second_factor_failed", { outcome: "failure", target_type: "user", target_id: who.id, detail: { method, purpose } });
  if (attempt.locksNow) {
    await audit(ctx.sql, who, "auth.second_factor_locked", { outcome: "failure", target_type: "user", target_id: who.id, detail: { minutes: LOCK_MINUTES } });
    throw wrong(`wrong or already used code; too many failed attempts, so the second factor is now locked for ${LOCK_MINUTES} minutes`);
  }
  throw wrong(method === "totp" ? "wrong or already used code" : "wrong or already used recovery code");
}

/**
 * The second step of a sign-in: `challenge` is the pending login (from the
 * wh_login cookie). On success the challenge is consumed and a new session made.
 */
export async function loginWithSecondFactor(
  ctx: AppContext,
  challenge: { id: string; user_id: string; email: string; role: "admin" | "member" },
  input: SecondFactorInput,
  meta: RequestMeta,
  nowMs = Date.now(),
) {
  const who: Who = { id: challenge.user_id, email: challenge.email, ...meta };
  const method = await checkSecondFactor(
    ctx,
    who,
    input,
    new BadRequest("two-factor sign-in with a code is not set up for this account", "totp_not_enabled"),
    (m) => new Unauthorized(m),
    "login",
    nowMs,
  );
  const done = await completeSecondFactor(ctx, challenge.id, challenge.user_id, meta);
  if (!done) throw new Unauthorized("this sign-in was already completed or has expired; sign in again");
  await audit(ctx.sql, who, "auth.login", { target_type: "session", target_id: done.sessionId, detail: { method } });
  return { user: { id: challenge.user_id, email: challenge.email, role: challenge.role }, setCookies: done.setCookies };
}

/** Turns TOTP off, given a current code (or a recovery code); the recovery codes go too. */
export async function disable(ctx: AppContext, who: Who, input: SecondFactorInput, nowMs = Date.now()): Promise<void> {
  const method = await checkSecondFactor(
    ctx,
    who,
    input,
    new Conflict("two-factor sign-in is not on", "totp_not_enabled"),
    (m) => new Unprocessable(m, "invalid_code"),
    "disable",
    nowMs,
  );
  await ctx.sql.begin(async (tx) => {
    if (!(await q.disableTotp(tx, who.id))) throw new Conflict("two-factor sign-in is not on", "totp_not_enabled");
    await q.deleteRecoveryCodes(tx, who.id);
    await audit(tx, who, "totp.disable", { target_type: "user", target_id: who.id, detail: { method } });
  });
}

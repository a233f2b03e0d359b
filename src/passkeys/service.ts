/**
 * Passkeys (WebAuthn): several per account, registered while signed in; used
 * for passwordless sign-in (discoverable credentials, user verification
 * required) or as the second factor of a pending password/OIDC login.
 *
 * Challenges live server-side in webauthn_challenges, are consumed on first
 * use (DELETE … RETURNING) whatever the outcome, and expire after 5 minutes.
 * Nothing here logs or audits credential ids, keys, signatures or challenges.
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from "@simplewebauthn/server";
import type { AppContext } from "../context";
import { audit, type Actor } from "../audit/service";
import { BadRequest, Conflict, NotFound, Unauthorized } from "../http/errors";
import { clearCookie, CHALLENGE_COOKIE, completeSecondFactor, createSession, type RequestMeta } from "../sessions/service";
import type { AuthenticationResponseBody, Passkey, RegistrationResponseBody } from "./model";
import {
  deletePasskey,
  findByCredential,
  insertChallenge,
  insertPasskey,
  listPasskeys,
  recordUse,
  renamePasskey,
  takeChallenge,
  type ChallengeKind,
  type PasskeyOwner,
  type PasskeyRow,
} from "./queries";
import { CHALLENGE_TTL_S, cleanTransports, counterRegressed, handleMatches, readClientData, relyingParty, signCount, userHandle } from "./webauthn";

type User = { id: string; email: string; role: "admin" | "member" };
/** A pending second-factor login, as sessions.pendingLogin gives it. */
export type Pending = { id: string; user_id: string; email: string; role: "admin" | "member" };

export type SignedIn = { user: User; sessionId: string; setCookies: string[] };

export function toPasskey(r: PasskeyRow): Passkey {
  return {
    id: r.id,
    name: r.name,
    transports: r.transports,
    created_at: r.created_at.toISOString(),
    last_used_at: r.last_used_at?.toISOString() ?? null,
  };
}

async function newChallenge(ctx: AppContext, userId: string | null, kind: ChallengeKind, challenge: string) {
  await insertChallenge(ctx.sql, { user_id: userId, challenge, kind, expires_at: new Date(Date.now() + CHALLENGE_TTL_S * 1000) });
}

/**
 * Consumes the challenge the browser signed. It must exist, be live, be of
 * this kind and belong to `userId` (null: issued to nobody, for passwordless).
 * Returns the challenge, or a reason for the audit trail.
 */
async function consumeChallenge(
  ctx: AppContext,
  clientDataJSON: string,
  kind: ChallengeKind,
  userId: string | null,
): Promise<{ ok: true; challenge: string } | { ok: false; reason: string }> {
  const data = readClientData(clientDataJSON);
  if (!data) return { ok: false, reason: "malformed" };
  const row = await takeChallenge(ctx.sql, data.challenge, kind);
  if (!row) return { ok: false, reason: "unknown_challenge" };
  if (!row.live) return { ok: false, reason: "expired_challenge" };
  if (row.user_id !== userId) return { ok: false, reason: "challenge_mismatch" };
  return { ok: true, challenge: data.challenge };
}

// ---- managing passkeys (signed in) ----

export async function list(ctx: AppContext, userId: string): Promise<Passkey[]> {
  return (await listPasskeys(ctx.sql, userId)).map(toPasskey);
}

/** Options for navigator.credentials.create(): this user, excluding the authenticators they already registered. */
export async function registrationOptions(ctx: AppContext, user: { id: string; email: string }) {
  const rp = relyingParty(ctx.config.publicUrl);
  const existing = await listPasskeys(ctx.sql, user.id);
  const options = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.rpID,
    userID: userHandle(user.id),
    userName: user.email,
    userDisplayName: user.email,
    timeout: CHALLENGE_TTL_S * 1000,
    attestationType: "none",
    excludeCredentials: existing.map((p) => ({ id: p.credential_id, transports: p.transports })),
    // Discoverable where the authenticator can (passwordless); a key that can't still works as a second factor.
    authenticatorSelection: { residentKey: "preferred", userVerification: "preferred" },
  });
  await newChallenge(ctx, user.id, "register", options.challenge);
  return options;
}

/** Verifies a registration and stores the passkey. Audited `passkey.register`. */
export async function register(ctx: AppContext, actor: Actor & { id: string }, body: { name?: string; response: RegistrationResponseBody }): Promise<Passkey> {
  const refuse = async (reason: string) => {
    await audit(ctx.sql, actor, "passkey.register", { outcome: "failure", target_type: "user", target_id: actor.id, detail: { reason } });
    return new BadRequest("the passkey could not be registered; ask for new options and try again", "passkey_rejected");
  };
  const c = await consumeChallenge(ctx, body.response.response.clientDataJSON, "register", actor.id);
  if (!c.ok) throw await refuse(c.reason);
  const rp = relyingParty(ctx.config.publicUrl);
  let info;
  try {
    const v = await verifyRegistrationResponse({
      response: body.response as RegistrationResponseJSON,
      expectedChallenge: c.challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpID,
      requireUserVerification: false,
    });
    if (!v.verified) throw new Error("not verified");
    info = v.registrationInfo;
  } catch {
    throw await refuse("verification_failed");
  }
  let row: PasskeyRow;
  try {
    row = await insertPasskey(ctx.sql, {
      user_id: actor.id,
      credential_id: info.credential.id,
      public_key: Buffer.from(info.credential.publicKey).toString("base64url"),
      counter: info.credential.counter,
      transports: cleanTransports(body.response.response.transports),
      name: body.name ?? "passkey",
    });
  } catch (e) {
    if ((e as { code?: string }).code === "23505") throw new Conflict("this passkey is already registered", "passkey_exists");
    throw e;
  }
  await audit(ctx.sql, actor, "passkey.register", { target_type: "passkey", target_id: row.id, detail: { name: row.name, transports: row.transports } });
  return toPasskey(row);
}

export async function rename(ctx: AppContext, actor: Actor & { id: string }, id: string, name: string): Promise<Passkey> {
  const row = await renamePasskey(ctx.sql, actor.id, id, name);
  if (!row) throw new NotFound("passkey");
  await audit(ctx.sql, actor, "passkey.rename", { target_type: "passkey", target_id: row.id, detail: { name } });
  return toPasskey(row);
}

/** Deletes one of the caller's passkeys; it stops working at once. Audited `passkey.delete`. */
export async function remove(ctx: AppContext, actor: Actor & { id: string }, id: string): Promise<void> {
  const row = await deletePasskey(ctx.sql, actor.id, id);
  if (!row) throw new NotFound("passkey");
  await audit(ctx.sql, actor, "passkey.delete", { target_type: "passkey", target_id: row.id, detail: { name: row.name } });
}

// ---- signing in ----

/** Options for passwordless sign-in: no user known, so no allow-list; the authenticator offers its discoverable passkeys. */
export async function passwordlessOptions(ctx: AppContext) {
  const rp = relyingParty(ctx.config.publicUrl);
  const options = await generateAuthenticationOptions({ rpID: rp.rpID, userVerification: "required", timeout: CHALLENGE_TTL_S * 1000 });
  await newChallenge(ctx, null, "authenticate", options.challenge);
  return options;
}

/** Options for the second factor of `pending`: only that user's passkeys are allowed. */
export async function secondFactorOptions(ctx: AppContext, pending: Pending) {
  const rp = relyingParty(ctx.config.publicUrl);
  const mine = await listPasskeys(ctx.sql, pending.user_id);
  if (mine.length === 0) throw new BadRequest("this account has no passkeys", "no_passkeys");
  const options = await generateAuthenticationOptions({
    rpID: rp.rpID,
    allowCredentials: mine.map((p) => ({ id: p.credential_id, transports: p.transports })),
    userVerification: "preferred",
    timeout: CHALLENGE_TTL_S * 1000,
  });
  await newChallenge(ctx, pending.user_id, "authenticate", options.challenge);
  return options;
}

/**
 * Checks an assertion against a stored passkey: signature, origin, RP id,
 * challenge, user presence (and verification when `requireUV`), counter.
 * Records the new counter and last use. Returns null or the failure reason.
 */
async function checkAssertion(ctx: AppContext, pk: PasskeyOwner, response: AuthenticationResponseBody, challenge: string, requireUV: boolean) {
  const stored = Number(pk.counter);
  const received = signCount(response.response.authenticatorData);
  if (received === null) return "malformed";
  if (counterRegressed(stored, received)) return "counter_regressed";
  const rp = relyingParty(ctx.config.publicUrl);
  let newCounter: number;
  try {
    const v = await verifyAuthenticationResponse({
      response: { ...response, response: { ...response.response, userHandle: response.response.userHandle ?? undefined } } as AuthenticationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpID,
      credential: { id: pk.credential_id, publicKey: new Uint8Array(Buffer.from(pk.public_key, "base64url")), counter: stored, transports: pk.transports },
      requireUserVerification: requireUV,
    });
    if (!v.verified) return "verification_failed";
    newCounter = v.authenticationInfo.newCounter;
  } catch {
    return "verification_failed";
  }
  if (!(await recordUse(ctx.sql, pk.id, stored, newCounter))) return "counter_regressed";
  return null;
}

async function refuseLogin(ctx: AppContext, meta: RequestMeta, method: string, reason: string, user?: { id: string; email: string }): Promise<never> {
  await audit(ctx.sql, { id: user?.id ?? null, email: user?.email ?? null, ...meta }, "auth.login_failed", {
    outcome: "failure",
    target_type: "user",
    target_id: user?.id ?? null,
    detail: { method, reason },
  });
  throw new Unauthorized("the passkey was not accepted; ask for new options and try again");
}

/**
 * Passwordless sign-in. A passkey with user verification is already
 * multi-factor, so this makes the session directly. Audited `auth.login`
 * {method: "passkey"}.
 */
export async function passwordlessLogin(ctx: AppContext, response: AuthenticationResponseBody, meta: RequestMeta): Promise<SignedIn> {
  const method = "passkey";
  const c = await consumeChallenge(ctx, response.response.clientDataJSON, "authenticate", null);
  if (!c.ok) return refuseLogin(ctx, meta, method, c.reason);
  const pk = await findByCredential(ctx.sql, response.id);
  if (!pk) return refuseLogin(ctx, meta, method, "unknown_passkey");
  const owner = { id: pk.user_id, email: pk.email };
  if (pk.disabled) return refuseLogin(ctx, meta, method, "user_disabled", owner);
  if (!handleMatches(response.response.userHandle, pk.user_id)) return refuseLogin(ctx, meta, method, "user_handle_mismatch", owner);
  const failed = await checkAssertion(ctx, pk, response, c.challenge, true);
  if (failed) return refuseLogin(ctx, meta, method, failed, owner);
  const s = await createSession(ctx, pk.user_id, meta);
  // Which passkey: its row id and name (audit.sanitize drops detail keys that say "pass" or "key").
  await audit(ctx.sql, { ...owner, ...meta }, "auth.login", { target_type: "session", target_id: s.id, detail: { method, authenticator_id: pk.id, authenticator_name: pk.name } });
  return { user: { id: pk.user_id, email: pk.email, role: pk.role }, sessionId: s.id, setCookies: [s.setCookie, clearCookie(ctx, CHALLENGE_COOKIE)] };
}

/**
 * The second factor of a pending login: the challenge must have been issued
 * to this pending user and the passkey must be theirs. Completes the login
 * with a new session. Audited `auth.login` {method: "passkey_second_factor"}.
 */
export async function secondFactorLogin(ctx: AppContext, pending: Pending, response: AuthenticationResponseBody, meta: RequestMeta): Promise<SignedIn> {
  const method = "passkey_second_factor";
  const owner = { id: pending.user_id, email: pending.email };
  const c = await consumeChallenge(ctx, response.response.clientDataJSON, "authenticate", pending.user_id);
  if (!c.ok) return refuseLogin(ctx, meta, method, c.reason, owner);
  const pk = await findByCredential(ctx.sql, response.id);
  if (!pk || pk.user_id !== pending.user_id) return refuseLogin(ctx, meta, method, "not_this_users_passkey", owner);
  const failed = await checkAssertion(ctx, pk, response, c.challenge, false);
  if (failed) return refuseLogin(ctx, meta, method, failed, owner);
  const done = await completeSecondFactor(ctx, pending.id, pending.user_id, meta);
  if (!done) return refuseLogin(ctx, meta, method, "login_already_completed", owner);
  await audit(ctx.sql, { ...owner, ...meta }, "auth.login", { target_type: "session", target_id: done.sessionId, detail: { method, authenticator_id: pk.id, authenticator_name: pk.name } });
  return { user: { id: pending.user_id, email: pending.email, role: pending.role }, sessionId: done.sessionId, setCookies: done.setCookies };
}

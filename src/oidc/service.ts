/**
 * OpenID Connect sign-in (authorization code flow with PKCE, state and nonce).
 *
 * start: a flow row (sha256 of the state, the nonce, the PKCE verifier, 10
 * minutes) and a short-lived cookie holding the state, so the callback only
 * works in the browser that started it. callback: the cookie must match the
 * state, the row is taken once (DELETE … RETURNING), the code is exchanged at
 * the token endpoint, the id_token verified with jose (signature by the
 * provider's JWKS, issuer = the discovery issuer, audience = our client id,
 * exp/iat, nonce = the stored one), then the identity is found, linked by a
 * verified email, or (open sign-up only) a member is created.
 *
 * Every refusal is an OidcRefused (a 4xx, or 502 when the provider is at
 * fault) and an `auth.login_failed` audit row with {method, reason}; no code,
 * token or claim value other than the email ever goes into the audit trail.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { jwtVerify, errors as joseErrors } from "jose";
import { z } from "zod";
import type { AppContext } from "../context";
import { audit, type Actor } from "../audit/service";
import { finishPrimaryLogin, type LoginResult } from "../auth/service";
import { ApiError, Conflict, NotFound } from "../http/errors";
import { sha256Hex } from "../protocol/hub";
import { cookieHeader, resolveSession, type RequestMeta } from "../sessions/service";
import { identityClaims, tokenError, tokenResponse, type CallbackQuery, type DiscoveryDocument, type IdentityClaims, type Identity } from "./model";
import { discover, FETCH_TIMEOUT_MS, idTokenAlgorithms, providerConfig, providerName, ProviderUnavailable, remoteKeys, type ProviderConfig } from "./providers";
import {
  deleteExpiredFlows,
  deleteIdentity,
  findIdentity,
  findIdentityOfUser,
  findUserByEmail,
  findUserById,
  insertFlow,
  insertIdentity,
  insertMember,
  listIdentities,
  otherWaysIn,
  takeFlow,
  updateIdentityEmail,
  type LoginUser,
} from "./queries";

/** Binds a flow to the browser that started it; holds the state. */
export const FLOW_COOKIE = "wh_oidc";
export const FLOW_LIFETIME_S = 10 * 60;
const FLOW_COOKIE_PATH = "/v1/auth/oidc";
/** Allowed clock difference between us and the provider when checking exp / iat. */
export const CLOCK_TOLERANCE_S = 30;
/** An id_token is used right after it is issued; one issued longer ago than this is refused. */
const MAX_ID_TOKEN_AGE = "10 minutes";

/** A refused OIDC sign-in: its HTTP status, a stable code (also the audit `reason`) and a message for people. */
export class OidcRefused extends ApiError {
  constructor(status: number, reason: string, message: string) {
    super(status, reason, message);
  }
}

export const redirectUri = (ctx: AppContext, provider: string) => `${ctx.config.publicUrl}/v1/auth/oidc/${provider}/callback`;

export function flowCookie(ctx: AppContext, state: string): string {
  return cookieHeader(ctx, FLOW_COOKIE, state, FLOW_LIFETIME_S).replace("; Path=/;", `; Path=${FLOW_COOKIE_PATH};`);
}
export function clearFlowCookie(ctx: AppContext): string {
  return cookieHeader(ctx, FLOW_COOKIE, "", 0).replace("; Path=/;", `; Path=${FLOW_COOKIE_PATH};`);
}

const random = () => randomBytes(32).toString("base64url");
const s256 = (verifier: string) => createHash("sha256").update(verifier).digest("base64url");

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Starts a sign-in (or, with `linkUserId`, linking an identity to that
 * signed-in account): returns where to send the browser and the flow cookie.
 */
export async function start(ctx: AppContext, providerId: string, linkUserId: string | null): Promise<{ location: string; setCookie: string }> {
  const p = providerConfig(ctx.config, providerId);
  const doc = await discover(p);
  const state = random();
  const nonce = random();
  const verifier = random();
  await deleteExpiredFlows(ctx.sql);
  await insertFlow(ctx.sql, {
    state_hash: sha256Hex(state),
    provider: p.id,
    nonce,
    code_verifier: verifier,
    link_user_id: linkUserId,
    expires_at: new Date(Date.now() + FLOW_LIFETIME_S * 1000),
  });
  const url = new URL(doc.authorization_endpoint);
  const q = url.searchParams;
  q.set("response_type", "code");
  q.set("client_id", p.clientId);
  q.set("redirect_uri", redirectUri(ctx, p.id));
  q.set("scope", "openid email profile");
  q.set("state", state);
  q.set("nonce", nonce);
  q.set("code_challenge", s256(verifier));
  q.set("code_challenge_method", "S256");
  return { location: url.href, setCookie: flowCookie(ctx, state) };
}

export type CallbackResult = { kind: "login"; login: LoginResult } | { kind: "linked"; provider: string };

/**
 * The provider sent the browser back. `cookies` are the flow cookie and the
 * session cookie of that browser. Resolves to a sign-in (or a link) or throws
 * OidcRefused; every refusal is audited.
 */
export async function callback(
  ctx: AppContext,
  providerId: string,
  query: CallbackQuery,
  cookies: { flow: string | null; session: string | null },
  meta: RequestMeta,
): Promise<CallbackResult> {
  const p = providerConfig(ctx.config, providerId);
  const method = `oidc:${p.id}`;
  const who: { id: string | null; email: string | null; link: boolean } = { id: null, email: null, link: false };
  try {
    return await runCallback(ctx, p, query, cookies, meta, who);
  } catch (e) {
    const reason = e instanceof ApiError ? e.code : "internal";
    await audit(ctx.sql, { id: who.id, email: who.email, ...meta }, "auth.login_failed", {
      outcome: "failure",
      target_type: who.id ? "user" : undefined,
      target_id: who.id,
      detail: { method, reason, ...(who.link ? { link: true } : {}) },
    });
    throw e;
  }
}

async function runCallback(
  ctx: AppContext,
  p: ProviderConfig,
  query: CallbackQuery,
  cookies: { flow: string | null; session: string | null },
  meta: RequestMeta,
  who: { id: string | null; email: string | null; link: boolean },
): Promise<CallbackResult> {
  // 1. The browser: it must hold the state it was given at start.
  if (!query.state) throw new OidcRefused(400, "missing_state", "the provider's answer has no state");
  if (!cookies.flow) throw new OidcRefused(400, "no_flow_cookie", "this sign-in was not started in this browser (or took too long); start again");
  if (!sameSecret(cookies.flow, query.state)) throw new OidcRefused(400, "state_mismatch", "this sign-in was started in another browser or tab; start again");

  // 2. The flow: taken once, whatever happens next.
  const flow = await takeFlow(ctx.sql, sha256Hex(query.state), p.id);
  if (!flow) throw new OidcRefused(400, "unknown_state", "this sign-in is unknown or was already used; start again");
  if (!flow.live) throw new OidcRefused(400, "flow_expired", "this sign-in took more than 10 minutes; start again");
  if (flow.link_user_id) {
    who.id = flow.link_user_id;
    who.link = true;
  }
  if (query.error) throw new OidcRefused(400, "provider_error", `${p.name} refused the sign-in (${query.error.replace(/[^\w.-]/g, "").slice(0, 64)})`);
  if (!query.code) throw new OidcRefused(400, "missing_code", "the provider's answer has no code");

  // 3. Mix-up defence (RFC 9207): an `iss` in the answer must be this provider's.
  const doc = await discover(p);
  if (query.iss !== undefined && query.iss !== doc.issuer) throw new OidcRefused(400, "issuer_mismatch", "the answer comes from another issuer");
  if (query.iss === undefined && doc.authorization_response_iss_parameter_supported === true)
    throw new OidcRefused(400, "issuer_missing", "the provider promises an iss parameter but sent none");

  // 4. Code → tokens → verified claims.
  const tokens = await exchangeCode(ctx, p, doc, query.code, flow.code_verifier);
  const claims = await verifyIdToken(p, doc, tokens.id_token, flow.nonce);
  const full = await withUserinfo(p, doc, claims, tokens.access_token);
  const email = normalEmail(full.email);
  who.email = email;

  // 5. Whose identity this is.
  if (flow.link_user_id) {
    await linkToSignedIn(ctx, p, flow.link_user_id, cookies.session, full.sub, email, meta);
    return { kind: "linked", provider: p.id };
  }
  const user = await userForIdentity(ctx, p, full, email, meta, who);
  who.id = user.id;
  who.email = user.email;
  if (user.disabled) throw new OidcRefused(403, "account_disabled", "this account is disabled");
  return { kind: "login", login: await finishPrimaryLogin(ctx, user, meta, `oidc:${p.id}`) };
}

/** The email claim as our users table spells emails (lowercase), or null when absent or not an address. */
function normalEmail(raw: string | undefined): string | null {
  const r = z.email().max(254).safeParse(raw?.trim().toLowerCase());
  return r.success ? r.data : null;
}

/** Client authentication per RFC 6749 §2.3.1: the id and secret form-encoded, then Basic. */
function basicAuth(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, "+");
  return "Basic " + Buffer.from(`${enc(id)}:${enc(secret)}`).toString("base64");
}

async function exchangeCode(ctx: AppContext, p: ProviderConfig, doc: DiscoveryDocument, code: string, verifier: string) {
  const body = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri(ctx, p.id), code_verifier: verifier });
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
  const methods = doc.token_endpoint_auth_methods_supported ?? ["client_secret_basic"];
  if (methods.includes("client_secret_basic")) headers.authorization = basicAuth(p.clientId, p.clientSecret);
  else if (methods.includes("client_secret_post")) {
    body.set("client_id", p.clientId);
    body.set("client_secret", p.clientSecret);
  } else throw new ProviderUnavailable(`${p.name} offers neither client_secret_basic nor client_secret_post`);

  let res: Response;
  let json: unknown;
  try {
    res = await fetch(doc.token_endpoint, { method: "POST", headers, body, redirect: "error", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    json = await res.json().catch(() => undefined);
  } catch (e) {
    throw new ProviderUnavailable(`${p.name}: token endpoint not reachable (${(e as Error).name})`);
  }
  if (!res.ok) {
    if (res.status >= 500) throw new ProviderUnavailable(`${p.name}: token endpoint answered ${res.status}`);
    const err = tokenError.safeParse(json);
    const what = err.success ? err.data.error.replace(/[^\w.-]/g, "").slice(0, 64) : `HTTP ${res.status}`;
    throw new OidcRefused(400, "token_exchange_failed", `${p.name} refused the code (${what}); start again`);
  }
  const ok = tokenResponse.safeParse(json);
  if (!ok.success) throw new ProviderUnavailable(`${p.name}: the token response has no id_token`);
  return ok.data;
}

async function verifyIdToken(p: ProviderConfig, doc: DiscoveryDocument, idToken: string, nonce: string): Promise<IdentityClaims> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(idToken, remoteKeys(doc.jwks_uri), {
      issuer: [doc.issuer, ...p.issuerAliases],
      audience: p.clientId,
      algorithms: idTokenAlgorithms(doc),
      clockTolerance: CLOCK_TOLERANCE_S,
      maxTokenAge: MAX_ID_TOKEN_AGE,
      requiredClaims: ["iss", "sub", "aud", "exp", "iat"],
    }));
  } catch (e) {
    throw idTokenRefusal(p, e);
  }
  // OpenID Connect Core §3.1.3.7: with several audiences, azp must be us; when present, always.
  const aud = payload.aud;
  if ((Array.isArray(aud) && aud.length > 1) || payload.azp !== undefined) {
    if (payload.azp !== p.clientId) throw new OidcRefused(401, "id_token_audience", "the ID token was issued to another application");
  }
  if (typeof payload.nonce !== "string" || !sameSecret(payload.nonce, nonce))
    throw new OidcRefused(401, "nonce_mismatch", "the ID token does not belong to this sign-in (nonce)");
  const c = identityClaims.safeParse(payload);
  if (!c.success) throw new OidcRefused(401, "id_token_claims", "the ID token's claims are malformed");
  return c.data;
}

function idTokenRefusal(p: ProviderConfig, e: unknown): ApiError {
  const code = (e as { code?: string }).code;
  const claim = (e as { claim?: string }).claim;
  if (e instanceof joseErrors.JWTExpired) return new OidcRefused(401, "id_token_expired", "the ID token has expired");
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    if (claim === "iss") return new OidcRefused(401, "id_token_issuer", "the ID token was issued by another issuer");
    if (claim === "aud") return new OidcRefused(401, "id_token_audience", "the ID token was issued to another application");
    return new OidcRefused(401, "id_token_claims", `the ID token's ${claim ?? "claims"} check failed`);
  }
  if (e instanceof joseErrors.JWSSignatureVerificationFailed || e instanceof joseErrors.JWKSNoMatchingKey || e instanceof joseErrors.JWKSMultipleMatchingKeys)
    return new OidcRefused(401, "id_token_signature", "the ID token's signature does not verify with the provider's keys");
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return new OidcRefused(401, "id_token_algorithm", "the ID token uses a signature algorithm we do not accept");
  if (e instanceof joseErrors.JWSInvalid || e instanceof joseErrors.JWTInvalid) return new OidcRefused(401, "id_token_malformed", "the ID token is malformed");
  if (e instanceof joseErrors.JWKSTimeout || e instanceof joseErrors.JWKSInvalid || code === undefined)
    return new ProviderUnavailable(`${p.name}: signing keys not available`);
  return new OidcRefused(401, "id_token_invalid", "the ID token is not valid");
}

/**
 * Providers may leave email out of the id_token of a code flow (OpenID Connect
 * Core §5.4); then it comes from userinfo, whose `sub` must be the same.
 */
async function withUserinfo(p: ProviderConfig, doc: DiscoveryDocument, claims: IdentityClaims, accessToken: string | undefined): Promise<IdentityClaims> {
  if (claims.email !== undefined || !doc.userinfo_endpoint || !accessToken) return claims;
  let body: unknown;
  try {
    const res = await fetch(doc.userinfo_endpoint, {
      headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" },
      redirect: "error",
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    body = await res.json();
  } catch (e) {
    throw new ProviderUnavailable(`${p.name}: userinfo not available (${(e as Error).message})`);
  }
  const info = identityClaims.safeParse(body);
  if (!info.success) throw new ProviderUnavailable(`${p.name}: userinfo answer is malformed`);
  if (info.data.sub !== claims.sub) throw new OidcRefused(401, "userinfo_subject_mismatch", "userinfo describes another account than the ID token");
  return { ...claims, email: info.data.email, email_verified: info.data.email_verified, name: claims.name ?? info.data.name };
}

/**
 * Sign-in: the identity's user; else the user with this verified email
 * (linked now); else, with open sign-up and a verified email, a new member.
 */
async function userForIdentity(
  ctx: AppContext,
  p: ProviderConfig,
  claims: IdentityClaims,
  email: string | null,
  meta: RequestMeta,
  who: { id: string | null; email: string | null },
): Promise<LoginUser> {
  const known = await findIdentity(ctx.sql, p.id, claims.sub);
  if (known) {
    if (email !== known.identity_email) await updateIdentityEmail(ctx.sql, p.id, claims.sub, email);
    return known;
  }
  if (!email) throw new OidcRefused(403, "no_account", `${p.name} did not share an email address, and this identity is not linked to an account`);
  if (claims.email_verified !== true)
    throw new OidcRefused(403, "email_not_verified", `${p.name} has not verified ${email}; sign in another way and link the identity from your account`);

  const existing = await findUserByEmail(ctx.sql, email);
  if (existing) {
    who.id = existing.id;
    if (existing.disabled) throw new OidcRefused(403, "account_disabled", "this account is disabled");
    if (await findIdentityOfUser(ctx.sql, existing.id, p.id))
      throw new OidcRefused(409, "provider_already_linked", `this account is linked to another ${p.name} identity`);
    if (!(await insertIdentity(ctx.sql, { provider: p.id, subject: claims.sub, user_id: existing.id, email })))
      throw new OidcRefused(409, "identity_taken", "this identity was just linked to an account; try again");
    await audit(ctx.sql, { id: existing.id, email: existing.email, ...meta }, "oidc.link", {
      target_type: "user",
      target_id: existing.id,
      detail: { provider: p.id, via: "verified_email" },
    });
    return existing;
  }

  if (ctx.config.WH_SIGNUP !== "open")
    throw new OidcRefused(403, "no_account", `there is no account for ${email}; this server is invite-only, ask an admin to create one`);
  return ctx.sql.begin(async (tx) => {
    const user = await insertMember(tx, email, claims.name ?? null);
    if (!user) throw new OidcRefused(409, "email_taken", "an account with this email was just created; try again");
    if (!(await insertIdentity(tx, { provider: p.id, subject: claims.sub, user_id: user.id, email })))
      throw new OidcRefused(409, "identity_taken", "this identity was just linked to an account; try again");
    const actor: Actor = { id: user.id, email: user.email, ...meta };
    await audit(tx, actor, "user.create", { target_type: "user", target_id: user.id, detail: { email, role: "member", via: `oidc:${p.id}` } });
    await audit(tx, actor, "oidc.link", { target_type: "user", target_id: user.id, detail: { provider: p.id, via: "signup" } });
    return user;
  });
}

/** Linking from a signed-in account: the browser must still be signed in as the account that started it. */
async function linkToSignedIn(
  ctx: AppContext,
  p: ProviderConfig,
  userId: string,
  sessionCookie: string | null,
  subject: string,
  email: string | null,
  meta: RequestMeta,
): Promise<void> {
  const session = sessionCookie ? await resolveSession(ctx, sessionCookie) : undefined;
  if (!session || session.user_id !== userId) throw new OidcRefused(401, "not_signed_in", "sign in to the account you are linking, then start again");
  const user = await findUserById(ctx.sql, userId);
  if (!user || user.disabled) throw new OidcRefused(403, "account_disabled", "this account is disabled");
  const known = await findIdentity(ctx.sql, p.id, subject);
  if (known && known.id !== userId) throw new OidcRefused(409, "identity_taken", `this ${p.name} identity is linked to another account`);
  if (known) return; // already linked to this account
  if (await findIdentityOfUser(ctx.sql, userId, p.id))
    throw new OidcRefused(409, "provider_already_linked", `your account is linked to another ${p.name} identity; unlink it first`);
  if (!(await insertIdentity(ctx.sql, { provider: p.id, subject, user_id: userId, email })))
    throw new OidcRefused(409, "identity_taken", `this ${p.name} identity is linked to another account`);
  await audit(ctx.sql, { id: userId, email: user.email, ...meta }, "oidc.link", { target_type: "user", target_id: userId, detail: { provider: p.id, via: "account" } });
}

export async function identities(ctx: AppContext, userId: string): Promise<Identity[]> {
  return (await listIdentities(ctx.sql, userId)).map((i) => ({
    provider: i.provider,
    name: providerName(ctx.config, i.provider),
    subject: i.subject,
    email: i.email,
    created_at: i.created_at.toISOString(),
  }));
}

/** Unlinks the caller's identity at `provider`; refused when it is the account's last way in. */
export async function unlink(ctx: AppContext, actor: Actor & { id: string }, provider: string): Promise<void> {
  if (!(await findIdentityOfUser(ctx.sql, actor.id, provider))) throw new NotFound("linked identity");
  if ((await otherWaysIn(ctx.sql, actor.id, provider)) === 0)
    throw new Conflict("this is your only way to sign in (no password, passkey or other identity); add one before unlinking", "last_sign_in_method");
  const gone = await deleteIdentity(ctx.sql, actor.id, provider);
  if (!gone) throw new NotFound("linked identity");
  await audit(ctx.sql, actor, "oidc.unlink", { target_type: "user", target_id: actor.id, detail: { provider } });
}

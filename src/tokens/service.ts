/** Personal API tokens: shown once as wh_pat_…, stored only as sha256. */
import type { Sql } from "postgres";
import { randomBytes } from "node:crypto";
import { sha256Hex } from "../protocol/hub";
import { NotFound } from "../http/errors";
import { findUserByEmail } from "../users/queries";
import { normalizeEmail } from "../users/service";
import { deleteToken, findTokenOwner, insertToken, listTokens, touchToken, type TokenOwner, type TokenRow, type TokenScope } from "./queries";
import type { AppContext } from "../context";
import { audit, type Actor } from "../audit/service";
import { BadRequest } from "../http/errors";
import type { TokenCreate, TokenView } from "./model";

export const TOKEN_PREFIX = "wh_pat_";

const newToken = () => TOKEN_PREFIX + randomBytes(32).toString("base64url");

/** The CLI's token command: for a user named by email. */
export async function createToken(sql: Sql, input: { email: string; name: string; scope: TokenScope }): Promise<{ id: string; token: string }> {
  const user = await findUserByEmail(sql, normalizeEmail(input.email));
  if (!user) throw new NotFound("user");
  const token = newToken();
  const { id } = await insertToken(sql, user.id, input.name, sha256Hex(token), input.scope, null);
  await audit(sql, { id: null, email: "cli", ip: null, userAgent: null }, "token.create", { target_type: "token", target_id: id, detail: { name: input.name, scope: input.scope, for: user.email } });
  return { id, token };
}

export function toTokenView(r: TokenRow): TokenView {
  return {
    id: r.id,
    name: r.name,
    scope: r.scope,
    created_at: r.created_at.toISOString(),
    last_used_at: r.last_used_at?.toISOString() ?? null,
    expires_at: r.expires_at?.toISOString() ?? null,
  };
}

/** POST /v1/tokens: the raw token is in this answer only. */
export async function create(ctx: AppContext, actor: Actor & { id: string }, input: TokenCreate) {
  const expires = input.expires_at ? new Date(input.expires_at) : null;
  if (expires && expires.getTime() <= Date.now()) throw new BadRequest("expires_at: must be in the future");
  const token = newToken();
  const { id } = await insertToken(ctx.sql, actor.id, input.name, sha256Hex(token), input.scope, expires);
  await audit(ctx.sql, actor, "token.create", { target_type: "token", target_id: id, detail: { name: input.name, scope: input.scope } });
  return { id, name: input.name, scope: input.scope, expires_at: expires?.toISOString() ?? null, token };
}

export async function list(ctx: AppContext, userId: string): Promise<TokenView[]> {
  return (await listTokens(ctx.sql, userId)).map(toTokenView);
}

export async function revoke(ctx: AppContext, actor: Actor & { id: string }, id: string) {
  if (!(await deleteToken(ctx.sql, actor.id, id))) throw new NotFound("token");
  await audit(ctx.sql, actor, "token.revoke", { target_type: "token", target_id: id });
}

/** When this process last recorded each token's use; the row is written at most once a minute. */
const lastTouched = new Map<string, number>();
const TOUCH_EVERY_MS = 60_000;

/** Resolves a bearer token to its owner, or undefined. */
export async function authenticateToken(sql: Sql, token: string): Promise<TokenOwner | undefined> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
  const owner = await findTokenOwner(sql, sha256Hex(token));
  if (owner) {
    const now = Date.now();
    if (now - (lastTouched.get(owner.token_id) ?? 0) >= TOUCH_EVERY_MS) {
      if (lastTouched.size > 10_000) lastTouched.clear();
      lastTouched.set(owner.token_id, now);
      await touchToken(sql, owner.token_id);
    }
  }
  return owner;
}

/** Personal API tokens: shown once as wh_pat_…, stored only as sha256. */
import type { Sql } from "postgres";
import { randomBytes } from "node:crypto";
import { sha256Hex } from "../protocol/hub";
import { NotFound } from "../http/errors";
import { findUserByEmail } from "../users/queries";
import { normalizeEmail } from "../users/service";
import { findTokenOwner, insertToken, touchToken, type TokenOwner, type TokenScope } from "./queries";

export const TOKEN_PREFIX = "wh_pat_";

export async function createToken(sql: Sql, input: { email: string; name: string; scope: TokenScope }): Promise<{ id: string; token: string }> {
  const user = await findUserByEmail(sql, normalizeEmail(input.email));
  if (!user) throw new NotFound("user");
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  const { id } = await insertToken(sql, user.id, input.name, sha256Hex(token), input.scope, null);
  return { id, token };
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
      void touchToken(sql, owner.token_id).catch(() => {});
    }
  }
  return owner;
}

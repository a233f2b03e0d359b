/**
 * The auth plugin: a named Elysia plugin whose `auth` macro resolves the
 * bearer token to `user` on a route, or answers 401/403 before the handler runs.
 * Usage: `.get("/x", ({ user }) => …, { auth: "read" })`.
 */
import { Elysia } from "elysia";
import type { Sql } from "postgres";
import { Forbidden, Unauthorized } from "../http/errors";
import { authenticateToken } from "../tokens/service";
import type { TokenOwner } from "../tokens/queries";

export type AuthUser = { id: string; email: string; role: "admin" | "member"; scope: TokenOwner["scope"] };

/** What a route needs: read (any token), write (write or admin scope), admin (admin role). */
export type Need = "read" | "write" | "admin";

export function authPlugin(sql: Sql) {
  return new Elysia({ name: "auth" }).macro({
    auth: (need: Need) => ({
      async resolve({ headers }) {
        const header = headers.authorization ?? "";
        const m = /^Bearer ([!-~]+)$/.exec(header);
        if (!m) throw new Unauthorized("send Authorization: Bearer <token>");
        const owner = await authenticateToken(sql, m[1]!);
        if (!owner) throw new Unauthorized("invalid, expired or revoked token");
        if (need !== "read" && owner.scope === "read") throw new Forbidden("this token is read-only");
        if (need === "admin" && owner.role !== "admin") throw new Forbidden("admin only");
        const user: AuthUser = { id: owner.user_id, email: owner.email, role: owner.role, scope: owner.scope };
        return { user };
      },
    }),
  });
}

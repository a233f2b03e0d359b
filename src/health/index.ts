/** GET /healthz: 200 when the database answers within two seconds, 503 otherwise. */
import { Elysia } from "elysia";
import type { Sql } from "postgres";

export function healthPlugin(sql: Sql) {
  return new Elysia().get(
    "/healthz",
    async ({ set }) => {
      try {
        await Promise.race([sql`SELECT 1`, new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), 2000))]);
        return { status: "ok" };
      } catch {
        set.status = 503;
        return { status: "unavailable", reason: "database is not answering" };
      }
    },
    { detail: { summary: "Liveness: ok when the database answers" } },
  );
}

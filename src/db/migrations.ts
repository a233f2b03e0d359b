/**
 * Forward-only migrations: the numbered files in sql/, embedded into the
 * binary as text, applied in order under an advisory lock and recorded in
 * schema_migrations.
 */
import type { Sql } from "postgres";
import m0001 from "../../sql/0001_init.sql" with { type: "text" };
import m0002 from "../../sql/0002_identity.sql" with { type: "text" };
import m0003 from "../../sql/0003_rollback.sql" with { type: "text" };

/** Every migration, in order. A unit test checks this list matches sql/. */
export const MIGRATIONS: { version: number; name: string; text: string }[] = [
  { version: 1, name: "0001_init.sql", text: m0001 },
  { version: 2, name: "0002_identity.sql", text: m0002 },
  { version: 3, name: "0003_rollback.sql", text: m0003 },
];

/** Any constant that is ours; both control planes compute the same one. */
const LOCK_KEY = 0x5748_6d69; // "WHmi"

/**
 * Applies the missing migrations in one transaction holding a transaction-level
 * advisory lock, so two control planes starting together apply each exactly once.
 * Returns the versions applied now.
 */
export async function migrate(sql: Sql): Promise<number[]> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCK_KEY})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
    const done = new Set((await tx<{ version: number }[]>`SELECT version FROM schema_migrations`).map((r) => r.version));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      // Migration files hold several statements: the simple query protocol runs them as one script.
      await tx.unsafe(m.text).simple();
      await tx`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
      applied.push(m.version);
    }
    return applied;
  });
}

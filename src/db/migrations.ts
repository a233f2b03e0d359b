/**
 * Forward-only migrations: the numbered files in sql/, embedded into the
 * binary as text, applied in order under an advisory lock and recorded in
 * schema_migrations.
 */
import type { Sql } from "postgres";
import m0001 from "../../sql/0001_init.sql" with { type: "text" };
import m0002 from "../../sql/0002_identity.sql" with { type: "text" };
import m0003 from "../../sql/0003_rollback.sql" with { type: "text" };
import m0004 from "../../sql/0004_domains.sql" with { type: "text" };
import m0005 from "../../sql/0005_metrics_usage.sql" with { type: "text" };
import m0006 from "../../sql/0006_alerts.sql" with { type: "text" };
import m0007 from "../../sql/0007_gitproviders.sql" with { type: "text" };
import m0008 from "../../sql/0008_fleet.sql" with { type: "text" };
import m0009 from "../../sql/0009_builders.sql" with { type: "text" };
import m0010 from "../../sql/0010_build_settings.sql" with { type: "text" };
import m0011 from "../../sql/0011_pending.sql" with { type: "text" };

/** Every migration, in order. A unit test checks this list matches sql/. */
export const MIGRATIONS: { version: number; name: string; text: string }[] = [
  { version: 1, name: "0001_init.sql", text: m0001 },
  { version: 2, name: "0002_identity.sql", text: m0002 },
  { version: 3, name: "0003_rollback.sql", text: m0003 },
  { version: 4, name: "0004_domains.sql", text: m0004 },
  { version: 5, name: "0005_metrics_usage.sql", text: m0005 },
  { version: 6, name: "0006_alerts.sql", text: m0006 },
  { version: 7, name: "0007_gitproviders.sql", text: m0007 },
  { version: 8, name: "0008_fleet.sql", text: m0008 },
  { version: 9, name: "0009_builders.sql", text: m0009 },
  { version: 10, name: "0010_build_settings.sql", text: m0010 },
  { version: 11, name: "0011_pending.sql", text: m0011 },
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

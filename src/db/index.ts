/**
 * The database handle: postgres.js against WH_DATABASE_URL, or against the
 * embedded PGlite served over a local socket. Same code and SQL either way.
 */
import postgres, { type Sql } from "postgres";
import { join } from "node:path";
import { startEmbeddedPostgres } from "./embedded";

export type Db = { sql: Sql; embedded: boolean; close(): Promise<void> };

export async function openDatabase(opts: { url?: string; dataDir: string; max?: number }): Promise<Db> {
  const common = { onnotice: () => {}, transform: { undefined: null }, connect_timeout: 10 } as const;
  if (opts.url) {
    const sql = postgres(opts.url, { ...common, max: opts.max ?? 20 });
    return { sql, embedded: false, close: () => sql.end({ timeout: 5 }) };
  }
  const pg = await startEmbeddedPostgres(join(opts.dataDir, "pgdata"));
  // The embedded server handles exactly one connection (see embedded.ts): one client, max 1.
  const sql = postgres(pg.url, { ...common, path: pg.path, max: pg.maxConnections });
  return {
    sql,
    embedded: true,
    async close() {
      await sql.end({ timeout: 5 });
      await pg.stop();
    },
  };
}

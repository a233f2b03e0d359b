/**
 * A throwaway database on the real PostgreSQL (127.0.0.1:5432 unless
 * WH_TEST_PG_URL says otherwise): created per test file, dropped afterwards.
 */
import postgres from "postgres";
import { randomBytes } from "node:crypto";

export const ADMIN_URL = process.env.WH_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export async function postgresAvailable(): Promise<boolean> {
  const sql = postgres(ADMIN_URL, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`SELECT 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

export async function freshDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `wh_test_${randomBytes(6).toString("hex")}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin`CREATE DATABASE ${admin(name)}`;
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = "/" + name;
  return {
    url: url.toString(),
    name,
    async drop() {
      const a = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      await a`DROP DATABASE IF EXISTS ${a(name)} WITH (FORCE)`;
      await a.end();
    },
  };
}
